"""The write tests' gateway fixture (write_gateway.py)."""

from __future__ import annotations

from write_gateway import gateway

__all__ = ["gateway"]
