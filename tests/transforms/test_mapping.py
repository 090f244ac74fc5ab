from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from connectors.base import StreamConfig
from transforms.context import TransformContext
from transforms.mapping import MappedBatch, MappingError, map_stream

CTX = TransformContext(rates={"EUR": 1.10})


def run(frame: pd.DataFrame, fields: dict, *, id="ID", entity="assets") -> MappedBatch:
    return map_stream(frame, entity, StreamConfig(id=id, fields=fields), CTX, source="snipe")


def assets_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ID": [1.0, 2.0, 3.0],
            "Asset Tag": ["ICC-2065556", "WBH-2841795", "NNH-3656031"],
            "Serial": ["1786vm80x07", "Not Specified", "9929FR08W85"],
            "Purchase Date": ["1/23/23", "3/1/23", "10/26/22"],
            "Purchase Cost": ["$2,266.13", "€1.599,62", "1777.56"],
            "Email": ["KSennett6@IBM.com", "", "CORP\\jdoe"],
            "Location": ["Pacocha-Kiehn", None, "  HQ "],
            "Category": ["Laptops", "Desktops", "Switch"],
            "MAC": ["AA-BB-CC-DD-EE-FF", "", "aabb.ccdd.ee01, 112233445566"],
            "Seen": ["2024-01-15T10:30:00Z", None, "2024-01-15 08:00:00"],
        }
    )


FIELDS = {
    "asset_tag": "Asset Tag",
    "serial_number": "Serial",
    "purchase_date": "Purchase Date",
    "cost": "Purchase Cost",
    "assigned_to": "Email",
    "location": "Location",
    "category": "Category",
    "mac_addresses": "MAC",
    "last_seen": "Seen",
}


def test_rows_columns_values_and_dtypes():
    batch = run(assets_frame(), FIELDS)
    assert batch.quarantine.empty
    rows = batch.rows
    assert list(rows.columns) == [
        "record_id",
        "asset_tag",
        "serial_number",
        "purchase_date",
        "cost",
        "assigned_to_key",
        "location_key",
        "category",
        "mac_addresses",
        "last_seen",
        "cost_currency",
    ]
    assert rows["record_id"].tolist() == ["1", "2", "3"]
    assert rows["serial_number"].tolist() == ["1786VM80X07", None, "9929FR08W85"]
    assert rows["assigned_to_key"].tolist() == ["ksennett6@ibm.com", None, "jdoe"]
    assert rows["location_key"].tolist() == ["Pacocha-Kiehn", None, "HQ"]
    assert rows["category"].tolist() == ["laptop", "desktop", "network"]
    # 1599.62 EUR x 1.10, rounded to cents
    assert rows["cost"].tolist() == pytest.approx([2266.13, 1759.58, 1777.56])
    assert rows["cost_currency"].tolist() == ["USD", "EUR", "USD"]
    assert rows["mac_addresses"].tolist() == [
        ["aa:bb:cc:dd:ee:ff"],
        None,
        ["aa:bb:cc:dd:ee:01", "11:22:33:44:55:66"],
    ]
    assert rows["purchase_date"].tolist()[0] == pd.Timestamp("2023-01-23")
    dtypes = rows.dtypes.astype(str).to_dict()
    assert dtypes == {
        "record_id": "object",
        "asset_tag": "object",
        "serial_number": "object",
        "purchase_date": "datetime64[s]",
        "cost": "float64",
        "assigned_to_key": "object",
        "location_key": "object",
        "category": "object",
        "mac_addresses": "object",
        "last_seen": "datetime64[us, UTC]",
        "cost_currency": "object",
    }


def test_people_hidden_key_reference_and_boolean_like_status():
    frame = pd.DataFrame(
        {
            "Email": ["rtenant0@istockphoto.com", "klefeuvre1@woothemes.com"],
            "Username": ["RTenant0", "klefeuvre1"],
            "Activated": ["true", "false"],
            "Manager": ["Reagen.Boss@istockphoto.com", None],
        }
    )
    fields = {
        "email": "Email",
        "username": "Username",
        "employment_status": "Activated",
        "manager": "Manager",
    }
    batch = run(frame, fields, id="Username", entity="people")
    assert batch.rows.to_dict("records") == [
        {
            "record_id": "RTenant0",
            "email": "rtenant0@istockphoto.com",
            "username": "rtenant0",
            "employment_status": "active",
            "manager_key": "reagen.boss@istockphoto.com",
        },
        {
            "record_id": "klefeuvre1",
            "email": "klefeuvre1@woothemes.com",
            "username": "klefeuvre1",
            "employment_status": "terminated",
            "manager_key": None,
        },
    ]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        pytest.param([12.0, 13.0], ["12", "13"], id="float-ids"),
        pytest.param([12, 13], ["12", "13"], id="int-ids"),
        pytest.param([" a1 ", "B2"], ["a1", "B2"], id="text-trimmed"),
        pytest.param(["00042", "7"], ["00042", "7"], id="leading-zeros"),
    ],
)
def test_record_ids(ids, expected):
    frame = pd.DataFrame({"ID": ids, "Name": ["x", "y"]})
    assert run(frame, {"name": "Name"}).rows["record_id"].tolist() == expected


