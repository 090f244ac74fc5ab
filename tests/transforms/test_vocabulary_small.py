"""A few rows (a record read back after a write) are translated row by row; the answers are
those of the vectorised path, cell for cell, errors included."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.model import ASSET_STATUSES
from transforms import vocabulary
from transforms.statuses import BUILTIN_STATUS_ALIASES

TABLE = vocabulary.alias_table(ASSET_STATUSES, BUILTIN_STATUS_ALIASES, {"n/a": None, "odd": "not-a-status"})
CELLS = st.one_of(
    st.sampled_from([*BUILTIN_STATUS_ALIASES, "In-Use", " DEPLOYED ", "n/a", "odd", "", "  "]),
    st.none(),
    st.text(max_size=12),
    st.integers(0, 12),
    st.floats(allow_nan=True),
)


def _plain(values: pd.Series) -> list[Any]:
    return [None if v is None or v != v else v for v in values.tolist()]


@given(st.lists(CELLS, min_size=1, max_size=vocabulary.SMALL))
def test_row_by_row_answers_as_the_vectorised_path(cells: list[Any]) -> None:
    series = pd.Series(cells, dtype=object)
    small = vocabulary.translate(series, TABLE, ASSET_STATUSES, "unknown status '{value}'")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vocabulary, "SMALL", -1)
        big = vocabulary.translate(series, TABLE, ASSET_STATUSES, "unknown status '{value}'")
    assert _plain(small.values) == _plain(big.values)
    assert small.errors.tolist() == big.errors.tolist()
