"""`map_records` maps many raw records in one pass of the vectorised mapping; it must give,
record by record, what `map_record` gives for each alone (the value, or the same reason to
refuse it) — whatever the mix of cell kinds, blanks, unreadable values, repeated or missing
ids, and with or without `fields`."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import StreamConfig
from federation.writes.values import UnreadableRecord, map_record, map_records
from transforms.context import TransformContext

CTX = TransformContext(
    rates={"EUR": 1.08, "GBP": 1.27},
    status_aliases={"Spare Pool": "in_stock"},
    category_aliases={"Network Gear": "network"},
)
STREAM = StreamConfig(
    id="sys_id",
    fields={
        "status": {"column": "install_status", "values": {"1": "in_use", "3": "in_repair", "6": "in_stock"}},
        "category": "model_category",
        "cost": {"column": "cost", "currency_column": "cur"},
        "purchase_date": {"column": "bought", "format": "%d.%m.%Y"},
        "last_seen": "seen",
        "mac_addresses": "mac",
        "serial_number": {"column": "serial", "required": True},
        "hostname": "host",
        "location": "location",
        "assigned_to": "owner",
        "department": {"column": "dept", "lookup": {"table": {"F": "Finance", "E": "Engineering"}}},
    },
)
COMPOSITE = StreamConfig(id=["site", "num"], fields={"hostname": "host", "status": "state"})

_text = st.sampled_from(["", " ", "n/a", "x", "Laptop", "Network Gear", "Spare Pool", "in use", "??"])
_cells: dict[str, st.SearchStrategy[Any]] = {
    "sys_id": st.one_of(st.sampled_from(["c1", "c2", "c3", "", None]), st.integers(1, 3), st.just(2.0)),
    "install_status": st.one_of(st.sampled_from(["1", "3", "6", "9", "Spare Pool", None]), st.integers(0, 7)),
    "model_category": st.one_of(_text, st.none()),
    "cost": st.one_of(
        st.floats(-10, 1e6), st.just(float("nan")), st.sampled_from(["1,200.50", "abc", None]), st.integers()
    ),
    "cur": st.sampled_from(["EUR", "GBP", "USD", "XXX", None]),
    "bought": st.sampled_from(["01.02.2023", "31.12.1999", "2023-02-01", "soon", None, ""]),
    "seen": st.sampled_from(["2024-01-15T10:30:00Z", "2024-01-15 08:00:00", "yesterday", None]),
    "mac": st.sampled_from(["AA-BB-CC-DD-EE-FF", "aabb.ccdd.ee01, 112233445566", "zz", "", None]),
    "serial": st.one_of(st.sampled_from(["SN1", "SN2", "Not Specified", "", None]), st.integers(0, 99)),
    "host": st.one_of(_text, st.sampled_from(["lt-001", "LT-002.example.com", "bad host!"])),
    "location": st.one_of(_text, st.none()),
    "owner": st.sampled_from(["ann@example.com", "CORP\\jdoe", "Ann Active", "", None]),
    "dept": st.sampled_from(["F", "E", "X", None]),
}
_records = st.lists(st.fixed_dictionaries(_cells), min_size=1, max_size=6)
_fields = st.one_of(st.none(), st.sets(st.sampled_from(sorted(STREAM.fields)), min_size=1))


def _one_by_one(raws: list[dict[str, Any]], stream: StreamConfig, fields: Any) -> list[dict[str, Any] | str]:
    out: list[dict[str, Any] | str] = []
    for raw in raws:
        try:
            out.append(map_record(raw, "assets", stream, CTX, source="cmdb", fields=fields))
        except UnreadableRecord as exc:
            out.append(f"refused: {exc}")
    return out


def _together(raws: list[dict[str, Any]], stream: StreamConfig, fields: Any) -> list[dict[str, Any] | str]:
    mapped = map_records(raws, "assets", stream, CTX, source="cmdb", fields=fields)
    return [f"refused: {m}" if isinstance(m, UnreadableRecord) else m for m in mapped]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=_records, fields=_fields)
def test_many_records_map_as_each_alone(raws: list[dict[str, Any]], fields: Any) -> None:
    assert _together(raws, STREAM, fields) == _one_by_one(raws, STREAM, fields)


@settings(max_examples=30, deadline=None)
@given(
    raws=st.lists(
        st.fixed_dictionaries(
            {
                "site": st.sampled_from(["B", "L", "", None]),
                "num": st.one_of(st.integers(1, 3), st.sampled_from(["1", "2", None])),
                "host": st.sampled_from(["a", "b", None]),
                "state": st.sampled_from(["in stock", "deployed", None]),
            }
        ),
        min_size=1,
        max_size=10,
    )
)
def test_composite_ids_map_as_each_alone(raws: list[dict[str, Any]]) -> None:
    assert _together(raws, COMPOSITE, None) == _one_by_one(raws, COMPOSITE, None)


def test_records_with_other_columns_or_a_repeated_id_map_apart() -> None:
    raws: list[dict[str, Any]] = [
        {"sys_id": "c1", "serial": "SN1", "install_status": "1"},
        {"sys_id": "c1", "serial": "SN1", "install_status": "6"},  # the same record read twice
        {"sys_id": "c2", "serial": "SN2"},  # a record without the status column
    ]
    stream = StreamConfig(id="sys_id", fields={"serial_number": "serial", "status": "install_status"})
    with pytest.raises(Exception, match="install_status"):
        map_record(raws[2], "assets", stream, CTX, source="cmdb")  # the column is missing: a config error
    mapped = map_records(raws[:2], "assets", stream, CTX, source="cmdb")
    assert [m["status"] for m in mapped if isinstance(m, dict)] == ["in_use", "in_stock"]
    assert map_records(raws, "assets", stream, CTX, source="cmdb", fields=["serial_number"])[2] == {
        "serial_number": "SN2"
    }
