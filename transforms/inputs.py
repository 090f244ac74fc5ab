"""The column a normaliser reads for a field: a column, a template over several, or a
constant — then, optionally, translated through a lookup.

Vectorised: a template is built a column at a time, once per pattern of empty parts (a
batch has a handful), and a lookup maps each distinct value once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping, Lookup, match_key, template_parts
from transforms.attributes import attribute_key
from transforms.cells import text_view, to_object
from transforms.result import no_errors, reasons

#: how many lookup keys an error message lists before `…`
_SHOWN_KEYS = 8


def field_input(raw: pd.DataFrame, mapping: FieldMapping, name: str) -> pd.Series:
    """The raw value column of a mapping that reads one value per row (before `when`,
    `lookup` and normalising): its column, its template, its columns as one object per row
    for the `json` normaliser, or its constant. (`coalesce` reads each column on its own.)"""
    if mapping.column is not None:
        return raw[mapping.column]
    if mapping.template is not None:
        return template(raw, mapping.template)
    if mapping.columns and name == "json":
        keyed = raw[mapping.columns].rename(columns=attribute_key)
        return pd.Series(keyed.to_dict("records"), index=raw.index, dtype=object)
    if mapping.columns or mapping.coalesce:
        return raw[(mapping.columns or mapping.coalesce or [])[0]]
    return pd.Series([mapping.value] * len(raw), index=raw.index, dtype=object)


def template(raw: pd.DataFrame, text: str) -> pd.Series:
    """`"{First Name} {Last Name}"` filled per row with the trimmed text of those columns.

    An empty part is left out with the text that follows it, so no separator is left
    dangling: between two values stands the text that followed the earlier one, the text
    before the first placeholder and after the last is kept, and a row whose parts are all
    empty gives None."""
    literals, columns = template_parts(text)
    parts = [text_view(raw[c].reset_index(drop=True)) for c in columns]
    present = np.column_stack([p.notna().to_numpy() for p in parts])
    patterns = present.astype(np.int64) @ (np.int64(1) << np.arange(len(parts), dtype=np.int64))
    out = np.full(len(raw), None, dtype=object)
    for pattern in np.unique(patterns[present.any(axis=1)]):
        rows = patterns == pattern
        kept = [i for i in range(len(parts)) if pattern >> i & 1]
        built = pd.Series(literals[0], index=np.flatnonzero(rows), dtype="str")
        for position, i in enumerate(kept):
            after = literals[-1] if position == len(kept) - 1 else literals[i + 1]
            built = built + parts[i][rows].set_axis(built.index) + after
        out[rows] = built.str.strip().to_numpy(dtype=object)
    series = pd.Series(out, index=raw.index, dtype=object)
    return series.where(series != "", None)


def apply_lookup(values: pd.Series, lookup: Lookup) -> tuple[pd.Series, pd.Series]:
    """(translated values — str or None —, a reason per row for values not in the table
    when the lookup has no `default`)."""
    text = text_view(values)
    table = {match_key(k, lookup.case_sensitive): v for k, v in lookup.table.items()}
    keys = text.str.strip() if lookup.case_sensitive else text.str.casefold()
    known = keys.isin(table.keys()).to_numpy()
    found = to_object(keys).map(table, na_action="ignore").astype(object)
    out = found.where(known, None)
    unknown = text.notna().to_numpy() & ~known
    if lookup.has_default:
        out[unknown] = lookup.default
        return out.where(out.notna(), None), no_errors(values.index)
    shown = ", ".join(list(lookup.table)[:_SHOWN_KEYS]) + (", …" if len(lookup.table) > _SHOWN_KEYS else "")
    message = (
        "'"
        + text.astype(object).astype(str)
        + f"' is not in this field's lookup table ({shown}); add it under lookup.table"
        " or give lookup.default"
    )
    return out.where(out.notna(), None), reasons(pd.Series(unknown, index=values.index), message)
