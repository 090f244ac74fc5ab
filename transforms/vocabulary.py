"""Closed vocabularies: source words → one of a fixed set of unified values.

Words are matched case-insensitively after trimming, with `-`, `_` and runs of whitespace
treated as one space (`In-Use`, `in_use` and ` IN USE ` are the same word). Alias tables
are layered: built-in, then the config's aliases (`ctx.*_aliases`), then the mapping's
`values:` for that one field, later layers winning. An alias mapped to None (`values: {"n/a
- see notes": null}`) makes the word empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from transforms.cells import text_view, to_object
from transforms.result import Normalised, reasons

#: what an alias mapped to None becomes in a table built by `alias_table`
NULL_ALIAS = "\x00null"


def word_key(word: str) -> str:
    """The form words are compared in."""
    return " ".join(word.replace("-", " ").replace("_", " ").lower().split())


def word_keys(text: pd.Series) -> pd.Series:
    """`word_key` over a text column, vectorised."""
    lowered = text.str.lower().str.replace(r"[-_\s]+", " ", regex=True)
    return lowered.str.strip()


def alias_table(allowed: Iterable[str], *layers: Mapping[str, str | None] | None) -> dict[str, str]:
    """One lookup dict from the allowed values themselves and the alias layers."""
    table = {word_key(value): value for value in allowed}
    for layer in layers:
        for source, target in (layer or {}).items():
            table[word_key(str(source))] = NULL_ALIAS if target is None else str(target)
    return table


def translate(
    values: pd.Series,
    table: Mapping[str, str],
    allowed: Iterable[str],
    unknown_message: str,
    keys: pd.Series | None = None,
) -> Normalised:
    """Look every cell up in `table`. `unknown_message` is formatted with `{value}` per row
    for words not in the table. An alias whose target is not allowed is a row error too.
    `keys`: the lookup keys when the caller derived its own (default: `word_keys`)."""
    allowed = tuple(allowed)
    text = text_view(values)
    if len(text) <= SMALL:
        return _translate_rows(text, table, allowed, unknown_message, keys)
    found = (word_keys(text) if keys is None else keys).map(table)
    unknown = text.notna() & found.isna()
    nulls = found == NULL_ALIAS
    bad_target = found.notna() & ~nulls & ~found.isin(allowed)
    shown = text.astype(object).astype(str)
    head, _, tail = unknown_message.partition("{value}")
    errors = reasons(unknown, head + shown + tail)
    target_error = (
        "'" + shown + "' is mapped to '" + found.astype(object).astype(str) + "', which is not "
        "one of " + ", ".join(allowed)
    )
    errors = errors.where(~bad_target.to_numpy(), target_error)
    out = found.where(~nulls & ~bad_target).astype("str")
    return Normalised(to_object(out), errors.where(errors.notna(), None))


#: batches this small (a record read back after a write) are looked up row by row: the
#: vectorised path's fixed cost (~25 ms of pandas operations) dwarfs a few dict lookups
SMALL = 8


def _translate_rows(
    text: pd.Series,
    table: Mapping[str, str],
    allowed: tuple[str, ...],
    unknown_message: str,
    keys: pd.Series | None,
) -> Normalised:
    """`translate` for a few rows, with the same results."""
    head, _, tail = unknown_message.partition("{value}")
    out: list[str | None] = []
    errors: list[str | None] = []
    for i, cell in enumerate(text.tolist()):
        if not isinstance(cell, str):
            out.append(None)
            errors.append(None)
            continue
        key = keys.iloc[i] if keys is not None else word_key(cell)
        found = table.get(key) if isinstance(key, str) else None
        if found is None:
            out.append(None)
            errors.append(head + cell + tail)
        elif found == NULL_ALIAS:
            out.append(None)
            errors.append(None)
        elif found not in allowed:
            out.append(None)
            errors.append(f"'{cell}' is mapped to '{found}', which is not one of " + ", ".join(allowed))
        else:
            out.append(found)
            errors.append(None)
    return Normalised(
        pd.Series(out, index=text.index, dtype=object), pd.Series(errors, index=text.index, dtype=object)
    )
