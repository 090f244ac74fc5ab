"""The mapping read backwards (transforms/reverse.py): which fields can be written, what
each value becomes at the source, and the round trip through the read path."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from connectors.base import StreamConfig
from transforms.context import TransformContext
from transforms.reverse import NotReversible, map_record, to_source, writable_fields

CTX = TransformContext(rates={"EUR": 1.08, "GBP": 1.27}, status_aliases={"Spare Pool": "in_stock"})


def stream(fields: dict[str, Any], id_: str | list[str] = "id") -> StreamConfig:
    return StreamConfig(id=id_, fields=fields)


def read_back(s: StreamConfig, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The written cells, with every other column the stream reads empty, mapped forward."""
    row: dict[str, Any] = {c: "1" for c in s.id_columns}
    for mapping in s.fields.values():
        for column in mapping.source_columns + ([mapping.currency_column] if mapping.currency_column else []):
            row.setdefault(column, None)
    row.update(raw)
    batch = map_record(row, entity, s, CTX, source="t")
    assert batch.quarantine.empty, batch.quarantine.to_dict("records")
    return batch.rows.iloc[0].to_dict()


# ------------------------------------------------------------------------- writable_fields


def test_each_lossy_mapping_is_read_only_with_its_reason() -> None:
    s = stream(
        {
            "name": {"template": "{First} {Last}"},
            "serial_number": {"coalesce": ["Serial", "SN"]},
            "hostname": {"columns": ["Host", "Host2"]},
            "category": {"value": "laptop"},
            "model": {"column": "Model", "when": {"column": "Kind", "eq": "pc"}},
            "status": {"column": "State", "lookup": {"table": {"a": "in_use", "b": "in_use"}}},
            "attributes": {"columns": ["Dep"], "derived_from": {"Dep": "cost"}},
            "os": "OS",
        }
    )
    reasons = writable_fields(s, "assets")
    assert reasons["os"] is None
    assert "template" in reasons["name"]
    assert "coalesce: Serial, SN" in reasons["serial_number"]
    assert "several columns" in reasons["hostname"]
    assert "constant" in reasons["category"]
    assert "when" in reasons["model"]
    assert "no unique inverse" in reasons["status"]
    assert "'a'" in reasons["status"]
    assert "derived_from" in reasons["attributes"]
    assert "asset_tag" not in reasons  # not mapped: absent


def test_id_columns_are_set_on_insert_only_and_a_shared_column_has_one_writer() -> None:
    people = stream({"username": "user_name", "email": "mail"}, id_="user_name")
    assert "set on insert" in (writable_fields(people, "people")["username"] or "")
    assert writable_fields(people, "people", for_insert=True)["username"] is None
    assets = stream({"hostname": "name", "name": "name"})
    reasons = writable_fields(assets, "assets")
    assert reasons["name"] is None  # plain text loses nothing: it writes the column
    assert reasons["hostname"] == "reads column 'name', which name writes"
    with pytest.raises(NotReversible) as refused:
        to_source(people, "people", {"username": "jdoe"}, CTX)
    assert refused.value.field == "username"
    assert to_source(people, "people", {"username": "jdoe"}, CTX, for_insert=True) == {"user_name": "jdoe"}


def test_cost_currency_is_writable_only_with_a_currency_column() -> None:
    fixed = writable_fields(stream({"cost": {"column": "Cost", "currency": "EUR"}}), "assets")
    assert "EUR" in (fixed["cost_currency"] or "")
    per_row = writable_fields(stream({"cost": {"column": "Cost", "currency_column": "Cur"}}), "assets")
    assert per_row["cost_currency"] is None


# ------------------------------------------------------------------------------ to_source


def test_a_read_only_or_unmapped_field_is_refused_by_name() -> None:
    s = stream({"name": {"template": "{A} {B}"}, "os": "OS"})
    with pytest.raises(NotReversible) as refused:
        to_source(s, "assets", {"os": "Linux", "name": "x"}, CTX)
    assert refused.value.field == "name"
    assert "template" in refused.value.reason
    with pytest.raises(NotReversible, match="model: read-only for this source: this source does not map it"):
        to_source(s, "assets", {"model": "x"}, CTX)


def test_status_words_come_from_values_then_aliases_then_the_unified_word() -> None:
    snow = stream(
        {"status": {"column": "install_status", "values": {"1": "in_use", "6": "in_stock", "4": "in_stock"}}}
    )
    assert to_source(snow, "assets", {"status": "in_use"}, CTX) == {"install_status": "1"}
    # several words for one value: the first in config order
    assert to_source(snow, "assets", {"status": "in_stock"}, CTX) == {"install_status": "6"}
    # without `values:`: the config's aliases, then the unified word itself
    plain = stream({"status": "State"})
    assert to_source(plain, "assets", {"status": "in_stock"}, CTX) == {"State": "Spare Pool"}
    assert to_source(plain, "assets", {"status": "in_repair"}, CTX) == {"State": "in_repair"}
    with pytest.raises(ValueError, match="status: 'broken' is not one of ordered, in_stock"):
        to_source(plain, "assets", {"status": "broken"}, CTX)


