"""Yes/no flags as spreadsheets, CSV exports and APIs spell them."""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view
from transforms.context import TransformContext
from transforms.result import Normalised, reasons

TRUE_WORDS = ("true", "t", "yes", "y", "1", "on", "x", "enabled", "active")
FALSE_WORDS = ("false", "f", "no", "n", "0", "off", "disabled", "inactive")
_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


def boolean(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    text = text_view(values)
    words = text.str.lower()
    out = words.map(_WORDS).astype("boolean")
    bad = text.notna() & out.isna()
    message = (
        "cannot read '"
        + text.astype(object).astype(str)
        + "' as yes/no (expected true/false, yes/no, y/n or 1/0)"
    )
    return Normalised(out, reasons(bad, message))
