"""The spreadsheet connector on CSV and xlsx files built here from bytes, and on peer exports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from contract import ConnectorContract, read_all
from pydantic import ValidationError

from connectors.base import SourceError
from connectors.spreadsheet import (
    SpreadsheetConnector,
    SpreadsheetSourceConfig,
    column_names,
    decode,
    find_header,
    guess_legacy_encoding,
    repair_mojibake,
)

PEERS = Path(__file__).resolve().parents[3] / "shared" / "peers" / "snipe-it" / "sample_csvs"

# An export as Excel for Mac writes it: Mac Roman, CR line endings, a title and a date line
# above the header, a duplicated and a blank header, a quoted note across two lines.
MAC_EXPORT = (
    b"Asset report\r"
    b"Generated 03/01/2024\r"
    b"\r"
    b"Asset Tag,Name,Category,Model Number, ,Category,Notes\r"
    b"000123,Zo\x91's laptop,Laptop,6.37702E+15,,Portable,\"first line\rsecond line\"\r"
    b"000124,M\x9fller-PC,Desktop,0042,x,Office,\r"
    b",,,,,,\r"
    b"000125,caf\x8e kiosk,Kiosk,,,,\"Luts\xd5k, \"\"store\"\"\"\r"
)  # fmt: skip
MAC_IDS = {"000123", "000124", "000125"}


def write_workbook(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    people = book.add_worksheet("People")
    people.write_row(0, 0, ["Staff export"])
    people.write_row(2, 0, ["Email", "Name", "Start date", "Laptops", "Budget"])
    for row, (email, name, day, laptops) in enumerate(
        [("ann@example.com", "Ann Zoë", 3, 2), ("bo@example.com", "Bo Müller", 17, 1)], start=3
    ):
        people.write_row(row, 0, [email, name])
        people.write_datetime(row, 2, datetime(2021, 5, day), date)
        people.write_number(row, 3, laptops)
        people.write_formula(row, 4, f"=D{row + 1}*1200", None, laptops * 1200)
    for sheet_name, sites in (("Sites EU", ["AMS-1", "LIS-2"]), ("Sites US", ["NYC-1"])):
        sheet = book.add_worksheet(sheet_name)
        sheet.write_row(0, 0, ["Site code", "City"])
        for row, site in enumerate(sites, start=1):
            sheet.write_row(row, 0, [site, site[:3].title()])
    book.close()


def make_connector(base_dir: Path, path: str | None, **entities: Any) -> SpreadsheetConnector:
    config = SpreadsheetSourceConfig.model_validate(
        {"name": "inventory", "kind": "spreadsheet", "path": path, "entities": entities}
    )
    return SpreadsheetConnector(config, base_dir=base_dir)


ASSETS = {"id": "Asset Tag", "fields": {"asset_tag": "Asset Tag", "name": "Name"}}
PEOPLE = {"path": "staff.xlsx", "sheet": "People", "id": "Email", "fields": {"email": "Email"}}
SITES = {"path": "staff.xlsx", "sheets": ["Sites EU", 2], "id": "Site code",
         "fields": {"name": "Site code", "city": "City"}}  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "assets.csv").write_bytes(MAC_EXPORT)
    write_workbook(tmp_path / "staff.xlsx")
    return tmp_path


@pytest.fixture
def connector(files: Path) -> SpreadsheetConnector:
    return make_connector(files, "assets.csv", assets=ASSETS, people=PEOPLE, locations=SITES)


def frame_of(connector: SpreadsheetConnector, entity: str) -> pd.DataFrame:
    batches = read_all(connector, entity)
    assert len(batches) == 1
    assert batches[0].cursor is None
    return batches[0].frame


class TestSpreadsheetContract(ConnectorContract):
    supports_cursor = False

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "assets": MAC_IDS,
            "people": {"ann@example.com", "bo@example.com"},
            "locations": {"AMS-1", "LIS-2", "NYC-1"},
        }

    @pytest.fixture
    def broken_connector(self, files: Path) -> SpreadsheetConnector:
        return make_connector(files, "missing.csv", assets=ASSETS)

    @pytest.fixture
    def broken_problem(self, files: Path) -> str:
        return f"file not found: {files / 'missing.csv'}"


def test_mac_export_is_decoded_and_its_header_found(connector: SpreadsheetConnector) -> None:
    frame = frame_of(connector, "assets")
    assert list(frame.columns) == [
        "Asset Tag", "Name", "Category", "Model Number", "column_5", "Category_2", "Notes",
    ]  # fmt: skip
    assert list(frame["Asset Tag"]) == ["000123", "000124", "000125"]  # empty row dropped
    assert list(frame["Name"]) == ["Zoë's laptop", "Müller-PC", "café kiosk"]
    assert list(frame["Model Number"]) == ["6.37702E+15", "0042", None]
    assert frame.loc[0, "Notes"] == "first line\nsecond line"
    assert frame.loc[2, "Notes"] == 'Luts\u2019k, "store"'
    assert list(frame["column_5"]) == [None, "x", None]
    assert list(frame["Category_2"]) == ["Portable", "Office", None]


def test_workbook_values_dates_and_cached_formulas(connector: SpreadsheetConnector) -> None:
    frame = frame_of(connector, "people")
    assert list(frame.columns) == ["Email", "Name", "Start date", "Laptops", "Budget"]
    assert list(frame["Name"]) == ["Ann Zoë", "Bo Müller"]
    assert list(frame["Start date"]) == [datetime(2021, 5, 3), datetime(2021, 5, 17)]
    assert list(frame["Laptops"]) == [2, 1]
    assert list(frame["Budget"]) == [2400, 1200]  # the cached results of =D4*1200, =D5*1200


def test_several_sheets_are_concatenated_with_their_name(connector: SpreadsheetConnector) -> None:
    frame = frame_of(connector, "locations")
    assert list(frame["Site code"]) == ["AMS-1", "LIS-2", "NYC-1"]
    assert list(frame["_sheet"]) == ["Sites EU", "Sites EU", "Sites US"]
    assert list(frame["City"]) == ["Ams", "Lis", "Nyc"]


def test_sheet_by_index_and_formula_without_cached_value(tmp_path: Path) -> None:
    book = openpyxl.Workbook()  # openpyxl stores formulas without a cached result
    book.active.title = "Hosts"
    book.active.append(["Host", "Cores", "Threads"])
    book.active.append(["web-01", 4, "=B2*2"])
    book.save(tmp_path / "hosts.xlsx")
    stream = {"sheet": 0, "id": "Host", "fields": {"hostname": "Host"}}
    frame = frame_of(make_connector(tmp_path, "hosts.xlsx", assets=stream), "assets")
    assert frame.to_dict("records") == [{"Host": "web-01", "Cores": 4, "Threads": None}]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"Zo\x91 M\x9fller caf\x8e Luts\xd5k\r", "mac_roman", id="mac-cr"),
        pytest.param(b"Zo\x91 M\x9fller caf\x8e\n", "mac_roman", id="mac-lf"),
        pytest.param(b"Luts\xd5k\n", "mac_roman", id="mac-apostrophe"),
        pytest.param(b"Zo\xeb M\xfcller caf\xe9 Luts\x92k\r\n", "cp1252", id="cp1252-crlf"),
        pytest.param(b"Zo\xeb M\xfcller caf\xe9\r", "cp1252", id="cp1252-cr"),
        pytest.param(b"Luts\x92k\n", "cp1252", id="tie-lf-cp1252"),
        pytest.param(b"Luts\x92k\r", "mac_roman", id="tie-cr-mac"),
        pytest.param(b"Bay\x81\x90", "mac_roman", id="undefined-in-cp1252"),
    ],
)
def test_legacy_encoding_guess(data: bytes, expected: str) -> None:
    assert guess_legacy_encoding(data) == expected


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(b"\xef\xbb\xbfZo\xc3\xab", "Zoë", id="utf8-bom"),
        pytest.param(b"\xff\xfeZ\x00\xeb\x00", "Zë", id="utf16-bom"),
        pytest.param(b"Caf\xc3\xa9", "Café", id="utf8"),
        pytest.param(b"Caf\xe9", "Café", id="cp1252"),
    ],
)
def test_decode(data: bytes, text: str) -> None:
    assert decode(data) == text


@pytest.mark.parametrize(
    ("value", "repaired"),
    [
        pytest.param("Luts\u00e2\u20ac\u2122k", "Luts\u2019k", id="apostrophe"),
        pytest.param("Saint-\u00c3\u2030tienne", "Saint-Étienne", id="e-acute"),
        pytest.param("Tu\u00c4\u00e7epi", "Tu\u00c4\u00e7epi", id="lossy-kept"),
        pytest.param("Ã  la carte", "Ã  la carte", id="plain"),
        pytest.param("Café", "Café", id="clean"),
    ],
)
def test_repair_mojibake(value: str, repaired: str) -> None:
    assert repair_mojibake(value) == repaired


@pytest.mark.parametrize(
    ("rows", "index"),
    [
        pytest.param([["Tag", "Name"], ["1", "a"]], 0, id="first-row"),
        pytest.param([["Report"], ["2024-03-01"], [], ["Tag", "Name", "Cost"],
                      ["1", "a", "3"], ["2", "b", "4"]], 3, id="title-date-blank"),
        pytest.param([["Inventory", "", ""], ["", "", ""], ["Tag", "", "Cost"],
                      ["1", "x", "3"], ["2", "y", "4"]], 2, id="blank-header-cell"),
        pytest.param([["1", "2", "3"], ["Tag", "Name", "Cost"], ["4", "a", "5"]], 1,
                     id="numbers-are-not-a-header"),
        pytest.param([["Exported", "2024-03-01", "", "", ""], ["Tag", "Name", "A", "B", "C"],
                      ["1", "a", "b", "c", "d"]], 1, id="narrow-title-row"),
    ],
)  # fmt: skip
def test_find_header(rows: list[list[str]], index: int) -> None:
    assert find_header(rows) == index


def test_find_header_gives_up_on_numbers_only() -> None:
    with pytest.raises(ValueError, match="no header row"):
        find_header([["1", "2"], ["3", "4"]])


def test_column_names() -> None:
    assert column_names([" Tag ", "", "Tag", None, "Tag", "Tag_2"]) == [
        "Tag", "column_2", "Tag_2", "column_4", "Tag_3", "Tag_2_2",
    ]  # fmt: skip


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    others = "".join(d for d in ",;\t|" if d != delimiter)  # in the data, not delimiting
    rows = [["Tag", "Name", "Note"], ["007", "a", f"x{others}y"], ["008", "b", f"p{others}q"]]
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    frame = frame_of(make_connector(tmp_path, "t.txt", assets=ASSETS | {"id": "Tag"}), "assets")
    assert list(frame.columns) == ["Tag", "Name", "Note"]
    assert frame.loc[0, "Note"] == f"x{others}y"
    assert list(frame["Tag"]) == ["007", "008"]


def test_explicit_header_row_and_rows_skipped_after_it(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"1,2\nTag,Name\n(text),(text)\n0001,A\n")
    stream = ASSETS | {"id": "Tag", "header_row": 2, "skip_rows_after_header": 1}
    frame = frame_of(make_connector(tmp_path, "a.csv", assets=stream), "assets")
    assert frame.to_dict("records") == [{"Tag": "0001", "Name": "A"}]


@pytest.mark.parametrize(
    ("path", "stream", "message"),
    [
        pytest.param("nope.csv", {}, "file not found: {dir}/nope.csv", id="missing-file"),
        # a path that is not a spreadsheet is refused when the config loads:
        # tests/federation/test_cli_config_checks.py
        pytest.param("fake.xlsx", {}, "fake.xlsx is not an Excel workbook", id="not-a-workbook"),
        pytest.param("staff.xlsx", {"sheet": "Laptops"},
                     "has no sheet 'Laptops'; sheets: People, Sites EU, Sites US", id="no-sheet"),
        pytest.param("staff.xlsx", {"sheet": 7}, "has no sheet 7", id="no-sheet-index"),
        pytest.param("assets.csv", {"id": "Tag"}, "id column 'Tag' not found in assets.csv; "
                     "columns: Asset Tag, Name, Category,", id="missing-id"),
        pytest.param("assets.csv", {"encoding": "utf-8"}, "cannot decode", id="undecodable"),
        pytest.param("numbers.csv", {}, "no header row found", id="no-header"),
        pytest.param("assets.csv", {"sheet": "x"}, "assets.csv is a CSV file", id="csv-sheet"),
    ],
)  # fmt: skip
def test_errors_say_what_is_wrong(files: Path, path: str, stream: dict, message: str) -> None:
    (files / "assets.pdf").write_bytes(b"%PDF-1.4")
    (files / "fake.xlsx").write_bytes(b"Asset Tag,Name\n1,a\n")
    (files / "numbers.csv").write_bytes(b"1,2\n3,4\n")
    conn = make_connector(files, path, assets=ASSETS | stream)
    for action in (conn.check, lambda: read_all(conn, "assets")):
        with pytest.raises(SourceError) as info:
            action()
        assert message.format(dir=files) in str(info.value)


@pytest.mark.parametrize(
    ("source", "stream", "message"),
    [
        pytest.param({}, {}, "entities.assets: no file", id="no-path"),
        pytest.param({"path": "a.csv"}, {"cursor": "Updated"}, "no incremental cursor",
                     id="cursor"),
        pytest.param({"path": "a.xlsx"}, {"sheet": 0, "sheets": [1]}, "`sheet` or `sheets`",
                     id="sheet-and-sheets"),
    ],
)  # fmt: skip
def test_config_errors(source: dict, stream: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SpreadsheetSourceConfig.model_validate(
            {"name": "s", "kind": "spreadsheet", **source, "entities": {"assets": ASSETS | stream}}
        )


@pytest.fixture
def peers() -> Path:
    if not PEERS.is_dir():
        pytest.skip(f"peer files not present at {PEERS}")
    return PEERS


@pytest.mark.parametrize(
    ("name", "duplicates", "blanks"),
    [
        pytest.param("assets-sample-BAD.csv", ["Category_2", "Company_2"], [], id="BAD"),
        pytest.param("assets-sample-BLANKS.csv", [], ["column_5", "column_9", "column_14"],
                     id="BLANKS"),
    ],
)  # fmt: skip
def test_snipe_it_peer_exports(peers: Path, name: str, duplicates: list, blanks: list) -> None:
    stream = {"id": "Asset Tag", "fields": {"asset_tag": "Asset Tag"}}
    frame = frame_of(make_connector(peers, name, assets=stream), "assets")
    assert frame.shape[0] == 200
    assert set(duplicates + blanks) <= set(frame.columns)
    assert frame["Asset Tag"].is_unique
    assert frame.loc[0, "Full Name"] == "Bonnie Nelson"
    assert frame.loc[0, "Model Number"] == "6.37702E+15"
    locations = set(frame["Location"])
    assert {"Luts\u2019k", "Saint-Étienne", "Sokodé", "Goz Béïda", "Szydłowo"} <= locations
    assert "Luts\u00e2\u20ac\u2122k" not in locations  # the mojibake form is repaired


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_check_reads_only_the_rows_around_the_header(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [["Inventory export"], [], ["Tag", "Name"], *[[f"T{i:05d}", f"n{i}"] for i in range(2000)]]
    if kind == "csv":
        (tmp_path / "big.csv").write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    else:
        book = xlsxwriter.Workbook(str(tmp_path / "big.xlsx"))
        sheet = book.add_worksheet("Assets")
        for n, row in enumerate(rows):
            sheet.write_row(n, 0, row)
        book.close()
    conn = make_connector(tmp_path, f"big.{kind}", assets=ASSETS | {"id": "Tag"})
    seen: list[int] = []
    frame = SpreadsheetConnector._frame

    def counting(self: Any, stream: Any, path: Path, rows: list, sheet: str | None) -> pd.DataFrame:
        seen.append(len(rows))
        return frame(self, stream, path, rows, sheet)

    monkeypatch.setattr(SpreadsheetConnector, "_frame", counting)
    conn.check()
    assert seen
    assert max(seen) <= 50, seen
    with pytest.raises(SourceError, match="id column 'Serial' not found"):
        make_connector(tmp_path, f"big.{kind}", assets=ASSETS | {"id": "Serial"}).check()
    assert len(frame_of(conn, "assets")) == 2000
