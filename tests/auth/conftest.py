"""Fixtures of the authorization tests (defined in auth_gateway, shared with tests/clients)."""

from __future__ import annotations

from auth_gateway import auth_store, gateway, schema_store

__all__ = ["auth_store", "gateway", "schema_store"]