def test_composite_id_joined_with_pipe():
    frame = pd.DataFrame({"site": ["lon", "lon"], "n": [1.0, 2.0], "Name": ["a", "b"]})
    batch = run(frame, {"name": "Name"}, id=["site", "n"])
    assert batch.rows["record_id"].tolist() == ["lon|1", "lon|2"]


def test_empty_and_duplicate_ids_are_quarantined():
    frame = pd.DataFrame(
        {
            "ID": ["a", "", "b", "a", None, "a"],
            "Name": ["first", "no id", "ok", "second", "nan id", "third"],
        }
    )
    batch = run(frame, {"name": "Name"})
    assert batch.rows["record_id"].tolist() == ["a", "b"]
    assert batch.rows["name"].tolist() == ["first", "ok"]
    quarantine = batch.quarantine
    assert list(quarantine.columns) == ["record_id", "reason", "raw"]
    assert quarantine["record_id"].tolist() == [None, "a", None, "a"]
    assert quarantine["reason"].tolist() == [
        "no id: column ID is empty",
        "duplicate id 'a', first seen in row 1 of this batch",
        "no id: column ID is empty",
        "duplicate id 'a', first seen in row 1 of this batch",
    ]
    assert json.loads(quarantine["raw"].iloc[1]) == {"ID": "a", "Name": "second"}


def test_composite_id_names_the_empty_columns():
    frame = pd.DataFrame({"site": [None], "n": [None], "Name": ["a"]})
    reason = run(frame, {"name": "Name"}, id=["site", "n"]).quarantine["reason"].iloc[0]
    assert reason == "no id: columns site, n are empty"


def test_field_errors_are_joined_and_prefixed():
    frame = assets_frame()
    frame.loc[1, "Purchase Date"] = "31/31/24"
    frame.loc[1, "Purchase Cost"] = "12.50 CHF"
    frame.loc[2, "Category"] = "Ornamental Railings"
    strict = {"column": None, "on_invalid": "quarantine"}
    fields = {**FIELDS} | {f: {**strict, "column": FIELDS[f]} for f in ("purchase_date", "cost", "category")}
    batch = run(frame, fields)
    assert batch.quality.empty
    assert batch.rows["record_id"].tolist() == ["1"]
    reasons = batch.quarantine["reason"].tolist()
    assert reasons[0] == (
        "purchase_date: cannot read '31/31/24' as a date (expected M/D/YY, MM/DD/YYYY, "
        "ISO 8601, an Excel serial or a {date, formatted} object); "
        "cost: no rate for currency CHF; add it under currency.rates"
    )
    assert reasons[1].startswith("category: unknown category 'Ornamental Railings'")
    assert batch.quarantine["record_id"].tolist() == ["2", "3"]


def test_raw_json_keeps_source_row_with_iso_dates_and_nulls():
    frame = pd.DataFrame(
        {
            "ID": [1],
            "Bought": [dt.datetime(2024, 1, 2, 3, 4)],
            "When": [pd.Timestamp("2024-05-06")],
            "Cost": [np.nan],
            "Status": ["Foo"],
        }
    )
    batch = run(
        frame, {"status": {"column": "Status", "on_invalid": "quarantine"}, "purchase_date": "Bought"}
    )
    assert json.loads(batch.quarantine["raw"].iloc[0]) == {
        "ID": 1,
        "Bought": "2024-01-02T03:04:00",
        "When": "2024-05-06T00:00:00",
        "Cost": None,
        "Status": "Foo",
    }


def test_missing_column_is_a_config_error():
    frame = assets_frame()
    with pytest.raises(MappingError) as raised:
        run(frame, {"serial_number": "Serial No"})
    message = str(raised.value)
    assert "source snipe" in message
    assert "assets" in message
    assert "serial_number" in message
    assert "'Serial No'" in message
    assert "Asset Tag" in message  # lists the columns that are there
    assert isinstance(raised.value, ValueError)


def test_missing_id_column_is_a_config_error():
    with pytest.raises(MappingError, match="id column 'Id'"):
        run(assets_frame(), {"name": "Serial"}, id="Id")


def test_unknown_or_mistyped_transform_is_a_config_error():
    with pytest.raises(MappingError, match="unknown transform 'nope'"):
        run(assets_frame(), {"name": {"column": "Serial", "transform": "nope"}})
    with pytest.raises(MappingError, match="transform 'date' gives date values but cost"):
        run(assets_frame(), {"cost": {"column": "Purchase Date", "transform": "date"}})


