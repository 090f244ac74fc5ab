"""Host names: the short, lower-case name a machine calls itself."""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised, first_error, reasons

_LABEL = r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$"
_IPV4 = r"^\d{1,3}(?:\.\d{1,3}){3}$"


def hostname(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """`LT-0042.corp.example.com` → `lt-0042`; `CORP\\LT-0042` → `lt-0042`.

    Letters, digits, `-` and `_` (Windows) are allowed, up to 63 characters; anything else,
    and an IPv4 address given as a host name, is a row error."""
    text = text_view(values)
    lowered = text.str.lower().str.replace(r"^.*\\", "", regex=True).str.rstrip(".")
    is_ip = lowered.str.match(_IPV4).fillna(False).astype(bool)
    short = lowered.str.replace(r"\..*$", "", regex=True)
    valid = short.str.match(_LABEL).fillna(False).astype(bool)
    shown = text.astype(object).astype(str)
    ip_error = reasons(is_ip, "'" + shown + "' is an IP address, not a host name")
    bad_error = reasons(
        text.notna() & ~valid & ~is_ip,
        "'" + shown + "' is not a valid host name (letters, digits, '-' and '_' only)",
    )
    out = short.where(valid & ~is_ip)
    return Normalised(to_object(out), first_error(ip_error, bad_error))
