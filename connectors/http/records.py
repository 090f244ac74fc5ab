"""From a JSON answer to a raw frame: the record path, flattening, and cursor comparisons.

Nested objects are flattened to dotted column names (`status_label.name`,
`assigned_to.email.value`), so mappings can name any leaf. Date objects (`{date, formatted}`,
`{datetime, formatted}`) are also kept whole under their own name for the `date` transform.
Lists stay lists (MAC addresses, service plans).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd

_MISSING = object()


def at_path(body: Any, path: str) -> Any:
    """`data.items` → body["data"]["items"]; the empty path is the body itself. A key may
    contain dots when it exists as is (`@odata.nextLink`). Missing → `_MISSING`."""
    if not path:
        return body
    if isinstance(body, dict) and path in body:
        return body[path]
    head, dot, rest = path.partition(".")
    while dot:
        if isinstance(body, dict) and head in body:
            return at_path(body[head], rest)
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return body.get(path, _MISSING) if isinstance(body, dict) else _MISSING


def missing(value: Any) -> bool:
    return value is _MISSING


def flatten(record: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    for key, value in record.items():
        if type(value) is dict:
            name = prefix + key
            if len(value) == 2 and "formatted" in value and ("date" in value or "datetime" in value):
                out[name] = value
            flatten(value, name + ".", out)
        else:
            out[prefix + key] = value
    return out


def to_frame(records: list[dict[str, Any]], columns: Iterable[str] = ()) -> pd.DataFrame:
    """Flattened records; `columns` (the ones the mappings name) exist even when no record
    has them, as APIs leave out empty values."""
    flat = [flatten(r) for r in records]
    frame = pd.DataFrame.from_records(flat) if records else pd.DataFrame()
    for column in frame.columns:
        if frame[column].dtype.kind == "f" and frame[column].isna().any():
            _keep_integers(frame, column, flat)
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    return frame


def _keep_integers(frame: pd.DataFrame, column: str, flat: list[dict[str, Any]]) -> None:
    """pandas turns a column of JSON integers with gaps into float64, which loses digits past
    2^53 (and prints ids as `1e+17`): keep such a column as Python ints and None instead."""
    values = [r.get(column) for r in flat]
    if all(v is None or (type(v) is int) for v in values):
        frame[column] = pd.Series(values, index=frame.index, dtype=object)


# ----------------------------------------------------------------------------------- cursors
def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _as_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cursor_key(value: Any) -> tuple[int, Any] | None:
    """A sort key that compares numbers as numbers and times as times (`…Z` and `+00:00`
    alike), else text. None for an empty value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dict):  # {display_value, value} or {datetime, formatted}
        value = value.get("value", value.get("datetime", value.get("date")))
        return cursor_key(value)
    if isinstance(value, bool):
        return (2, str(value))
    if isinstance(value, int | float):
        return (0, float(value))
    text = str(value).strip()
    if not text:
        return None
    number = _as_number(text)
    if number is not None:
        return (0, number)
    moment = _as_time(text)
    return (1, moment) if moment is not None else (2, text)


def cursor_text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value", value.get("datetime", value.get("date")))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def newer_than(values: pd.Series, cursor: str) -> pd.Series:
    """Which cursor values come at or after `cursor` (empty ones do not). Equal values are
    kept: a record written in the cursor's second after the last read is not lost; the
    boundary record read again is merged by its record id."""
    floor = cursor_key(cursor)
    keys = values.map(cursor_key)
    if floor is None:
        return keys.notna()
    return keys.map(lambda k: k is not None and not _after(floor, k)).astype(bool)


def _after(key: tuple[int, Any], floor: tuple[int, Any]) -> bool:
    if key[0] != floor[0]:
        return str(key[1]) > str(floor[1])
    return bool(key[1] > floor[1])


def latest(values: pd.Series, current: str | None) -> str | None:
    """The largest cursor value among `values` and `current`, as text the server accepts."""
    best_key = cursor_key(current) if current is not None else None
    best = current
    for value in values:
        key = cursor_key(value)
        if key is not None and (best_key is None or _after(key, best_key)):
            best_key, best = key, cursor_text(value)
    return best
