"""Docs generated from the code stay in step with it."""

from __future__ import annotations

from pathlib import Path

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