def test_columns_first_non_empty_wins():
    frame = pd.DataFrame({"ID": [1, 2, 3], "Serial": ["", None, "S3"], "Serial Number": ["S1", "S2", "X"]})
    batch = run(frame, {"serial_number": {"columns": ["Serial", "Serial Number"]}})
    assert batch.rows["serial_number"].tolist() == ["S1", "S2", "S3"]


def test_json_from_several_columns():
    frame = pd.DataFrame(
        {"ID": [1, 2], "RAM GB": [16.0, None], "Screen Size (in)": ["13.3", ""], "CPU": [None, ""]}
    )
    fields = {"attributes": {"columns": ["RAM GB", "Screen Size (in)", "CPU"]}}
    batch = run(frame, fields)
    assert batch.rows["attributes"].tolist() == ['{"ram_gb": 16, "screen_size_in": "13.3"}', None]


def test_constant_value_is_normalised():
    frame = pd.DataFrame({"ID": [1, 2]})
    batch = run(frame, {"category": {"value": "Laptops"}, "status": {"value": "Deployed"}})
    assert batch.rows["category"].tolist() == ["laptop", "laptop"]
    assert batch.rows["status"].tolist() == ["in_use", "in_use"]


def test_required_field():
    frame = pd.DataFrame({"ID": [1, 2], "Serial": ["S1", "Not Specified"]})
    batch = run(frame, {"serial_number": {"column": "Serial", "required": True}})
    assert batch.rows["record_id"].tolist() == ["1"]
    assert batch.quarantine["reason"].tolist() == ["serial_number: required but empty (Serial)"]


def test_currency_column_and_explicit_cost_currency():
    frame = pd.DataFrame({"ID": [1, 2], "Cost": ["10", "10"], "Cur": ["EUR", None], "Own": ["eur", "usd"]})
    batch = run(frame, {"cost": {"column": "Cost", "currency_column": "Cur"}})
    assert batch.rows["cost"].tolist() == pytest.approx([11.0, 10.0])
    assert batch.rows["cost_currency"].tolist() == ["EUR", "USD"]
    mapped = run(frame, {"cost": {"column": "Cost", "currency": "EUR"}, "cost_currency": "Own"})
    assert mapped.rows["cost_currency"].tolist() == ["EUR", "USD"]  # the mapped column wins
    assert list(mapped.rows.columns) == ["record_id", "cost", "cost_currency"]


def test_currency_column_on_non_money_field_is_a_config_error():
    frame = pd.DataFrame({"ID": [1], "Name": ["a"], "Cur": ["EUR"]})
    with pytest.raises(MappingError, match="currency_column applies to money"):
        run(frame, {"name": {"column": "Name", "currency_column": "Cur"}})


def test_repetitive_columns_give_the_same_result_as_unique_ones():
    statuses = ["Deployed", "Ready to Deploy", "Foo", None] * 50
    frame = pd.DataFrame({"ID": range(200), "Status": statuses, "Cost": ["$1", "€2", "", "x"] * 50})
    batch = run(frame, {"status": "Status", "cost": "Cost"})
    assert len(batch.rows) == 200
    assert batch.quarantine.empty
    assert batch.rows["status"].tolist()[:4] == ["in_use", "in_stock", None, None]
    assert batch.rows["cost"].tolist()[:2] == pytest.approx([1.0, 2.2])
    assert batch.rows["cost"].iloc[2:4].isna().all()
    assert batch.rows["cost_currency"].tolist()[:2] == ["USD", "EUR"]
    notes = batch.quality
    assert len(notes) == 100
    status = notes[notes["field"] == "status"]
    assert status["record_id"].tolist() == [str(i) for i in range(2, 200, 4)]
    assert set(status["value"]) == {'"Foo"'}
    assert status["reason"].iloc[0].startswith("unknown status 'Foo'")
    cost = notes[notes["field"] == "cost"]
    assert cost["record_id"].tolist() == [str(i) for i in range(3, 200, 4)]
    assert set(cost["reason"]) == {"cannot read 'x' as an amount"}


def test_index_of_input_frame_does_not_matter():
    frame = assets_frame().set_index(pd.Index([10, 5, 7]))
    batch = run(frame, FIELDS)
    assert batch.rows.index.tolist() == [0, 1, 2]
    assert batch.rows["record_id"].tolist() == ["1", "2", "3"]


def test_empty_frame():
    frame = assets_frame().iloc[0:0]
    batch = run(frame, FIELDS)
    assert batch.rows.empty
    assert batch.quarantine.empty
    assert list(batch.quarantine.columns) == ["record_id", "reason", "raw"]
