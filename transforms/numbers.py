"""Plain numbers and whole numbers (counts, quantities); money has its own module."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view
from transforms.context import TransformContext
from transforms.result import Normalised, reasons

#: 1,234,567.89 style thousands separators (commas only; a lone "1,5" is not read)
_GROUPED = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"
#: the unified `int` column is 64-bit: |n| < 2^63 fits (as a float64, 2^63 itself does not)
_INT_LIMIT = 2.0**63


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(float64 numbers, text view, unreadable mask) for a raw column."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
        bad = pd.Series(False, index=values.index)
        return numbers, text_view(values), bad
    text = text_view(values)
    cleaned = text.str.replace(r"\s+", "", regex=True)
    grouped = cleaned.str.match(_GROUPED).fillna(False).astype(bool)
    cleaned = cleaned.where(~grouped, cleaned.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(cleaned.astype(object), errors="coerce").astype("float64")
    numbers = numbers.where(np.isfinite(numbers))
    bad = text.notna() & numbers.isna()
    return numbers, text, bad


def number(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    numbers, text, bad = parse_numbers(values)
    message = "cannot read '" + text.astype(object).astype(str) + "' as a number"
    return Normalised(numbers, reasons(bad, message))


def integer(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """Whole numbers up to ±2^63 (the unified `int` column); larger ones are row errors."""
    numbers, text, bad = parse_numbers(values)
    fractional = numbers.notna() & (numbers != np.round(numbers))
    too_large = numbers.abs() >= _INT_LIMIT
    shown = "'" + text.astype(object).astype(str) + "'"
    message = (shown + " is too large for a whole number").where(too_large, shown).astype(object)
    message = message.where(too_large, "cannot read " + message + " as a whole number")
    out = numbers.where(~fractional & ~too_large).round().astype("Int64")
    return Normalised(out, reasons(bad | fractional | too_large, message))
