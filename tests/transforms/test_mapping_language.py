"""The mapping language: `when`, `template`, `coalesce`, constants and `lookup`, applied by
the engine over whole batches — tables of source rows in, unified values out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from connectors.base import StreamConfig
from transforms.context import TransformContext
from transforms.mapping import MappedBatch, MappingError, map_stream

CTX = TransformContext(rates={"EUR": 1.1})


def run(frame: pd.DataFrame, fields: dict[str, Any], *, entity: str = "assets") -> MappedBatch:
    return map_stream(frame, entity, StreamConfig(id="ID", fields=fields), CTX, source="inventory")


def quarantined(batch: MappedBatch) -> list[str]:
    """`record id: reason` per quarantined row."""
    ids, why = batch.quarantine["record_id"], batch.quarantine["reason"]
    return [f"{i}: {r}" for i, r in zip(ids, why, strict=True)]


def noted(batch: MappedBatch) -> list[str]:
    """`record id: field: reason` per quality note (a value blanked in a published row)."""
    q = batch.quality
    return [f"{i}: {f}: {r}" for i, f, r in zip(q["record_id"], q["field"], q["reason"], strict=True)]


def column(frame: pd.DataFrame, fields: dict[str, Any], name: str, **kw: Any) -> list[Any]:
    batch = run(frame, fields, **kw)
    assert batch.quarantine.empty, batch.quarantine["reason"].tolist()
    return batch.rows[name].tolist()


# ------------------------------------------------------------------------------ when

INVENTORY = pd.DataFrame(
    {
        "ID": ["1", "2", "3", "4", "5", "6"],
        "Category": ["Laptop", "desktop", "Printer", None, " Server ", "Notebook"],
        "Name": ["LT-001", "DT-002", "HP LaserJet (4th floor)", "X-4", "SRV-5.corp.example.com", "NB-6"],
        "Serial": ["S1", "", "", "S4", None, "S6"],
        "Notes": ["", "spare", None, "x", "rack 4", "Spare part"],
        "Year": [2024.0, 2023.0, 2024.0, None, 2019.0, 2024.0],
    }
)
NAMES = ["lt-001", "dt-002", None, "x-4", "srv-5", "nb-6"]


def _only(*rows: int) -> list[str | None]:
    return [name if i + 1 in rows else None for i, name in enumerate(NAMES)]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param(
            {"column": "Category", "in": ["Laptop", "Desktop", "Server"]},
            _only(1, 2, 5),
            id="the-issue-computers-only",
        ),
        pytest.param({"column": "Category", "eq": "LAPTOP"}, _only(1), id="eq-ignores-case"),
        pytest.param({"column": "Category", "eq": "server"}, _only(5), id="eq-trims"),
        pytest.param({"column": "Year", "eq": 2019}, _only(5), id="eq-number-vs-excel-float"),
        pytest.param({"column": "Notes", "matches": "^spare"}, _only(2, 6), id="matches-ignores-case"),
        pytest.param({"column": "Notes", "matches": r"rack \d"}, _only(5), id="matches-searches"),
        pytest.param(
            {"all": [{"column": "Serial", "is_empty": True}, {"column": "Notes", "is_empty": False}]},
            _only(2, 5),
            id="is-empty",
        ),
        pytest.param({"column": "Serial", "is_empty": False}, _only(1, 4, 6), id="is-not-empty"),
        pytest.param(
            {"not": {"column": "Category", "eq": "Printer"}}, _only(1, 2, 4, 5, 6), id="not-keeps-empty-cells"
        ),
        pytest.param(
            {"any": [{"column": "Category", "eq": "Laptop"}, {"column": "Notes", "eq": "x"}]},
            _only(1, 4),
            id="any",
        ),
        pytest.param(
            {"all": [{"column": "Year", "in": [2024]}, {"column": "Serial", "is_empty": False}]},
            _only(1, 6),
            id="all",
        ),
        pytest.param(
            {
                "all": [
                    {"not": {"column": "Category", "is_empty": True}},
                    {"any": [{"column": "Name", "matches": "^(LT|NB)-"}]},
                ]
            },
            _only(1, 6),
            id="nested",
        ),
        # the normalised value of a field mapped first: `Notebook` is a laptop
        pytest.param(
            {"field": "category", "in": ["laptop", "desktop", "server"]},
            _only(1, 2, 5, 6),
            id="field-normalised-value",
        ),
    ],
)
def test_when_maps_a_field_only_where_it_holds(when, expected):
    """Elsewhere the field stays empty and nothing is an error: the printer's name, which is
    no host name, is not even read."""
    fields = {"hostname": {"column": "Name", "when": when}, "category": "Category", "name": "Name"}
    batch = run(INVENTORY, fields)
    assert batch.quarantine.empty, batch.quarantine["reason"].tolist()
    assert batch.rows["hostname"].tolist() == expected
    assert batch.rows["name"].tolist()[2] == "HP LaserJet (4th floor)"


def test_without_when_the_printer_row_is_quarantined():
    batch = run(INVENTORY, {"hostname": "Name"})
    assert batch.quarantine["record_id"].tolist() == ["3"]
    assert (
        batch.quarantine["reason"]
        .iloc[0]
        .startswith("hostname: 'HP LaserJet (4th floor)' is not a valid host")
    )


def test_field_condition_reads_a_field_declared_after_it():
    frame = pd.DataFrame({"ID": ["1", "2"], "Type": ["Notebook", "Toner"], "Model": ["T14", "TN-2420"]})
    fields = {
        "model": {"column": "Model", "when": {"field": "category", "eq": "laptop"}},
        "category": {"column": "Type", "values": {"Toner": "other"}},
    }
    batch = run(frame, fields)
    assert batch.rows["model"].tolist() == ["T14", None]
    assert list(batch.rows.columns) == ["record_id", "model", "category"]  # declared order kept


def test_constant_with_when():
    frame = pd.DataFrame({"ID": ["1", "2"], "Source Sheet": ["Laptops", "Phones"]})
    fields = {"category": {"value": "laptop", "when": {"column": "Source Sheet", "eq": "Laptops"}}}
    assert column(frame, fields, "category") == ["laptop", None]


@pytest.mark.parametrize(
    ("serials", "expected"),
    [
        pytest.param(
            ["S1", "", "S3"], ["2: serial_number: required but empty (Serial)"], id="empty-where-it-holds"
        ),
        pytest.param(["S1", "S2", ""], [], id="empty-where-it-does-not"),
    ],
)
def test_required_applies_where_when_holds(serials, expected):
    frame = pd.DataFrame({"ID": ["1", "2", "3"], "Serial": serials, "Kind": ["PC", "PC", "Cable"]})
    fields = {"serial_number": {"column": "Serial", "required": True, "when": {"column": "Kind", "eq": "PC"}}}
    batch = run(frame, fields)
    assert quarantined(batch) == expected


def test_when_on_a_missing_column_is_a_config_error_naming_its_path():
    fields = {
        "hostname": {
            "column": "Name",
            "when": {"any": [{"column": "Name", "is_empty": False}, {"column": "Kategorie", "eq": "PC"}]},
        }
    }
    with pytest.raises(MappingError) as raised:
        run(INVENTORY, fields)
    assert str(raised.value).startswith(
        "source inventory, entity assets, fields.hostname.when.any[1].column: column 'Kategorie' is not in"
        " the data; columns are: ID, Category, Name, Serial, Notes, Year"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"hostname": {"column": "Name", "when": {"field": "category", "eq": "laptop"}}},
            "fields.hostname.when.field: 'category' is not mapped by this stream; expected one of",
            id="unmapped-field",
        ),
        pytest.param(
            {"hostname": {"column": "Name", "when": {"field": "hostname", "is_empty": False}}},
            "fields.hostname.when.field: a field's condition cannot read the field itself",
            id="itself",
        ),
        pytest.param(
            {
                "name": {"column": "Name", "when": {"field": "model", "is_empty": False}},
                "model": {"column": "Name", "when": {"not": {"field": "name", "is_empty": True}}},
            },
            "fields.name.when: the conditions of name → model → name read each other in a cycle",
            id="cycle",
        ),
    ],
)
def test_field_references_are_checked(fields, message):
    with pytest.raises(
        MappingError, match="^source inventory, entity assets: " + message.replace("(", r"\(")
    ):
        run(INVENTORY, fields)


# -------------------------------------------------------------------------- template

PEOPLE_TEMPLATE = "{First Name} {Last Name}"
ADDRESS = "{City}, {Region} {Zip}"


@pytest.mark.parametrize(
    ("template", "cells", "expected"),
    [
        pytest.param(
            PEOPLE_TEMPLATE, {"First Name": "Ada", "Last Name": "Lovelace"}, "Ada Lovelace", id="both"
        ),
        pytest.param(PEOPLE_TEMPLATE, {"First Name": "Ada", "Last Name": ""}, "Ada", id="no-last"),
        pytest.param(
            PEOPLE_TEMPLATE, {"First Name": None, "Last Name": "Lovelace"}, "Lovelace", id="no-first"
        ),
        pytest.param(PEOPLE_TEMPLATE, {"First Name": " N/A ", "Last Name": None}, None, id="neither"),
        pytest.param(
            PEOPLE_TEMPLATE,
            {"First Name": "  Ada ", "Last Name": " King  Lovelace "},
            "Ada King Lovelace",
            id="trimmed-and-collapsed",
        ),
        pytest.param(
            "{Last Name}, {First Name}", {"First Name": "Ada", "Last Name": ""}, "Ada", id="no-dangling-comma"
        ),
        pytest.param(ADDRESS, {"City": "Leeds", "Region": "", "Zip": "LS1"}, "Leeds, LS1", id="gap"),
        pytest.param(ADDRESS, {"City": "", "Region": "WY", "Zip": "LS1"}, "WY LS1", id="no-first-part"),
        pytest.param(ADDRESS, {"City": "Leeds", "Region": "WY", "Zip": None}, "Leeds, WY", id="no-last-part"),
        pytest.param("Room {Room}", {"Room": 12.0}, "Room 12", id="prefix-and-excel-number"),
        pytest.param("Room {Room}", {"Room": ""}, None, id="prefix-alone-is-empty"),
        pytest.param("{{{Code}}}", {"Code": "X"}, "{X}", id="literal-braces"),
        pytest.param("{Site}-{Site}", {"Site": "LDN"}, "LDN-LDN", id="column-twice"),
    ],
)
def test_template(template, cells, expected):
    frame = pd.DataFrame({"ID": ["1"], **{k: [v] for k, v in cells.items()}})
    assert column(frame, {"name": {"template": template}}, "name", entity="people") == [expected]


def test_template_over_many_rows_and_patterns():
    frame = pd.DataFrame(
        {
            "ID": [str(i) for i in range(8)],
            "First Name": ["Ada", "", "Alan", None, "Grace", "", "Edsger", "N/A"],
            "Last Name": ["Lovelace", "Turing", "", None, "Hopper", "", "Dijkstra", "Liskov"],
        }
    )
    assert column(frame, {"name": {"template": PEOPLE_TEMPLATE}}, "name", entity="people") == [
        "Ada Lovelace",
        "Turing",
        "Alan",
        None,
        "Grace Hopper",
        None,
        "Edsger Dijkstra",
        "Liskov",
    ]


def test_template_is_normalised_like_any_value():
    frame = pd.DataFrame({"ID": ["1"], "Site": ["LDN"], "No": [42.0]})
    assert column(frame, {"hostname": {"template": "{Site}-PC-{No}"}}, "hostname") == ["ldn-pc-42"]


def test_template_missing_column_is_a_config_error_naming_it():
    frame = pd.DataFrame({"ID": ["1"], "First Name": ["Ada"]})
    with pytest.raises(MappingError, match=r"fields\.name\.template: column 'Last Name' is not in the data"):
        run(frame, {"name": {"template": PEOPLE_TEMPLATE}}, entity="people")


# -------------------------------------------------------------------------- coalesce

SERIALS = pd.DataFrame(
    {
        "ID": ["1", "2", "3", "4", "5", "6"],
        "Serial": ["S1", "", None, "To Be Filled By O.E.M.", "1.23457E+11", "n/a"],
        "Serial Number": ["X1", "S2", "S3", "S4", "S5", None],
    }
)


@pytest.mark.parametrize("key", ["coalesce", "columns"])
def test_coalesce_takes_the_first_column_with_a_value(key):
    """Each column is normalised on its own: a placeholder or an Excel-mangled serial in
    `Serial` does not hide the good one in `Serial Number`; all empty → empty, no error."""
    fields = {"serial_number": {key: ["Serial", "Serial Number"]}}
    assert column(SERIALS, fields, "serial_number") == ["S1", "S2", "S3", "S4", "S5", None]


def test_coalesce_error_only_when_no_column_gives_a_value():
    frame = pd.DataFrame(
        {"ID": ["1", "2"], "Bought": ["31/31/24", "31/31/24"], "Invoiced": ["2024-02-01", ""]}
    )
    batch = run(frame, {"purchase_date": {"coalesce": ["Bought", "Invoiced"]}})
    assert batch.rows["purchase_date"].tolist()[0] == pd.Timestamp("2024-02-01")
    assert pd.isna(batch.rows["purchase_date"].iloc[1])
    assert noted(batch) == [
        "2: purchase_date: cannot read '31/31/24' as a date (expected M/D/YY, MM/DD/YYYY, ISO 8601, an"
        " Excel serial or a {date, formatted} object)"
    ]
    assert batch.quality["value"].tolist() == ['"31/31/24"']


def test_coalesce_note_names_the_value_of_the_column_that_failed():
    frame = pd.DataFrame({"ID": ["1"], "Bought": [None], "Invoiced": ["someday"]})
    batch = run(frame, {"purchase_date": {"coalesce": ["Bought", "Invoiced"]}})
    assert batch.quality["value"].tolist() == ['"someday"']


def test_coalesce_keeps_the_chosen_columns_currency():
    frame = pd.DataFrame({"ID": ["1", "2"], "Cost": ["€10", ""], "List Price": ["$99", "$20"]})
    batch = run(frame, {"cost": {"coalesce": ["Cost", "List Price"]}})
    assert batch.rows["cost_currency"].tolist() == ["EUR", "USD"]


def test_coalesce_required_names_its_columns():
    batch = run(SERIALS, {"serial_number": {"coalesce": ["Serial", "Serial Number"], "required": True}})
    assert batch.quarantine["reason"].tolist() == [
        "serial_number: required but empty (Serial, Serial Number)"
    ]


# ---------------------------------------------------------------------------- lookup

SITES = {"LDN": "London HQ", "NYC": "New York Office", "MUC": "München", "TMP": None}


@pytest.mark.parametrize(
    ("lookup", "cells", "expected", "errors"),
    [
        pytest.param(
            {"table": SITES},
            ["LDN", "nyc", " MUC ", "TMP", "", None],
            ["London HQ", "New York Office", "München", None, None, None],
            [],
            id="site-codes",
        ),
        pytest.param(
            {"table": SITES},
            ["LDN", "PAR"],
            ["London HQ", None],
            [
                "2: location: 'PAR' is not in this field's lookup table (LDN, NYC, MUC, TMP); add it"
                " under lookup.table or give lookup.default"
            ],
            id="unknown-is-an-error",
        ),
        pytest.param(
            {"table": SITES, "default": "Elsewhere"},
            ["LDN", "PAR"],
            ["London HQ", "Elsewhere"],
            [],
            id="default",
        ),
        pytest.param(
            {"table": SITES, "default": None}, ["LDN", "PAR"], ["London HQ", None], [], id="default-null"
        ),
        pytest.param(
            {"table": SITES, "case_sensitive": True, "default": "?"},
            ["LDN", "ldn"],
            ["London HQ", "?"],
            [],
            id="case-sensitive",
        ),
        pytest.param(
            {"table": {1: "Floor one", 2.0: "Floor two"}},
            [1.0, "2"],
            ["Floor one", "Floor two"],
            [],
            id="number-keys",
        ),
    ],
)
def test_lookup(lookup, cells, expected, errors):
    frame = pd.DataFrame(
        {"ID": [str(i + 1) for i in range(len(cells))], "Site": pd.Series(cells, dtype=object)}
    )
    batch = run(frame, {"location": {"column": "Site", "lookup": lookup}})
    assert batch.rows["location_key"].tolist() == expected
    assert batch.quarantine.empty
    assert noted(batch) == errors


def test_lookup_output_goes_through_the_fields_normaliser():
    frame = pd.DataFrame({"ID": ["1", "2"], "Typ": ["NB", "DT"]})
    fields = {"category": {"column": "Typ", "lookup": {"table": {"NB": "Notebooks", "DT": "Workstation"}}}}
    assert column(frame, fields, "category") == ["laptop", "desktop"]


def test_lookup_over_a_template_and_under_when():
    frame = pd.DataFrame(
        {"ID": ["1", "2", "3"], "Bldg": ["A", "B", "Z"], "Floor": [1, 2, 9], "Kind": ["PC"] * 2 + ["x"]}
    )
    fields = {
        "location": {
            "template": "{Bldg}{Floor}",
            "lookup": {"table": {"A1": "Annex, first floor", "B2": "Main, second floor"}},
            "when": {"column": "Kind", "eq": "PC"},
        }
    }
    assert column(frame, fields, "location_key") == ["Annex, first floor", "Main, second floor", None]


def test_many_rows_take_the_deduplicated_path_with_the_same_answers():
    """Past 64 rows of few distinct values the engine normalises each value once."""
    cells = ["LDN", "nyc", "PAR", None] * 40
    frame = pd.DataFrame(
        {"ID": [str(i) for i in range(len(cells))], "Site": cells, "Kind": ["PC", "Mac"] * 80}
    )
    fields = {
        "location": {"column": "Site", "lookup": {"table": SITES}, "when": {"column": "Kind", "eq": "PC"}}
    }
    batch = run(frame, fields)
    assert batch.rows["location_key"].tolist()[:3] == ["London HQ", None, None]
    assert batch.quarantine.empty
    assert len(batch.rows) == len(cells)
    assert len(batch.quality) == 40  # PAR on the PC rows only
    assert set(batch.quality["record_id"].astype(int) % 4) == {2}
    assert set(batch.quality["value"]) == {'"PAR"'}


def test_empty_batch():
    frame = pd.DataFrame({"ID": [], "First Name": [], "Last Name": [], "Kind": []}, dtype=object)
    fields = {"name": {"template": PEOPLE_TEMPLATE, "when": {"column": "Kind", "eq": "x"}}}
    batch = run(frame, fields, entity="people")
    assert batch.rows.empty
    assert batch.quarantine.empty


# ---------------------------------------------------------------- a real export, when present

SNIPE_USERS = (
    Path(__file__).resolve().parents[3] / "shared" / "peers" / "snipe-it" / "sample_csvs" / "users-sample.csv"
)


def test_snipe_it_users_export_names_and_emails():
    """Snipe-IT's users export: `{First Name} {Last Name}` and every email maps, none lost."""
    if not SNIPE_USERS.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"peer file missing in CI: {SNIPE_USERS}")
        pytest.skip(f"peer file not present at {SNIPE_USERS}")
    frame = pd.read_csv(SNIPE_USERS, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    fields = {"name": {"template": "{First Name} {Last Name}"}, "email": "Email", "username": "Username"}
    batch = map_stream(frame, "people", StreamConfig(id="Username", fields=fields), CTX, source="snipe")
    assert batch.quarantine.empty, batch.quarantine["reason"].tolist()
    expected = [" ".join(p for p in (f.strip(), la.strip()) if p) or None
                for f, la in zip(frame["First Name"], frame["Last Name"], strict=True)]  # fmt: skip
    assert batch.rows["name"].tolist() == expected
    assert batch.rows["email"].tolist() == [e.strip().lower() or None for e in frame["Email"]]
    assert len(batch.rows) == 100
