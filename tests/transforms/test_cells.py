from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from transforms.cells import blank_mask, text_view


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param(" a ", "a", id="trim"),
        pytest.param(1234.0, "1234", id="integral-float"),
        pytest.param(0.1, "0.1", id="float"),
        pytest.param(np.int64(5), "5", id="numpy-int"),
        pytest.param(True, "true", id="bool"),
        pytest.param(dt.date(2024, 1, 2), "2024-01-02", id="date"),
        pytest.param({"b": 1}, '{"b": 1}', id="dict"),
        pytest.param("N/A", None, id="n/a"),
        pytest.param("#N/A", None, id="excel-na"),
        pytest.param("none", None, id="none-word"),
        pytest.param(math.nan, None, id="nan"),
    ],
)
def test_text_view_of_mixed_column(cell, expected):
    view = text_view(pd.Series(["x", cell], dtype=object))
    out = view.iloc[1]
    assert (None if pd.isna(out) else out) == expected


def test_text_view_of_float_column():
    view = text_view(pd.Series([1234.0, np.nan, 1.25]))
    assert view.iloc[0] == "1234"
    assert pd.isna(view.iloc[1])
    assert view.iloc[2] == "1.25"


def test_blank_mask():
    cells = pd.Series(["", " ", "-", "null", "x", None, 0], dtype=object)
    assert blank_mask(cells).tolist() == [True, True, True, True, False, True, False]
