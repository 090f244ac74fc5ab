"""Raw cells as sources give them: which are empty, and their text.

Sources hand over columns of mixed Python values (str from CSV and JSON, float from Excel,
datetime from openpyxl, dict from REST APIs). Normalisers work on the text view of a column
and fall back to these helpers for the empty-cell rule shared by every field: None, NaN,
"", whitespace and the placeholders in `EMPTY_TOKENS` are null, never an error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd

#: cell text (after trimming, case-insensitive) that means "no value"
#: MySQL/MariaDB's zero dates (`0000-00-00`, non-strict modes) are "no date" too
EMPTY_TOKENS = frozenset(
    {"", "-", "--", "n/a", "#n/a", "null", "none", "nan", "nat"}
    | {"0000-00-00", "0000-00-00 00:00:00", "0000-00-00t00:00:00"}
)

TEXT = "str"
#: floats hold every integer exactly below 2^53
_EXACT = 2**53


def text_view(values: pd.Series) -> pd.Series:
    """The column as trimmed text (pandas `str` dtype); empty cells become NaN.

    Integral floats read from spreadsheets lose their `.0` (1234.0 → "1234"), dates become
    ISO text, dicts and lists JSON text.
    """
    text = _as_text(values)
    text = text.str.strip()
    return text.where(~text.str.lower().isin(EMPTY_TOKENS))


def blank_mask(values: pd.Series) -> pd.Series:
    """True where the cell is empty by the shared rule."""
    return text_view(values).isna()


def to_object(values: pd.Series) -> pd.Series:
    """A text column as object dtype holding str or None (the published string convention)."""
    out = values.astype(object)
    return out.where(values.notna(), None)


def _as_text(values: pd.Series) -> pd.Series:
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return values.astype(TEXT)
    if pd.api.types.is_bool_dtype(dtype):
        return values.map({True: "true", False: "false"}).astype(TEXT)
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return _numbers_as_text(values)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        text = values.map(lambda v: v.isoformat(), na_action="ignore")
        return text.astype(TEXT)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return values.astype(TEXT)
    return values.map(cell_text).astype(TEXT)


def _numbers_as_text(values: pd.Series) -> pd.Series:
    """Integers as their exact digits (int64 ids past 2^53 keep every digit); floats as the
    shortest text that reads back, integral ones below 2^53 without `.0`."""
    if pd.api.types.is_integer_dtype(values.dtype):
        if isinstance(values.dtype, np.dtype):  # numpy ints hold no missing value
            return values.astype(str).astype(TEXT)
        out = pd.Series(np.nan, index=values.index, dtype=TEXT)
        present = values.notna().to_numpy()
        if present.any():
            out[present] = [str(int(v)) for v in values[present]]
        return out
    numbers = values.astype("float64")
    out = pd.Series(np.nan, index=values.index, dtype=TEXT)
    finite = np.isfinite(numbers.to_numpy())
    integral = finite & (np.abs(numbers.to_numpy()) < _EXACT)
    integral &= numbers.to_numpy() == np.round(numbers.to_numpy())
    if integral.any():
        out[integral] = numbers[integral].astype("int64").astype(TEXT)
    other = finite & ~integral
    if other.any():
        out[other] = numbers[other].map(repr).astype(TEXT)
    return out


def cell_text(value: Any) -> str | None:
    """One raw cell as text (None when missing). Used for irregular object columns."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if math.isnan(value) or math.isinf(value):
            return None
        if float(value).is_integer() and abs(value) < _EXACT:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pd.NA (not for empty text)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
