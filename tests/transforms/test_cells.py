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


@pytest.mark.parametrize("dtype", ["int64", "Int64", "uint64"])
def test_text_view_of_integer_columns_keeps_every_digit(dtype):
    ids = [1234567890123456789, 9007199254740993, 100000000000000001, 7]
    assert text_view(pd.Series(ids, dtype=dtype)).tolist() == [
        "1234567890123456789",
        "9007199254740993",
        "100000000000000001",
        "7",
    ]


def test_text_view_of_nullable_integers_with_gaps():
    view = text_view(pd.Series([1234567890123456789, None], dtype="Int64"))
    assert view.iloc[0] == "1234567890123456789"
    assert pd.isna(view.iloc[1])


def test_integral_floats_below_2_53_print_without_a_fraction():
    view = text_view(pd.Series([1e15, 2.0**53 - 1, 12345678901234.0]))
    assert view.tolist() == ["1000000000000000", "9007199254740991", "12345678901234"]
    mixed = text_view(pd.Series(["x", 1e15], dtype=object))
    assert mixed.iloc[1] == "1000000000000000"


def test_large_integer_serials_are_not_taken_for_excel_notation():
    from connectors.base import StreamConfig
    from transforms.context import TransformContext
    from transforms.mapping import map_stream

    frame = pd.DataFrame(
        {"id": [1234567890123456789, 1234567890123456790], "serial": [100000000000000001, 100000000000000002]}
    )
    stream = StreamConfig.model_validate({"id": "id", "fields": {"serial_number": "serial"}})
    mapped = map_stream(frame, "assets", stream, TransformContext(), source="s")
    assert mapped.quarantine.empty
    assert mapped.rows["record_id"].tolist() == ["1234567890123456789", "1234567890123456790"]
    assert mapped.rows["serial_number"].tolist() == ["100000000000000001", "100000000000000002"]
