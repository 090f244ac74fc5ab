"""People identifiers: email addresses and the keys references to people are matched on."""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised, reasons

_EMAIL = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+$"


def _unwrap(text: pd.Series) -> pd.Series:
    """`mailto:`, `Jane Doe <JDoe@Example.com>` and `"jdoe@x.com"` → the bare address, lower."""
    lowered = text.str.lower()
    inner = lowered.str.extract(r"<([^<>]*)>\s*$")[0]
    lowered = inner.where(inner.notna(), lowered)
    return lowered.str.replace(r"^mailto:", "", regex=True).str.strip(" \"'")


def email(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    text = text_view(values)
    address = _unwrap(text)
    valid = address.str.match(_EMAIL).fillna(False).astype(bool)
    message = "'" + text.astype(object).astype(str) + "' is not an email address"
    return Normalised(to_object(address.where(valid)), reasons(text.notna() & ~valid, message))


def person_key(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """An email (lower case) when the value has an `@`, else a username: lower case with a
    Windows `DOMAIN\\` prefix removed (`CORP\\JDoe` → `jdoe`). Matched by reconciliation
    against people's `email`, then `username`."""
    text = text_view(values)
    has_at = text.str.contains("@", regex=False).fillna(False).astype(bool)
    address = _unwrap(text)
    valid = address.str.match(_EMAIL).fillna(False).astype(bool)
    username = text.str.lower().str.replace(r"^.*\\", "", regex=True).str.strip()
    out = username.where(~has_at, address.where(valid))
    message = "'" + text.astype(object).astype(str) + "' is not an email address"
    return Normalised(to_object(out.where(out != "")), reasons(has_at & ~valid, message))
