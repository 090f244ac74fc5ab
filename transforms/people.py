"""People identifiers: email addresses and the keys references to people are matched on.

Addresses are checked and normalised by `email-validator` (RFC 5322 syntax, RFC 6531
internationalised local parts, IDNA domains), never deliverability. The canonical form, used
on every side of a match (`people.email`, `assets.assigned_to`, a license assignment's
person):

* the domain in its Unicode form as UTS-46 maps it: lower case, NFC, punycode decoded
  (`Example.COM` → `example.com`, `xn--mller-kva.de` and `MÜLLER.de` → `müller.de`);
* the local part lower-cased (Unicode-aware: `Müller` → `müller`) and NFC-normalised. RFC
  5321 lets a mail server treat `JDoe` and `jdoe` as two mailboxes, but no directory we read
  does, and people are matched across sources by this key;
* `Jane Doe <JDoe@Example.com>`, `mailto:` and surrounding quotes unwrapped.

Reserved private suffixes (`corp.local`, as Active Directory UPNs use) are accepted: they name
people inside an organisation even though mail cannot be delivered to them from outside.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import email_validator
import numpy as np
import pandas as pd
from email_validator import EmailNotValidError, validate_email

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised, reasons

_BRACKETED = re.compile(r"<([^<>]*)>\s*$")
#: plain lower-case ASCII addresses that email-validator accepts unchanged: checked here in
#: one vectorised pass (most cells), everything else goes through `canonical_email`
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE = rf"^{_ATOM}(?:\.{_ATOM})*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}$"
#: labels email-validator refuses (`ab--c`, RFC 5890) or decodes (`xn--`): left to it
_DASHES = r"[.@][a-z0-9]{2}--"
_MAX_ADDRESS, _MAX_LOCAL = 254, 64
#: special-use names email-validator refuses (`local`, `test`, …); checked under a stand-in
_RESERVED = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_STAND_IN = "example"


@lru_cache(maxsize=1 << 16)
def canonical_email(text: str) -> tuple[str | None, str | None]:
    """(the canonical address, None) or (None, why it is not an address) for one cell."""
    bare = _unwrap(text)
    if "@" not in bare:
        return None, f"'{text}' is not an email address (it has no @-sign)"
    lowered = unicodedata.normalize("NFC", bare.lower())
    local, _, domain = lowered.rpartition("@")
    reserved = next((r for r in _RESERVED if domain == r or domain.endswith("." + r)), None)
    checked = f"{local}@{domain[: -len(reserved)]}{_STAND_IN}" if reserved else lowered
    try:
        valid = validate_email(checked, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        why = str(exc).rstrip(".")
        return None, f"'{text}' is not an email address ({why[:1].lower()}{why[1:]})"
    address = valid.normalized
    if reserved:
        address = address.removesuffix(_STAND_IN) + reserved
    return address, None


def _unwrap(text: str) -> str:
    """`mailto:`, `Jane Doe <JDoe@Example.com>` and `"jdoe@x.com"` → the bare address."""
    inner = _BRACKETED.search(text)
    bare = inner.group(1) if inner else text
    bare = bare.strip()
    if bare[:7].lower() == "mailto:":
        bare = bare[7:].strip()
    while len(bare) > 1 and bare[0] == bare[-1] and bare[0] in "\"'":
        bare = bare[1:-1].strip()
    return bare


def _emails(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(canonical address or None, reason or None) per cell of a text view. Plain ASCII
    addresses are only lower-cased; each distinct other cell is checked once."""
    lowered = text.str.lower()
    simple = lowered.str.match(_SIMPLE).fillna(False).astype(bool)
    simple &= (lowered.str.len() <= _MAX_ADDRESS) & (lowered.str.find("@") <= _MAX_LOCAL)
    simple &= ~lowered.str.contains(_DASHES).fillna(False).astype(bool)
    address = to_object(lowered.where(simple)).to_numpy(dtype=object, copy=True)
    reason = np.full(len(text), None, dtype=object)
    rest = (~simple & text.notna()).to_numpy()
    if rest.any():
        cells = text[rest].astype(object).to_numpy()
        parsed = {cell: canonical_email(cell) for cell in set(cells)}
        address[rest] = [parsed[cell][0] for cell in cells]
        reason[rest] = [parsed[cell][1] for cell in cells]
    return pd.Series(address, index=text.index, dtype=object), pd.Series(
        reason, index=text.index, dtype=object
    )


def email(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    address, reason = _emails(text_view(values))
    return Normalised(address, reasons(reason.notna(), reason))


def person_key(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """An email (canonical, as `email` gives it) when the value has an `@`, else a username:
    lower case with a Windows `DOMAIN\\` prefix removed (`CORP\\JDoe` → `jdoe`). Matched by
    reconciliation against people's `email`, then `username`."""
    text = text_view(values)
    has_at = text.str.contains("@", regex=False).fillna(False).astype(bool)
    address, reason = _emails(text.where(has_at))
    username = to_object(text.str.lower().str.replace(r"^.*\\", "", regex=True).str.strip())
    out = username.where(~has_at, address)
    out = out.where(out.notna() & (out != ""), None)
    return Normalised(out, reasons(reason.notna(), reason))