def test_a_value_the_vocabulary_cannot_express_names_the_field() -> None:
    # `values:` says `in_use` means "X"; the unified word `in_use` itself reads back as in_use
    # through the built-in table, so it is still expressible
    s = stream({"status": {"column": "S", "values": {"in use": "in_repair", "in_use": "in_repair"}}})
    with pytest.raises(ValueError, match="status: the source's vocabulary has no word"):
        to_source(s, "assets", {"status": "in_use"}, CTX)


def test_categories_use_the_configured_alias() -> None:
    ctx = TransformContext(category_aliases={"Network Gear": "network"})
    s = stream({"category": "model_category"})
    assert to_source(s, "assets", {"category": "network"}, ctx) == {"model_category": "Network Gear"}
    with pytest.raises(ValueError, match="category: 'toaster' is not one of"):
        to_source(s, "assets", {"category": "toaster"}, ctx)


def test_money_goes_back_into_the_source_currency() -> None:
    eur = stream({"cost": {"column": "Cost", "currency": "EUR"}})
    assert to_source(eur, "assets", {"cost": 108.0}, CTX) == {"Cost": 100.0}
    assert to_source(eur, "assets", {"cost": "1079.99"}, CTX) == {"Cost": 999.99}
    per_row = stream({"cost": {"column": "Cost", "currency_column": "Cur"}})
    assert to_source(per_row, "assets", {"cost": 127.0}, CTX, current={"Cur": "GBP"}) == {"Cost": 100.0}
    both = to_source(per_row, "assets", {"cost": 54.0, "cost_currency": "eur"}, CTX)
    assert both == {"Cost": 50.0, "Cur": "EUR"}
    with pytest.raises(ValueError, match="cost: this source keeps each record's currency in column 'Cur'"):
        to_source(per_row, "assets", {"cost": 1}, CTX)
    with pytest.raises(ValueError, match="cost: no rate for currency CHF"):
        to_source(per_row, "assets", {"cost": 1}, CTX, current={"Cur": "CHF"})


def test_dates_in_the_mapping_format_and_timestamps_in_utc() -> None:
    s = stream(
        {
            "purchase_date": {"column": "Bought", "format": "%m/%d/%Y"},
            "warranty_end": {"column": "Until", "format": "excel"},
            "last_seen": "Seen",
        }
    )
    raw = to_source(
        s,
        "assets",
        {
            "purchase_date": "2024-01-15",
            "warranty_end": "2027-03-01",
            "last_seen": "2024-01-15T12:00:00+02:00",
        },
        CTX,
    )
    assert raw["Bought"] == "01/15/2024"
    assert raw["Until"] == (dt.date(2027, 3, 1) - dt.date(1899, 12, 30)).days
    assert raw["Seen"] == dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="purchase_date: expected an ISO date"):
        to_source(s, "assets", {"purchase_date": "next week"}, CTX)


def test_lookup_keys_addresses_attributes_and_references() -> None:
    s = stream(
        {
            "department": {"column": "Dept", "lookup": {"table": {"FIN": "Finance", "ENG": "Engineering"}}},
            "mac_addresses": "MAC",
            "attributes": {"columns": ["RAM GB", "CPU"]},
            "assigned_to": "Owner",
            "location": "Site",
        }
    )
    raw = to_source(
        s,
        "assets",
        {
            "department": "Engineering",
            "mac_addresses": ["aa:bb:cc:dd:ee:ff", "00:11:22:33:44:55"],
            "attributes": '{"ram_gb": 16}',
            "assigned_to": "jdoe@example.com",
            "location": "London HQ",
        },
        CTX,
    )
    assert raw == {
        "Dept": "ENG",
        "MAC": "aa:bb:cc:dd:ee:ff, 00:11:22:33:44:55",
        "RAM GB": 16,
        "CPU": None,
        "Owner": "jdoe@example.com",
        "Site": "London HQ",
    }
    with pytest.raises(
        ValueError, match="department: no key of this field's lookup table reads back as 'Sales'"
    ):
        to_source(s, "assets", {"department": "Sales"}, CTX)
    with pytest.raises(ValueError, match="attributes: 'gpu' is not a key this source holds"):
        to_source(s, "assets", {"attributes": {"gpu": "x"}}, CTX)
    back = read_back(s, "assets", raw)
    assert back["department"] == "Engineering"
    assert back["mac_addresses"] == ["aa:bb:cc:dd:ee:ff", "00:11:22:33:44:55"]
    assert json.loads(back["attributes"]) == {"ram_gb": 16}
    assert back["assigned_to_key"] == "jdoe@example.com"


def test_null_empties_the_column_unless_required() -> None:
    s = stream({"os": "OS", "model": {"column": "Model", "required": True}})
    assert to_source(s, "assets", {"os": None}, CTX) == {"OS": None}
    with pytest.raises(ValueError, match="model: required"):
        to_source(s, "assets", {"model": None}, CTX)


def test_map_record_quarantines_what_does_not_read() -> None:
    s = stream({"status": "S"})
    batch = map_record({"id": "7", "S": "exploded"}, "assets", s, CTX, source="t")
    assert batch.rows.empty
    assert "unknown status 'exploded'" in batch.quarantine.iloc[0]["reason"]
    assert (
        map_record({"id": "7", "S": "6"}, "assets", s, CTX, source="t").rows.iloc[0]["status"] == "in_stock"
    )
