"""Dates and timestamps in the shapes sources write them.

Accepted, in the order tried on each still-unread value:

1. `mapping.format` (a strptime format), when given;
2. Python `date`/`datetime`/`pd.Timestamp` objects (openpyxl), datetime64 columns;
3. Snipe-IT `{"date": "2023-01-23", "formatted": "01/23/2023"}` objects (`datetime` key for
   timestamps) and their JSON text;
4. numbers and numeric text: an Excel serial (1900 system, day 0 = 1899-12-30) when between
   20000 and 80000 (1954-2119) or when `mapping.format == "excel"`; for timestamps also Unix
   epoch seconds (≥ 1e8) and milliseconds (≥ 1e11); `YYYYMMDD` digits;
5. ISO 8601 dates and datetimes (`2024-01-15`, `2024-01-15T10:00:00Z`, `2024-01-15 10:00:00`,
   `2024/01/15`);
6. `M/D/YY`, `MM/DD/YYYY` (US, the Snipe-IT/Excel export default) or `D/M/YYYY` when
   `mapping.day_first`; `-` works as separator too; dotted `15.01.2024` is always D.M.Y.
   An optional time (`10:15`, `10:15:30 PM`) may follow;
7. month names: `15 Jan 2024`, `Jan 15, 2024`, `15-Jan-2024`, `January 15, 2024`.

Two-digit years pivot like Excel: 00-29 → 2000s, 30-99 → 1900s.

`date` gives `datetime64[s]` at midnight, the wall-clock date as written (an offset does not
move it). `timestamp` gives `datetime64[us, UTC]`: naive values are taken as UTC, offsets and
`Z` honoured.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import EMPTY_TOKENS, is_missing, text_view
from transforms.context import TransformContext
from transforms.result import Normalised, reasons

EXCEL_EPOCH = np.datetime64("1899-12-30", "us")
EXCEL_PLAUSIBLE = (20000, 80000)
_DAY_US = 86_400_000_000
_NAT = np.datetime64("NaT", "us")

_SLASHED = re.compile(
    r"^(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?)?$"
)
_ISO = r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:$|[ T])"
_NUMERIC = r"^[+-]?\d+(?:\.\d+)?$"
_COMPACT = r"^(?:19|20|21)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$"
_NAMED_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%a, %d %b %Y %H:%M:%S",
)


def date(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    parsed, text, bad = _parse(values, mapping, with_time=False)
    days = parsed.astype("datetime64[us]").dt.floor("D").astype("datetime64[s]")
    return Normalised(days, reasons(bad, _message(text, mapping, "a date")))


def timestamp(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    parsed, text, bad = _parse(values, mapping, with_time=True)
    out = parsed.astype("datetime64[us]").dt.tz_localize("UTC")
    return Normalised(out, reasons(bad, _message(text, mapping, "a timestamp")))


def _message(text: pd.Series, mapping: FieldMapping, what: str) -> pd.Series:
    order = "D/M/YY, DD/MM/YYYY" if mapping.day_first else "M/D/YY, MM/DD/YYYY"
    expected = f"{order}, ISO 8601, an Excel serial or a {{date, formatted}} object"
    if mapping.format and mapping.format != "excel":
        expected = f"format {mapping.format}, " + expected
    return "cannot read '" + text.astype(object).astype(str) + f"' as {what} (expected {expected})"


def _parse(
    values: pd.Series, mapping: FieldMapping, *, with_time: bool
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(naive datetime64[us] — UTC for timestamps, wall clock for dates —, text, bad mask)."""
    index = values.index
    raw = values.reset_index(drop=True)
    if raw.dtype == object:
        raw = _unwrap_date_objects(raw, with_time)
    out = np.full(len(raw), _NAT, dtype="datetime64[us]")
    text = text_view(raw)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        out[:] = _from_datetime64(raw, with_time).to_numpy()
    elif pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        out[:] = _from_numbers(raw.astype("float64"), mapping, with_time).to_numpy()
    else:
        if raw.dtype == object and pd.api.types.infer_dtype(raw, skipna=True) not in (
            "string",
            "empty",
        ):
            text = _read_objects(raw, text, out, mapping, with_time)
        text = _read_text(text, out, mapping, with_time)
    parsed = pd.Series(out, index=index)
    text.index = index
    bad = text.notna() & parsed.isna()
    return parsed, text, bad


