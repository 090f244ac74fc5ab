"""The one column a normaliser reads for a field: a column, the first non-empty of several,
a template over several, or a constant — then, optionally, translated through a lookup.

Vectorised: coalescing and templates work a column at a time (a template once per pattern
of empty parts, of which a batch has a handful), lookups once per distinct value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping, Lookup, match_key, template_parts
from transforms.attributes import attribute_key
from transforms.cells import blank_mask, text_view, to_object
from transforms.result import no_errors, reasons

#: how many lookup keys an error message lists before `…`
_SHOWN_KEYS = 8


def field_input(raw: pd.DataFrame, mapping: FieldMapping, name: str) -> pd.Series:
    """The raw value column of one field mapping (before `when`, `lookup` and normalising).
    `name`: the normaliser, since `json` takes several columns as one object per row."""
    if mapping.column is not None:
        return raw[mapping.column]
    if mapping.template is not None:
        return template(raw, mapping.template)
    several = mapping.columns or mapping.coalesce
    if several:
        if name == "json" and mapping.columns:
            keyed = raw[several].rename(columns=attribute_key)
            return pd.Series(keyed.to_dict("records"), index=raw.index, dtype=object)
        return coalesce(raw, several)
    return pd.Series([mapping.value] * len(raw), index=raw.index, dtype=object)


def coalesce(raw: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, the first cell among `columns` that is not empty (by the shared empty rule)."""
    chosen = raw[columns[0]]
    for column in columns[1:]:
        chosen = chosen.astype(object).where(~blank_mask(chosen), raw[column].astype(object))
    return chosen


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
