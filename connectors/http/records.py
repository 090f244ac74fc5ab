"""From a JSON answer to a raw frame: the record path, flattening, and cursor comparisons.

Nested objects are flattened to dotted column names (`status_label.name`,
`assigned_to.email.value`), so mappings can name any leaf. Date objects (`{date, formatted}`,
`{datetime, formatted}`) are also kept whole under their own name for the `date` transform.
Lists stay lists (MAC addresses, service plans). When the connector knows the columns a
stream needs (its mappings, id, cursor), `to_frame(..., only=True)` picks just those out of
each record (`pluck`: the value `flatten` would give) instead of flattening every leaf.
Cursor comparisons run on whole columns when they hold only numbers or only ISO times.
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
            if _is_date_object(value):
                out[name] = value
            flatten(value, name + ".", out)
        else:
            out[prefix + key] = value
    return out


def _is_date_object(value: dict[str, Any]) -> bool:
    return len(value) == 2 and "formatted" in value and ("date" in value or "datetime" in value)


def pluck(record: dict[str, Any], column: str) -> Any:
    """The value `flatten(record)` gives `column`, without flattening the rest; `_MISSING`
    when the flattened record has no such column. A key may contain dots (`parent.profile.email`
    from a flattened parent, `@odata.type`)."""
    value = record.get(column, _MISSING)
    if value is not _MISSING:
        if type(value) is not dict:
            return value
        if _is_date_object(value):
            return value
    head, dot, rest = column.partition(".")
    while dot:
        child = record.get(head)
        if type(child) is dict:
            found = pluck(child, rest)
            if found is not _MISSING:
                return found
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return _MISSING


def column_values(records: list[dict[str, Any]], column: str) -> list[Any]:
    """`pluck` over the records; the usual shapes (`id`, `model.name`) walked inline."""
    parts = column.split(".")
    if len(parts) == 1:
        values = [r.get(column, _MISSING) for r in records]
    elif len(parts) == 2:
        outer, inner = parts
        values = [
            node.get(inner, _MISSING) if type(node := r.get(outer)) is dict else _MISSING for r in records
        ]
    else:
        return [pluck(r, column) for r in records]
    # what the inline walk cannot settle: a dict (a date object or not) or a miss that a
    # dotted key may answer
    return [
        v if v is not _MISSING and (type(v) is not dict or _is_date_object(v)) else pluck(r, column)
        for v, r in zip(values, records, strict=True)
    ]


def _frame_of(records: list[dict[str, Any]], columns: list[str]) -> tuple[pd.DataFrame, dict[str, list[Any]]]:
    """The frame of only `columns` (those no record has left out), built column by column,
    and each column's values with None where a record has none."""
    data: dict[str, list[Any]] = {}
    present: dict[str, list[Any]] = {}
    for column in dict.fromkeys(columns):
        values = column_values(records, column)
        if values.count(_MISSING) == len(values):
            continue
        data[column] = [math.nan if v is _MISSING else v for v in values]
        present[column] = [None if v is _MISSING else v for v in values]
    return pd.DataFrame(data, index=pd.RangeIndex(len(records))), present


def to_frame(
    records: list[dict[str, Any]], columns: Iterable[str] = (), *, only: bool = False
) -> pd.DataFrame:
    """Flattened records; `columns` (the ones the mappings name) exist even when no record
    has them, as APIs leave out empty values. `only`: just these columns, picked out of each
    record instead of flattening all of it."""
    columns = list(columns)
    if only and any(flatten(r) for r in records):  # (records without a leaf: as before)
        frame, present = _frame_of(records, columns)
        for column in frame.columns:
            if frame[column].dtype.kind == "f" and frame[column].isna().any():
                _keep_integers(frame, column, present[column])
    else:
        flat = [flatten(r) for r in records]
        frame = pd.DataFrame.from_records(flat) if records else pd.DataFrame()
        for column in frame.columns:
            if frame[column].dtype.kind == "f" and frame[column].isna().any():
                _keep_integers(frame, column, [r.get(column) for r in flat])
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    return frame


def _keep_integers(frame: pd.DataFrame, column: str, values: list[Any]) -> None:
    """pandas turns a column of JSON integers with gaps into float64, which loses digits past
    2^53 (and prints ids as `1e+17`): keep such a column as Python ints and None instead."""
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


#: ISO 8601 text that `datetime.fromisoformat` and pandas read alike (to the microsecond)
_ISO_TIME = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?"


def _fast_keys(values: pd.Series) -> tuple[int, pd.Series] | None:
    """The cursor keys of a whole column at once, when all its values are of one kind:
    (0, float64) for numbers, (1, UTC datetimes) for ISO times; NaN/NaT where empty. None
    for anything else (mixed kinds, dicts, other text), which `cursor_key` reads value by value."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if pd.api.types.is_numeric_dtype(values.dtype):
        return 0, values.astype("float64")
    if isinstance(values.dtype, pd.StringDtype):
        kind = "string"
    elif values.dtype != object:
        return None
    else:
        kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float"):
        if any(isinstance(v, bool) for v in values):
            return None
        return 0, pd.to_numeric(values, errors="coerce").astype("float64")
    if kind != "string":
        return None
    text = values.str.strip()
    present = values.notna() & (text != "")
    if not text[present].str.fullmatch(_ISO_TIME).all():
        return None
    times = pd.to_datetime(text.where(present), format="ISO8601", utc=True, errors="coerce")
    if times[present].isna().any():  # `2024-13-45`: text to `cursor_key`
        return None
    return 1, times


def newer_than(values: pd.Series, cursor: str) -> pd.Series:
    """Which cursor values come at or after `cursor` (empty ones do not). Equal values are
    kept: a record written in the cursor's second after the last read is not lost; the
    boundary record read again is merged by its record id."""
    floor = cursor_key(cursor)
    fast = _fast_keys(values)
    if fast is not None and (floor is None or floor[0] == fast[0]):
        kind, keys = fast
        if floor is None:
            return keys.notna()
        bound = floor[1] if kind == 0 else pd.Timestamp(floor[1])
        return (keys >= bound).fillna(False).astype(bool)
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
    fast = _fast_keys(values)
    if fast is not None and (best_key is None or best_key[0] == fast[0]):
        kind, keys = fast
        if keys.notna().any():
            position = int(keys.reset_index(drop=True).idxmax())  # the first of the largest
            top = keys.iloc[position]
            top_key = (kind, float(top) if kind == 0 else top.to_pydatetime())
            if best_key is None or _after(top_key, best_key):
                return cursor_text(values.iloc[position])
        return best
    for value in values:
        key = cursor_key(value)
        if key is not None and (best_key is None or _after(key, best_key)):
            best_key, best = key, cursor_text(value)
    return best
