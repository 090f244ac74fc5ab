"""The request tests' gateway fixture (request_gateway.py)."""

from __future__ import annotations

from request_gateway import gateway

__all__ = ["gateway"]
