"""The per-field failure policy (`on_invalid`): a bad value of an ordinary field is blanked
with a quality note and the row still published; a bad value of a field the record is
identified by quarantines the row, unless the mapping says otherwise."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from connectors.base import StreamConfig
from connectors.fields import FieldMapping, invalid_policy
from transforms.context import TransformContext
from transforms.mapping import MappedBatch, map_stream

CTX = TransformContext()

INVENTORY = pd.DataFrame(
    {
        "ID": ["1", "2", "3", "4"],
        "Serial": ["S-1", "6.37702E+15", "S-3", "S-4"],
        "Name": ["pc-01", "pc-02", "Dell P2419H", "pc-04"],
        "Bought": ["2024-01-02", "2024-01-03", "2024-01-04", "31/31/24"],
        "Status": ["Deployed", "Deployed", "Shredded?", "Deployed"],
        "Kind": ["Laptop", "Laptop", "Monitor", "Laptop"],
    }
)
FIELDS = {
    "serial_number": "Serial",
    "hostname": "Name",
    "purchase_date": "Bought",
    "status": "Status",
    "category": "Kind",
}


def run(fields: dict[str, Any], ctx: TransformContext = CTX, entity: str = "assets") -> MappedBatch:
    return map_stream(INVENTORY, entity, StreamConfig(id="ID", fields=fields), ctx, source="inventory")


def notes(batch: MappedBatch) -> set[tuple[str, str, str]]:
    q = batch.quality
    return set(zip(q["record_id"], q["field"], q["value"], strict=True))


def test_identity_fields_quarantine_and_the_others_are_blanked_with_a_note() -> None:
    batch = run(FIELDS)
    # serial and hostname are in the default asset identity rules: their bad values hold the row
    assert batch.quarantine["record_id"].tolist() == ["2", "3"]
    assert batch.quarantine["reason"].iloc[0].startswith("serial_number: serial '6.37702E+15' was mangled")
    # row 3's bad status is in its quarantine reason, not in a note: a note is about a published row
    assert "status: unknown status 'Shredded?'" in batch.quarantine["reason"].iloc[1]
    assert batch.rows["record_id"].tolist() == ["1", "4"]
    assert pd.isna(batch.rows.set_index("record_id").loc["4", "purchase_date"])
    assert notes(batch) == {("4", "purchase_date", '"31/31/24"')}
    assert batch.quality["reason"].iloc[0].startswith("cannot read '31/31/24' as a date")


def test_on_invalid_overrides_the_default_both_ways() -> None:
    fields = {
        **FIELDS,
        "hostname": {"column": "Name", "on_invalid": "blank"},
        "purchase_date": {"column": "Bought", "on_invalid": "quarantine"},
    }
    batch = run(fields)
    assert batch.quarantine["record_id"].tolist() == ["2", "4"]
    assert batch.rows["record_id"].tolist() == ["1", "3"]
    published = batch.rows.set_index("record_id")
    assert pd.isna(published.loc["3", "hostname"])
    assert pd.isna(published.loc["3", "status"])
    assert published.loc["3", "category"] == "monitor"
    assert notes(batch) == {("3", "hostname", '"Dell P2419H"'), ("3", "status", '"Shredded?"')}


def test_the_configured_identity_rules_decide_the_default() -> None:
    """With identity by serial only, a bad host name no longer holds the row back."""
    ctx = TransformContext(identity={"assets": (("serial_number",),)})
    batch = run(FIELDS, ctx)
    assert batch.quarantine["record_id"].tolist() == ["2"]
    assert ("3", "hostname", '"Dell P2419H"') in notes(batch)


def test_a_when_that_does_not_hold_is_no_error_and_no_note() -> None:
    fields = {**FIELDS, "hostname": {"column": "Name", "when": {"column": "Kind", "eq": "Laptop"}}}
    batch = run(fields)
    assert batch.quarantine["record_id"].tolist() == ["2"]
    assert "hostname" not in set(batch.quality["field"])


def test_required_quarantines_by_default_and_cannot_be_blanked() -> None:
    batch = run({"purchase_date": {"column": "Bought", "required": True}})
    assert batch.quarantine["record_id"].tolist() == ["4"]
    with pytest.raises(ValidationError, match="required: true quarantines"):
        FieldMapping.model_validate({"column": "Bought", "required": True, "on_invalid": "blank"})


@pytest.mark.parametrize(
    ("mapping", "field", "expected"),
    [
        pytest.param({"column": "x"}, "serial_number", ("quarantine", "identity field"), id="identity"),
        pytest.param({"column": "x"}, "cost", ("blank", "default"), id="ordinary"),
        pytest.param({"column": "x", "required": True}, "cost", ("quarantine", "required"), id="required"),
        pytest.param(
            {"column": "x", "on_invalid": "blank"}, "serial_number", ("blank", "on_invalid"), id="explicit"
        ),
    ],
)
def test_invalid_policy(mapping: dict[str, Any], field: str, expected: tuple[str, str]) -> None:
    identity = CTX.identity_fields("assets")
    assert identity >= {"serial_number", "asset_tag", "hostname", "manufacturer", "mac_addresses"}
    assert invalid_policy(FieldMapping.model_validate(mapping), field, identity) == expected


def test_on_invalid_rejects_other_words() -> None:
    with pytest.raises(ValidationError, match="on_invalid"):
        FieldMapping.model_validate({"column": "x", "on_invalid": "drop"})


def test_people_identity_is_email_and_username() -> None:
    frame = pd.DataFrame(
        {"ID": ["1", "2"], "Mail": ["ann@example.com", "not an email"], "Dept": ["IT", "HR"]}
    )
    stream = StreamConfig(id="ID", fields={"email": "Mail", "department": "Dept"})
    batch = map_stream(frame, "people", stream, CTX, source="hr")
    assert batch.quarantine["record_id"].tolist() == ["2"]
    assert batch.quality.empty
