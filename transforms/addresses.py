"""Network addresses: lists of MAC and IP addresses from one cell.

A cell may hold one address, several separated by `,` `;` `|` or whitespace, or a list
(JSON APIs). The result per row is a Python list of canonical strings in first-seen order
without duplicates, or None when nothing is left.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import EMPTY_TOKENS, cell_text, text_view
from transforms.context import TransformContext
from transforms.result import Normalised, no_errors, reasons

_SPLIT = r"[,;|\s]+"
_IPV4 = r"^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$"
_MAC_FORMS = (
    r"^(?:[0-9a-f]{1,2}([:-]))(?:[0-9a-f]{1,2}\1){4}[0-9a-f]{1,2}$"  # aa:bb:.., 0:1b:.., aa-bb-..
    r"|^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$"  # aabb.ccdd.eeff (Cisco)
    r"|^[0-9a-f]{12}$"
)
_PAIRS = r"^(..)(..)(..)(..)(..)(..)$"
#: a lone hex digit between separators (`0:1b:…`, as Linux and macOS print): zero-padded
_LONE_HEX = r"(?<![0-9a-f])([0-9a-f])(?![0-9a-f])"
#: six space-separated pairs (`00 1B 63 84 45 E6`) are one MAC, not six tokens
_SPACED_MAC = r"(?i)(?<![0-9a-f])(?:[0-9a-f]{2} ){5}[0-9a-f]{2}(?![0-9a-f])"
#: MACs that identify nothing: the null address and broadcast
IGNORED_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})


def mac_list(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """`AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `aabbccddeeff`, `0:1b:…` (1 or 2 digits a group),
    `AA BB CC DD EE FF` → `aa:bb:cc:dd:ee:ff`."""

    def canonical(tokens: pd.Series) -> pd.Series:
        lowered = tokens.str.lower()
        valid = lowered.str.match(_MAC_FORMS).fillna(False).astype(bool)
        padded = lowered.str.replace(_LONE_HEX, r"0\1", regex=True)
        hexes = padded.str.replace(r"[:.-]", "", regex=True)
        joined = hexes.str.replace(_PAIRS, r"\1:\2:\3:\4:\5:\6", regex=True)
        return joined.where(valid)

    text = text_view(_flatten_lists(values))
    spaced = text.str.contains(_SPACED_MAC, regex=True).fillna(False).astype(bool)
    if spaced.any():
        text = text.where(
            ~spaced, text.str.replace(_SPACED_MAC, lambda m: m.group(0).replace(" ", ":"), regex=True)
        )
    return _address_list(text, canonical, IGNORED_MACS, "a MAC address")


def ip_list(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    """IPv4 and IPv6 in compressed form; a `/prefix` or `%zone` suffix is dropped; the
    unspecified (0.0.0.0, ::) and loopback (127.0.0.0/8, ::1) addresses are left out."""

    def canonical(tokens: pd.Series) -> pd.Series:
        out = pd.Series(np.nan, index=tokens.index, dtype="str")
        # plain dotted quads (the common case) are checked with vectorised arithmetic
        quad = tokens.str.match(_IPV4).fillna(False).astype(bool)
        if quad.any():
            octets = tokens[quad].str.split(".", expand=True).astype("int64")
            in_range = (octets <= 255).all(axis=1)
            skip = (octets[0] == 127) | (octets == 0).all(axis=1)
            out[quad] = tokens[quad].where(in_range).where(~skip, "")
        rest = tokens[~quad]
        if len(rest):
            lookup = {token: _ip(token) for token in rest.unique()}
            out[~quad] = rest.map(lookup).astype("str")
        return out

    return _address_list(values, canonical, frozenset({"0.0.0.0", "::"}), "an IP address")


def _ip(token: str) -> str | None:
    bare = token.split("%", 1)[0]
    try:
        address = ipaddress.ip_interface(bare).ip
    except ValueError:
        return None
    if address.is_unspecified or address.is_loopback:
        return ""
    return str(address)


def _address_list(
    values: pd.Series,
    canonical: Callable[[pd.Series], pd.Series],
    ignored: frozenset[str],
    what: str,
) -> Normalised:
    text = text_view(_flatten_lists(values))
    several = text.str.contains(_SPLIT, regex=True).fillna(False).astype(bool)
    # cells with one address (most) skip the explode/group-by round trip
    single = text[text.notna() & ~several]
    exploded = text[several].str.split(_SPLIT).explode()
    exploded = exploded[exploded.notna() & ~exploded.str.lower().isin(EMPTY_TOKENS)]
    tokens = pd.concat([single, exploded.astype("str")])
    normal = canonical(tokens)
    invalid = normal.isna()
    message = no_errors(values.index)
    bad_tokens = tokens[invalid]
    if len(bad_tokens):
        first_bad = bad_tokens.groupby(level=0, sort=False).first()
        text_bad = "'" + first_bad.astype(object) + f"' is not {what}"
        message[first_bad.index] = text_bad.to_numpy()
    keep = ~invalid & ~normal.isin(ignored) & (normal != "")
    cells = np.full(len(values), None, dtype=object)
    n_single = len(single)
    singles = normal.iloc[:n_single][keep.iloc[:n_single].to_numpy()]
    cells[values.index.get_indexer(singles.index)] = [[v] for v in singles.to_numpy()]
    kept = normal.iloc[n_single:][keep.iloc[n_single:].to_numpy()]
    kept = kept[~_pair_duplicated(kept)]
    if len(kept):
        lists = kept.astype(object).groupby(level=0, sort=False).agg(list)
        cells[values.index.get_indexer(lists.index)] = lists.to_numpy()
    cells[message.notna().to_numpy()] = None
    out = pd.Series(cells, index=values.index, dtype=object)
    return Normalised(out, reasons(message.notna(), message))


def _pair_duplicated(kept: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"row": kept.index, "value": kept.to_numpy()})
    return pd.Series(frame.duplicated().to_numpy(), index=kept.index)


def _flatten_lists(values: pd.Series) -> pd.Series:
    """Lists and tuples in cells → space-separated text (other cells unchanged)."""
    if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) == "string":
        return values
    return values.map(
        lambda v: " ".join(filter(None, map(cell_text, v))) if isinstance(v, list | tuple) else v
    )
