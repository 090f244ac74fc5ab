"""Fixtures of the schema tests: the seeded store and runners (defined in schema_estate)."""

from __future__ import annotations

from schema_estate import run, schema, store

__all__ = ["run", "schema", "store"]
