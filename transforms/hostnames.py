"""Host names: the short, lower-case name a machine calls itself."""

from __future__ import annotations

from functools import lru_cache

import idna
import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised, first_error, reasons

#: letters and digits of any script (internationalised names), `-` inside, `_` (Windows)
_LABEL = r"^\w(?:[\w-]{0,61}\w)?$"
_IPV4 = r"^\d{1,3}(?:\.\d{1,3}){3}$"


def hostname(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """`LT-0042.corp.example.com` → `lt-0042`; `CORP\\LT-0042` → `lt-0042`.

    Letters and digits of any script, `-` and `_` (Windows) are allowed, up to 63
    characters. The name is NFKC-normalised (full-width letters are plain ones) and lower-cased, and
    a punycode label is decoded (`xn--mller-pc-65a` → `müller-pc`), so every spelling of a
    name gives one key. Anything else, and an IPv4 address given as a host name, is a row
    error."""
    text = text_view(values)
    lowered = text.str.normalize("NFKC").str.lower().str.replace(r"^.*\\", "", regex=True).str.rstrip(".")
    is_ip = lowered.str.match(_IPV4).fillna(False).astype(bool)
    short = lowered.str.replace(r"\..*$", "", regex=True)
    punycode = short.str.startswith("xn--").fillna(False).astype(bool)
    if punycode.any():
        short = short.where(~punycode, short[punycode].map(_from_punycode).astype("str"))
    valid = short.str.match(_LABEL).fillna(False).astype(bool)
    shown = text.astype(object).astype(str)
    ip_error = reasons(is_ip, "'" + shown + "' is an IP address, not a host name")
    bad_error = reasons(
        text.notna() & ~valid & ~is_ip,
        "'" + shown + "' is not a valid host name (letters, digits, '-' and '_' only)",
    )
    out = short.where(valid & ~is_ip)
    return Normalised(to_object(out), first_error(ip_error, bad_error))


@lru_cache(maxsize=1 << 12)
def _from_punycode(label: str) -> str:
    """`xn--mller-pc-9db` → `müller-pc`; a label that is not valid punycode stays as it is."""
    try:
        return idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        return label
