"""Identifiers printed on the hardware: serial numbers and inventory asset tags."""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised, reasons

#: serials firmware and vendors report when there is none, compared upper case with
#: everything but letters and digits (of any script) removed (`To Be Filled By O.E.M.` → TOBEFILLEDBYOEM)
PLACEHOLDER_SERIALS = frozenset(
    {
        "NOTSPECIFIED",
        "TOBEFILLEDBYOEM",
        "TOBEFILLEDBYOEM1",
        "TBDBYODM",
        "TBD",
        "NOTAVAILABLE",
        "NOTAPPLICABLE",
        "NOTSUPPORTED",
        "NOTSUPPORTEDBYCPU",
        "NOTPRESENT",
        "NONE",
        "NA",
        "NULL",
        "NIL",
        "EMPTY",
        "UNKNOWN",
        "INVALID",
        "DEFAULT",
        "DEFAULTSTRING",
        "OEM",
        "OEMDEFINE",
        "SYSTEMSERIALNUMBER",
        "CHASSISSERIALNUMBER",
        "BASEBOARDSERIALNUMBER",
        "SERIALNUMBER",
        "SERIAL",
        "SN",
        "NOSERIAL",
        "NOSERIALNUMBER",
        "NODIMM",
        "NOENCLOSURE",
        "0123456789",
        "123456789",
        "1234567890",
        "12345678",
        "1234567",
        "123456",
        "ABCDEFGHIJ",
    }
)
#: patterns of placeholders: one repeated character (0000000, XXXXXXXXXX), numbered
#: fixture names (SerNum0, SerNum01)
_PLACEHOLDER_PATTERN = r"^(?:SERNUM\d*|OEMDEFINE\d*|TOBEFILLEDBYOEM\d*)$"
#: Excel always writes the exponent's sign (`1.23457E+11`): `1234E567` is a real serial
_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?E\+\d+$"


def _scientific_errors(text: pd.Series, what: str) -> pd.Series:
    mangled = text.str.upper().str.match(_SCIENTIFIC).fillna(False).astype(bool)
    message = (
        f"{what} '"
        + text.astype(object).astype(str)
        + "' was mangled by Excel into scientific notation; re-export the column as text"
    )
    return reasons(mangled, message)


def serial(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """Trimmed, upper case, inner spaces and the dots Dell boards wrap serials in
    (`..CN7016346K000G.`) removed; placeholders → null."""
    text = text_view(values)
    errors = _scientific_errors(text, "serial")
    upper = text.str.upper().str.replace(r"\s+", "", regex=True).str.strip(".")
    key = upper.str.replace(r"[\W_]", "", regex=True)  # letters and digits of any script
    placeholder = key.isin(PLACEHOLDER_SERIALS) | key.str.match(_PLACEHOLDER_PATTERN).fillna(False).astype(
        bool
    )
    placeholder |= (key == "") | (key.str[1:] == key.str[:-1])  # one repeated character
    out = upper.where(~placeholder & errors.isna())
    return Normalised(to_object(out), errors)


def asset_tag(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """Trimmed, upper case, inner whitespace collapsed; leading zeros kept; the `1234.0` that
    Excel makes of a numeric tag → `1234`."""
    text = text_view(values)
    errors = _scientific_errors(text, "asset tag")
    out = text.str.upper().str.replace(r"\s+", " ", regex=True)
    out = out.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return Normalised(to_object(out.where(errors.isna())), errors)
