"""The client tests reuse the authorization fixtures (seeded store, tokens, serving)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from auth_gateway import auth_store

__all__ = ["auth_store"]