def _unwrap_date_objects(raw: pd.Series, with_time: bool) -> pd.Series:
    """`{date, formatted}` objects → their date text (None when they hold none) before any
    text conversion, so they are not written out as JSON to be parsed back. Other objects
    stay as they are: read (and reported) one by one below."""
    values = raw.tolist()
    if not any(isinstance(v, dict) for v in values):
        return raw
    return pd.Series([_unwrapped(v, with_time) for v in values], index=raw.index, dtype=object)


def _unwrapped(value: Any, with_time: bool) -> Any:
    if not isinstance(value, dict):
        return value
    found = _dict_date(value, with_time)
    return value if found is None else (found or None)


def _read_objects(
    raw: pd.Series, text: pd.Series, out: np.ndarray, mapping: FieldMapping, with_time: bool
) -> pd.Series:
    """Fill `out` from date objects and numbers; turn dicts into their date text.

    Returns the text still to read (NaN where done)."""
    kinds = raw.map(_kind)
    stamps = kinds == "datetime"
    if stamps.any():
        unique = pd.Series(raw[stamps].unique())
        converted = unique.map(lambda v: _object_stamp(v, with_time))
        lookup = dict(zip(unique, converted, strict=True))
        out[stamps.to_numpy()] = pd.to_datetime(raw[stamps].map(lookup)).to_numpy(dtype="datetime64[us]")
    numbers = kinds == "number"
    if numbers.any():
        out[numbers.to_numpy()] = _from_numbers(raw[numbers].astype("float64"), mapping, with_time).to_numpy()
    dicts = kinds == "dict"
    done = stamps | (numbers & pd.notna(out))
    text = text.where(~done)
    if dicts.any():
        key = raw[dicts].map(lambda v: _dict_date(v, with_time))
        text = _replace(text, dicts, key)
    return text


def _replace(text: pd.Series, where: pd.Series, found: pd.Series) -> pd.Series:
    """Put the date text found inside objects in place of their JSON text ("" → empty)."""
    text = text.astype(object)
    text[where] = found.where(found.notna(), text[where]).to_numpy()
    text = text.astype("str")
    return text.where(text != "")


def _kind(value: Any) -> str:
    if is_missing(value):
        return "missing"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool | np.bool_):
        return "text"
    if isinstance(value, dt.date | np.datetime64):
        return "datetime"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, dict):
        return "dict"
    return "text"


def _object_stamp(value: Any, with_time: bool) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC") if with_time else stamp
        stamp = stamp.tz_localize(None)
    return stamp


def _dict_date(value: dict[str, Any], with_time: bool) -> str | None:
    """The date text of a `{date, formatted}` object; "" when it holds no date (Snipe-IT
    sends `{"date": null, "formatted": null}`); None when it is not such an object."""
    keys = ("datetime", "date", "formatted") if with_time else ("date", "datetime", "formatted")
    for key in keys:
        found = value.get(key)
        if isinstance(found, str) and found.strip().lower() not in EMPTY_TOKENS:
            return found.strip()
    return "" if any(key in value for key in keys) else None


def _from_datetime64(raw: pd.Series, with_time: bool) -> pd.Series:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raw = raw.dt.tz_convert("UTC") if with_time else raw
        raw = raw.dt.tz_localize(None)
    return raw.astype("datetime64[us]")


def _from_numbers(numbers: pd.Series, mapping: FieldMapping, with_time: bool) -> pd.Series:
    """Excel serials (and epoch seconds/millis for timestamps) → datetime64[us]."""
    x = numbers.to_numpy(dtype="float64")
    out = np.full(len(x), _NAT, dtype="datetime64[us]")
    finite = np.isfinite(x)
    low, high = EXCEL_PLAUSIBLE
    if mapping.format == "excel":
        serial = finite & (x >= 1) & (x < 2_958_466)
    else:
        serial = finite & (x >= low) & (x <= high)
    if with_time and mapping.format != "excel":
        millis = finite & (np.abs(x) >= 1e11) & (np.abs(x) < 1e14)
        seconds = finite & ~serial & ~millis & (np.abs(x) >= 1e8) & (np.abs(x) < 1e11)
        out[millis] = (x[millis] * 1000).round().astype("int64").astype("datetime64[us]")
        out[seconds] = (x[seconds] * 1e6).round().astype("int64").astype("datetime64[us]")
    micros = (x[serial] * _DAY_US).round().astype("int64").astype("timedelta64[us]")
    out[serial] = EXCEL_EPOCH + micros
    return pd.Series(out, index=numbers.index)


