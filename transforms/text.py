"""Free text: trimmed, inner whitespace collapsed, empty → null; upper- and lower-case variants."""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised


def clean_text(values: pd.Series) -> pd.Series:
    """Text view with runs of whitespace collapsed to one space (pandas `str` dtype)."""
    return text_view(values).str.replace(r"\s+", " ", regex=True)


def text(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    return Normalised.ok(to_object(clean_text(values)))


def upper(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    return Normalised.ok(to_object(clean_text(values).str.upper()))


def lower(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    return Normalised.ok(to_object(clean_text(values).str.lower()))
