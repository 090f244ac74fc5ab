"""What every writable connector compares: the values the caller saw against the values
the source holds now (optimistic concurrency), and the refusal that names each change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from connectors.base import WriteRefused


def plain(value: Any) -> Any:
    """A fetched value as read() gives it (Decimal → float, MySQL zero dates → None)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.startswith("0000-00-00"):
        return None
    return value


def same(held: Any, expected: Any) -> bool:
    """Whether the value held is the value the caller saw (types differ across drivers and
    wire formats: Decimal and float, a date and its ISO text, 1 and "1"; "" is empty)."""
    held, expected = (None if v == "" else v for v in (held, expected))
    if held is None or expected is None:
        return held is None and expected is None
    if held == expected:
        return True
    try:
        if isinstance(held, int | float | Decimal) or isinstance(expected, int | float | Decimal):
            return float(held) == float(expected)
    except (TypeError, ValueError):
        return False
    text = {v.isoformat() if isinstance(v, dt.date) else str(v) for v in (held, expected)}
    return len(text) == 1


def changed_since(held: dict[str, Any], expected: dict[str, Any], where: str) -> WriteRefused:
    """WriteRefused(kind=conflict) naming each column whose value changed, both values."""
    changed = [c for c in expected if not same(held.get(c), expected[c])] or list(expected)
    fields = [
        {"field": c, "message": f"expected {expected[c]!r}, the source holds {plain(held.get(c))!r}"}
        for c in changed
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return WriteRefused(f"{where}: changed since it was read ({detail})", kind="conflict", fields=fields)


def check_expected(held: dict[str, Any], expected: dict[str, Any] | None, where: str) -> None:
    """For sources that cannot check in the write itself: refuse when a value changed."""
    if expected and any(not same(held.get(c), v) for c, v in expected.items()):
        raise changed_since(held, expected, where)
