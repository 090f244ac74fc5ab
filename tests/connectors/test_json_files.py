"""kind: json_files on files written here: record paths, JMESPath columns, folders and globs,
NDJSON and byte order marks, the newest file winning, partial records, the mtime cursor, and
bad files named with their reason."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jmespath
import pandas as pd
import pytest
from contract import ConnectorContract, read_all
from json_fixtures import stamp, touch, write
from pydantic import ValidationError

from connectors.base import SourceError
from connectors.json_documents import Expression
from connectors.json_files import JsonFilesConfig, JsonFilesConnector
from connectors.spreadsheet import SpreadsheetSourceConfig

ASSETS = {"path": "exports/*.json", "records": "data.items", "id": "id",
          "fields": {"serial_number": "hw.serial", "mac_addresses": "interfaces[].mac"}}  # fmt: skip
PEOPLE = {"path": "people.ndjson", "id": "email", "fields": {"email": "email", "name": "name"}}


def item(i: int, serial: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": i, "hw": {"serial": serial or f"SN{i:03d}"},
            "interfaces": [{"mac": f"00:1b:63:84:45:{i:02x}", "virtual": False}], **extra}  # fmt: skip


def export(*items: dict[str, Any]) -> dict[str, Any]:
    return {"generated": "2025-03-01", "data": {"items": list(items)}}


def make(base: Path, path: str | None = None, **entities: Any) -> JsonFilesConnector:
    config = JsonFilesConfig.model_validate(
        {"name": "exports", "kind": "json_files", "path": path, "entities": entities}
    )
    return JsonFilesConnector(config, base_dir=base)


def frame_of(
    connector: JsonFilesConnector, entity: str = "assets", cursor: str | None = None
) -> pd.DataFrame:
    frames = [b.frame for b in read_all(connector, entity, cursor)]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write(tmp_path / "exports" / "inventory.json", export(item(1), item(2)), 0)
    write(tmp_path / "exports" / "branch.json", export(item(3)), 2)
    people = [{"email": "ann@example.com", "name": "Ann"}, {"email": "bo@example.com", "name": "Bo"}]
    write(tmp_path / "people.ndjson", people, 1, ndjson=True)
    return tmp_path


@pytest.fixture
def connector(files: Path) -> JsonFilesConnector:
    return make(files, assets=ASSETS, people=PEOPLE)


class TestJsonFilesContract(ConnectorContract):
    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {"assets": {"1", "2", "3"}, "people": {"ann@example.com", "bo@example.com"}}

    @pytest.fixture
    def change_records(self, files: Path) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            # a rewritten file comes again whole; a new file brings its records
            write(files / "exports" / "inventory.json", export(item(1), item(2, "SN999")), 10)
            write(files / "exports" / "late.json", export(item(4)), 11)
            emails = ["ann@example.com", "bo@example.com", "cy@example.com"]
            write(files / "people.ndjson", [{"email": e} for e in emails], 12, ndjson=True)
            return {"assets": {"1", "2", "4"}, "people": set(emails)}

        return change

    @pytest.fixture
    def broken_connector(self, tmp_path: Path) -> JsonFilesConnector:
        return make(tmp_path, "missing/", assets=ASSETS | {"path": None})

    @pytest.fixture
    def broken_problem(self, tmp_path: Path) -> str:
        return f"file or folder not found: {tmp_path / 'missing'}"


def test_columns_are_jmespath_expressions_into_objects_and_arrays(tmp_path: Path) -> None:
    doc = {"id": "a1", "hw": {"serial": "SN1", "bios": {"serial": "BIOS1"}},
           "interfaces": [{"mac": "AA-BB-CC-00-00-01", "virtual": False},
                          {"mac": "02:42:ac:11:00:02", "virtual": True},
                          {"mac": "aabb.cc00.0003", "virtual": False}],
           "owner": None, "user": {"login": "ann"}}  # fmt: skip
    write(tmp_path / "one.json", doc)
    stream = {
        "id": "id",
        "fields": {
            "serial_number": "hw.bios.serial",
            "mac_addresses": "interfaces[?!virtual].mac",
            "assigned_to": "owner || user.login",
            "attributes": "{bios: hw.bios.serial, ports: length(interfaces)}",
        },
    }
    frame = frame_of(make(tmp_path, "one.json", assets=stream))
    row = frame.iloc[0]
    assert row["hw.bios.serial"] == "BIOS1"
    assert row["interfaces[?!virtual].mac"] == ["AA-BB-CC-00-00-01", "aabb.cc00.0003"]
    assert row["owner || user.login"] == "ann"
    assert row["{bios: hw.bios.serial, ports: length(interfaces)}"] == {"bios": "BIOS1", "ports": 3}
    assert row["_file"] == "one.json"
    assert row["_modified"] == stamp(0)


def test_a_folder_gives_its_json_files_and_a_glob_may_recurse(tmp_path: Path) -> None:
    write(tmp_path / "drop" / "a.json", item(1))
    write(tmp_path / "drop" / "b.jsonl", [item(2), item(3)], ndjson=True)
    write(tmp_path / "drop" / "c.ndjson", [item(4)], ndjson=True)
    write(tmp_path / "drop" / ".d.json", item(5))  # an editor's or a copy's temporary file
    (tmp_path / "drop" / "notes.txt").write_text("not JSON")
    write(tmp_path / "drop" / "site2" / "e.json", item(6))
    stream = {"id": "id", "fields": {"serial_number": "hw.serial"}}
    folder = frame_of(make(tmp_path, "drop", assets=stream))
    assert sorted(folder["id"]) == [1, 2, 3, 4]
    glob = frame_of(make(tmp_path, "drop/**/*.json", assets=stream))
    assert sorted(glob["id"]) == [1, 6]
    assert set(glob["_file"]) == {"drop/a.json", "drop/site2/e.json"}


@pytest.mark.parametrize(
    ("name", "data", "ids"),
    [
        pytest.param("bom.json", codecs.BOM_UTF8 + b'[{"id": 1}, {"id": 2}]', [1, 2], id="utf8-bom"),
        pytest.param("ps.json", codecs.BOM_UTF16_LE + '{"id": "Zoë"}'.encode("utf-16-le"), ["Zoë"],
                     id="utf16-powershell"),
        pytest.param("mongo.json", b'{"id": 1}\n{"id": 2}\n\n{"id": 3}\n', [1, 2, 3], id="ndjson-in-.json"),
        pytest.param("lines.jsonl", b'{"id": 1}\r\n{"id": 2}\r\n', [1, 2], id="jsonl-crlf"),
        pytest.param("one.json", b'{"id": 7}', [7], id="one-object"),
    ],
)  # fmt: skip
def test_encodings_and_line_formats(tmp_path: Path, name: str, data: bytes, ids: list[Any]) -> None:
    write(tmp_path / name, data)
    frame = frame_of(make(tmp_path, name, assets={"id": "id", "fields": {"name": "id"}}))
    assert frame["id"].tolist() == ids


@pytest.mark.parametrize(
    ("data", "records", "problem"),
    [
        pytest.param(b'{"data": {"items": [{"id": 1},]}}', "data.items",
                     "not valid JSON at line 1, column", id="invalid-json"),
        pytest.param(b"  \n", "data.items", "the file is empty", id="empty"),
        pytest.param(b'{"id": "caf\xe9"}', "", "not utf-8 text (byte 0xe9 on line 1)", id="latin-1"),
        pytest.param(b'{"rows": []}', "data.items", "nothing at `records` (data.items)", id="no-records"),
        pytest.param(b'{"data": {"items": "none"}}', "data.items",
                     "`records` (data.items) is a string, expected an object or a list of objects",
                     id="records-not-a-list"),
        pytest.param(b'{"data": {"items": [{"id": 1}, 7]}}', "data.items",
                     "item 1 of `records` (data.items) is a number, expected an object",
                     id="item-not-an-object"),
        pytest.param(b'{"id": 1}\n{"id": 2\n', "", "not valid JSON at line 2: ", id="ndjson-bad-line"),
    ],
)  # fmt: skip
def test_a_bad_file_fails_the_source_naming_the_file_and_why(
    tmp_path: Path, data: bytes, records: str, problem: str
) -> None:
    write(tmp_path / "drop" / "good.json", {"data": {"items": [{"id": 9}]}} if records else {"id": 9})
    write(tmp_path / "drop" / "bad.json", data)
    connector = make(tmp_path, "drop", assets={"records": records, "id": "id", "fields": {"name": "id"}})
    connector.check()  # the files exist: reading them is what fails
    with pytest.raises(SourceError) as info:
        read_all(connector, "assets")
    message = str(info.value)
    assert "drop/bad.json: " in message
    assert problem.lower() in message.lower(), message
    assert "good.json" not in message
    assert "last good snapshot" in message


def test_every_bad_file_is_reported_in_one_message(tmp_path: Path) -> None:
    for n in range(8):
        write(tmp_path / "drop" / f"bad{n}.json", b"{")
    connector = make(tmp_path, "drop", assets={"id": "id", "fields": {"name": "id"}})
    with pytest.raises(SourceError, match=r"8 file\(s\) could not be read: drop/bad0.json: .*; and 3 more"):
        read_all(connector, "assets")


def test_an_expression_that_fails_on_the_data_names_it(tmp_path: Path) -> None:
    write(tmp_path / "a.json", {"id": 1, "name": None})
    stream = {"id": "id", "fields": {"name": "contains(name, 'x')"}}
    with pytest.raises(SourceError, match=r"a.json: the expression \"contains\(name, 'x'\)\" fails"):
        read_all(make(tmp_path, "a.json", assets=stream), "assets")


def test_the_newest_file_wins_and_repeats_within_a_file_are_left_to_the_mapping(tmp_path: Path) -> None:
    write(tmp_path / "drop" / "old.json", [item(1, "OLD1"), item(2, "OLD2"), {"hw": {"serial": "NOID"}}], 0)
    write(tmp_path / "drop" / "new.json", [item(1, "NEW1"), item(3, "A3"), item(3, "B3")], 5)
    frame = frame_of(make(tmp_path, "drop", assets=ASSETS | {"path": None, "records": ""}))
    got = sorted(zip(frame["id"].map(str), frame["hw.serial"], frame["_file"], strict=True))
    assert got == [
        ("1", "NEW1", "drop/new.json"),
        ("2", "OLD2", "drop/old.json"),
        ("3", "A3", "drop/new.json"),  # both kept: the mapping quarantines the repeat
        ("3", "B3", "drop/new.json"),
        ("None", "NOID", "drop/old.json"),  # no id: kept for the mapping to quarantine
    ]


def test_partial_records_update_only_what_they_carry(tmp_path: Path) -> None:
    fields = {"serial_number": "hw.serial", "os": "os.name", "mac_addresses": "interfaces[].mac"}
    stream = {"path": "drop", "records": "", "id": "id", "partial": "partial", "fields": fields}
    full = item(1, os={"name": "Windows 10"})
    write(tmp_path / "drop" / "full.json", full, 0)
    write(tmp_path / "drop" / "os.json", {"id": 1, "partial": True, "os": {"name": "Windows 11"}}, 5)
    write(tmp_path / "drop" / "other.json", item(2, os={"name": "Ubuntu"}), 1)
    connector = make(tmp_path, assets=stream)
    first = read_all(connector, "assets")
    frame = pd.concat([b.frame for b in first])
    one = frame.loc[frame["id"] == 1].iloc[0]
    assert (one["hw.serial"], one["os.name"]) == ("SN001", "Windows 11")
    assert one["interfaces[].mac"] == ["00:1b:63:84:45:01"]
    assert one["_modified"] == stamp(5)
    # an incremental read that meets a partial record still gives the whole record
    write(tmp_path / "drop" / "os.json", {"id": 1, "partial": True, "os": {"name": "Windows 11 24H2"}}, 9)
    again = frame_of(connector, cursor=first[-1].cursor)
    assert again["id"].tolist() == [1]
    assert (again.loc[0, "hw.serial"], again.loc[0, "os.name"]) == ("SN001", "Windows 11 24H2")


def test_the_cursor_is_the_newest_modification_time_and_reads_resume_at_it(files: Path) -> None:
    connector = make(files, assets=ASSETS)
    first = read_all(connector, "assets")
    assert [b.cursor for b in first] == [stamp(2)]
    # unchanged: only the files at the cursor come again
    assert frame_of(connector, cursor=stamp(2))["id"].tolist() == [3]
    touch(files / "exports" / "inventory.json", 30)
    later = read_all(connector, "assets", stamp(2))
    assert sorted(pd.concat([b.frame for b in later])["id"]) == [1, 2, 3]
    assert later[-1].cursor == stamp(30)
    nothing = read_all(connector, "assets", stamp(31))
    assert [len(b.frame) for b in nothing] == [0]
    assert nothing[0].cursor == stamp(31)
    assert {"id", "hw.serial", "_file", "_modified"} <= set(nothing[0].frame.columns)


def test_batches_never_split_the_records_of_one_id(tmp_path: Path) -> None:
    write(tmp_path / "a.json", [item(i) for i in range(5)] + [item(2, "again")])
    connector = make(tmp_path, "a.json", assets={"id": "id", "batch_size": 2, "fields": {"name": "id"}})
    batches = read_all(connector, "assets")
    assert [sorted(b.frame["id"]) for b in batches] == [[0, 1], [2, 2], [3, 4]]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        pytest.param("drop/*.json", "no file matches 'drop/*.json'", id="glob-matches-nothing"),
        pytest.param("drop", "no .json, .ndjson, .jsonl file in the folder", id="folder-without-json"),
    ],
)
def test_check_fails_when_the_path_names_no_file(tmp_path: Path, path: str, problem: str) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "readme.txt").write_text("x")
    with pytest.raises(SourceError, match=re.escape(problem)):
        make(tmp_path, path, assets={"id": "id", "fields": {"name": "id"}}).check()


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        pytest.param({"fields": {"serial_number": "hw.[serial"}},
                     "fields.serial_number: 'hw.\\[serial' is not a JMESPath expression", id="bad-field"),
        pytest.param({"records": "data..items"}, "records: 'data..items' is not a JMESPath",
                     id="bad-records"),
        pytest.param({"id": "asset-id"}, "id: 'asset-id' is not a JMESPath expression", id="unquoted-dash"),
        pytest.param({"cursor": "updated_at"}, "read incrementally by `_modified`", id="other-cursor"),
        pytest.param({"path": None}, "entities.assets: no file: set `path`", id="no-path"),
    ],
)  # fmt: skip
def test_config_errors_name_the_setting(stream: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JsonFilesConfig.model_validate(
            {"name": "s", "kind": "json_files", "entities": {"assets": {**ASSETS, **stream}}}
        )


def test_quoted_keys_reach_names_with_dashes_and_dots(tmp_path: Path) -> None:
    write(tmp_path / "a.json", {"asset-id": "X1", "@odata.type": "#device"})
    stream = {"id": '"asset-id"', "fields": {"category": '"@odata.type"'}}
    frame = frame_of(make(tmp_path, "a.json", assets=stream))
    assert json.loads(frame.to_json(orient="records"))[0]['"asset-id"'] == "X1"
    assert frame.loc[0, '"@odata.type"'] == "#device"


def test_a_spreadsheet_source_given_json_points_at_the_json_kinds(tmp_path: Path) -> None:
    """Refused when the config loads (`assetgraph validate` names the key)."""
    write(tmp_path / "inventory.json", [item(1)])
    raw = {
        "name": "s",
        "kind": "spreadsheet",
        "path": "inventory.json",
        "entities": {"assets": {"id": "id", "fields": {"name": "id"}}},
    }
    with pytest.raises(ValidationError, match=r"is not a spreadsheet.*JSON is read by `kind: json_files`"):
        SpreadsheetSourceConfig.model_validate(raw)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"a": {"b": {"c": 1}}}, id="found"),
        pytest.param({"a": {"b": [{"c": 1}]}}, id="list-in-the-way"),
        pytest.param({"a": {"b": "text"}}, id="text-in-the-way"),
        pytest.param({"a": None}, id="null-in-the-way"),
        pytest.param({}, id="missing"),
        pytest.param([{"a": 1}], id="a-list"),
        pytest.param({"a": {"b": {"c": False}}}, id="false"),
    ],
)
def test_plain_key_paths_are_walked_as_jmespath_walks_them(document: Any) -> None:
    for text in ("a.b.c", "a", '"a".b'):
        fast = Expression(text)
        assert fast.keys is not None
        assert fast.search(document) == jmespath.search(text, document), text
    assert Expression("a.b[0].c").keys is None
