"""Docs generated from the code stay in step with it."""

from __future__ import annotations

from pathlib import Path

from connectors.fields import FieldMapping, invalid_policy
from federation.config.reference import render
from federation.model import TABLES

REPO = Path(__file__).resolve().parents[1]


def test_the_model_reference_is_current() -> None:
    written = (REPO / "docs" / "model.md").read_text(encoding="utf-8")
    assert written == render(), "run: python -m federation.config.reference > docs/model.md"


def test_the_reference_names_every_mappable_field() -> None:
    text = render()
    for table in TABLES.values():
        assert f"## `{table.name}`" in text
        for field in table.mapped_fields:
            assert f"| `{field}` |" in text, f"{table.name}.{field}"


def test_the_reference_gives_the_failure_policy_the_engine_applies() -> None:
    """Each field's "a bad value" column says what `invalid_policy` does by default."""
    text = render()
    assert "`on_invalid`" in text
    for table in TABLES.values():
        if table.computed:
            continue
        identity = {f for rule in table.identity for f in rule}
        for field in table.mapped_fields:
            row = next(
                line
                for line in text.split(f"## `{table.name}`")[1].splitlines()
                if line.startswith(f"| `{field}` |")
            )
            policy, _ = invalid_policy(FieldMapping(column="x"), field, identity)
            said = "quarantines the row" if policy == "quarantine" else "is blanked (noted)"
            assert f"| {said} |" in row, (table.name, field, row)
