"""Installed software and licensed products: one name per product, one per publisher.

`software_product` names a product the way licenses and installations can be matched on:

1. the whole name is looked up in the alias table (built-in, then the mapping's `values:`),
   which also knows Microsoft's SKU string ids and GUIDs (`SPE_E3`,
   `05e9a617-0261-4cee-bb44-138d3ef5d965` → `Microsoft 365 E3`);
2. else the noise installers add is stripped — a language tag (`Microsoft Visio - en-us`),
   architecture or edition notes in parentheses (`(x64 en-US)`, `(64-bit)`, `(Machine -
   MSI)`, a build number `(39959)`), a trailing version (`7-Zip 23.01`, `Microsoft Visual
   C++ 2015-2022 Redistributable (x64) - 14.38.33135`) — and the rest is looked up again;
3. a name in neither form is kept as stripped (years and plan numbers stay: `Office 2019`,
   `Exchange Online (Plan 1)`).

`publisher` is the manufacturer normaliser (legal suffixes, company aliases) with software
publishers added (`Zoom Video Communications, Inc.` → `Zoom`). `install_date` is a date with
the placeholders agents report for "unknown" made empty: the Unix epoch, Windows' FILETIME
zero (1601-01-01) and Android's system-image stamp (2009-01-01 UTC, 2008-12-31 west of it).
"""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import to_object
from transforms.context import TransformContext
from transforms.dates import date
from transforms.manufacturers import manufacturer
from transforms.result import Normalised
from transforms.software_aliases import BUILTIN_PRODUCT_ALIASES, BUILTIN_PUBLISHER_ALIASES
from transforms.text import clean_text
from transforms.vocabulary import NULL_ALIAS, alias_table, word_keys

_TOKEN = (
    r"(?:x86_64|x64|x86|amd64|arm64|ia32|64-bit|32-bit|machine|msi|per-user|user|remove only"
    r"|[a-z]{2}(?:-[a-z]{2,4})?|v?\d+(?:\.\d+)*)"
)
#: noise at the end of a name, removed in this order, up to three times over
_NOISE = (
    r"\s+-\s+[a-z]{2}-[a-z]{2,4}$",  # ` - en-us`
    rf"\s*\(\s*{_TOKEN}(?:[\s,-]+{_TOKEN})*\s*\)$",  # `(x64 en-US)`, `(Machine - MSI)`
    r"\s+(?:-\s+)?v?\d+(?:\.\d+)+[a-z0-9.+-]*$",  # ` 23.01`, ` - 14.38.33135`
)
#: install dates agents report when they do not know
PLACEHOLDER_INSTALL_DATES = ("1970-01-01", "1601-01-01", "2008-12-31", "2009-01-01")


def strip_noise(text: pd.Series) -> pd.Series:
    """Language tags, architecture notes and trailing versions removed from product names."""
    out = text
    for _ in range(3):
        before = out
        for pattern in _NOISE:
            out = out.str.replace(pattern, "", regex=True, case=False)
        out = out.str.strip(" -")
        if out.equals(before):
            break
    return out.where(out != "", text)


def software_product(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    table = alias_table((), BUILTIN_PRODUCT_ALIASES, mapping.values)
    text = clean_text(values)
    found = word_keys(text).map(table)
    stripped = strip_noise(text)
    found = found.where(found.notna(), word_keys(stripped).map(table))
    out = found.where(found.notna(), stripped)
    out = out.where(out != NULL_ALIAS)
    return Normalised.ok(to_object(out.astype("str")))


def publisher(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    aliases = {**BUILTIN_PUBLISHER_ALIASES, **(mapping.values or {})}
    return manufacturer(values, mapping.model_copy(update={"values": aliases}), ctx)


def install_date(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    result = date(values, mapping, ctx)
    placeholder = result.values.isin(pd.to_datetime(list(PLACEHOLDER_INSTALL_DATES)))
    return Normalised(result.values.mask(placeholder), result.errors, result.extra)