def _read_text(text: pd.Series, out: np.ndarray, mapping: FieldMapping, with_time: bool) -> pd.Series:
    """Fill `out` (positional) from the text column, each rule on what is still unread.

    Returns the text (JSON objects replaced by their date text)."""

    def todo() -> pd.Series:
        return text.notna() & pd.isna(out)

    if mapping.format and mapping.format != "excel":
        pending = todo()
        if pending.any():
            _fill(out, pending, _strptime(text[pending], mapping.format, with_time))
    pending = todo() & text.str.startswith("{").fillna(False).astype(bool)
    if pending.any():
        text = _replace(text, pending, text[pending].map(lambda v: _json_date(v, with_time)))
    pending = todo() & text.str.match(_COMPACT).fillna(False).astype(bool)
    if pending.any():
        _fill(out, pending, _strptime(text[pending], "%Y%m%d", with_time))
    pending = todo() & text.str.match(_NUMERIC).fillna(False).astype(bool)
    if pending.any():
        numbers = pd.to_numeric(text[pending].astype(object), errors="coerce").astype("float64")
        _fill(out, pending, _from_numbers(numbers, mapping, with_time))
    pending = todo() & text.str.match(_ISO).fillna(False).astype(bool)
    if pending.any():
        _fill(out, pending, _iso(text[pending].str.replace("/", "-", regex=False), with_time))
    pending = todo()
    if pending.any():
        _fill(out, pending, _slashed(text[pending], mapping.day_first, with_time))
    for fmt in _NAMED_FORMATS:
        pending = todo()
        if not pending.any():
            break
        _fill(out, pending, _strptime(text[pending], fmt, with_time))
    return text


def _fill(out: np.ndarray, where: pd.Series, parsed: pd.Series) -> None:
    positions = np.flatnonzero(where.to_numpy())
    out[positions] = parsed.to_numpy(dtype="datetime64[us]")


def _json_date(value: str, with_time: bool) -> str | None:
    try:
        loaded = json.loads(value)
    except ValueError:
        return None
    return _dict_date(loaded, with_time) if isinstance(loaded, dict) else None


def _strptime(text: pd.Series, fmt: str, with_time: bool) -> pd.Series:
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:  # mixed offsets
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    return _naive(parsed, with_time)


def _iso(text: pd.Series, with_time: bool) -> pd.Series:
    if not with_time:
        head = text.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
        return _assemble(head[0], head[1], head[2])
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    return _naive(parsed, with_time)


def _naive(parsed: pd.Series, with_time: bool) -> pd.Series:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC") if with_time else parsed
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype("datetime64[us]")


def _slashed(text: pd.Series, day_first: bool, with_time: bool) -> pd.Series:
    parts = text.str.extract(_SLASHED)
    dotted = parts["sep"] == "."
    first = dotted | day_first
    day = parts["a"].where(first, parts["b"])
    month = parts["b"].where(first, parts["a"])
    year = pd.to_numeric(parts["y"], errors="coerce")
    two_digit = parts["y"].str.len() == 2
    year = year.where(~two_digit, year + np.where(year < 30, 2000, 1900))
    stamps = _assemble(year, month, day)
    if with_time:
        hour = pd.to_numeric(parts["h"], errors="coerce").fillna(0)
        ampm = parts["ampm"].str.lower()
        bad_hour = ampm.notna() & ((hour < 1) | (hour > 12))
        hour = hour.where(~(ampm == "pm") | (hour == 12), hour + 12)
        hour = hour.where(~((ampm == "am") & (hour == 12)), 0)
        minute = pd.to_numeric(parts["mi"], errors="coerce").fillna(0)
        second = pd.to_numeric(parts["s"], errors="coerce").fillna(0)
        bad = bad_hour | (hour > 23) | (minute > 59) | (second > 59)
        offset = pd.to_timedelta(hour * 3600 + minute * 60 + second, unit="s")
        stamps = (stamps + offset.to_numpy()).where(~bad)
    return stamps


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(year, errors="coerce"),
            "month": pd.to_numeric(month, errors="coerce"),
            "day": pd.to_numeric(day, errors="coerce"),
        }
    )
    return pd.to_datetime(frame, errors="coerce").astype("datetime64[us]")
