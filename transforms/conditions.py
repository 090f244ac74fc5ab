"""`when:` conditions evaluated over a whole batch: one boolean per row, no loop over rows."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from connectors.fields import Condition, match_key
from transforms.cells import text_view


def holds(condition: Condition, raw: pd.DataFrame, fields: Mapping[str, pd.Series]) -> np.ndarray:
    """Where `condition` is true, positionally over `raw`'s rows. `fields`: the values of
    the unified fields mapped so far (same rows), for `{field: ...}` tests."""
    if condition.not_ is not None:
        return ~holds(condition.not_, raw, fields)
    if condition.any is not None:
        return np.logical_or.reduce([holds(c, raw, fields) for c in condition.any])
    if condition.all is not None:
        return np.logical_and.reduce([holds(c, raw, fields) for c in condition.all])
    subject = raw[condition.column] if condition.column is not None else fields[condition.field or ""]
    text = text_view(subject.reset_index(drop=True))
    if condition.is_empty is not None:
        empty = text.isna().to_numpy()
        return empty if condition.is_empty else ~empty
    if condition.matches is not None:
        with warnings.catch_warnings():  # groups in a pattern are fine: only "found or not" matters
            warnings.filterwarnings(
                "ignore", "This pattern is interpreted as a regular expression", UserWarning
            )
            found = text.str.contains(condition.matches, regex=True, flags=re.IGNORECASE)
    else:
        wanted = {match_key(w) for w in ([condition.eq] if condition.eq is not None else condition.in_ or [])}
        found = text.str.casefold().isin(wanted) & text.notna()
    return found.fillna(False).to_numpy(dtype=bool)
