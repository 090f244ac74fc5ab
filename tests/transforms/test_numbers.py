from __future__ import annotations

import pandas as pd
import pytest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("12", 12.0, id="int-text"),
        pytest.param(" 12.5 ", 12.5, id="trimmed"),
        pytest.param("1,234.5", 1234.5, id="thousands"),
        pytest.param("1,234,567", 1234567.0, id="two-groups"),
        pytest.param("-3", -3.0, id="negative"),
        pytest.param(7, 7.0, id="int"),
        pytest.param(2.25, 2.25, id="float"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param("", None, id="empty"),
    ],
)
def test_number(one, value, expected):
    assert one("number", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("56", 56, id="seats"),
        pytest.param(56.0, 56, id="excel-float"),
        pytest.param("12.0", 12, id="text-float-integral"),
        pytest.param("1,000", 1000, id="grouped"),
        pytest.param("9007199254740992", 2**53, id="2^53"),
        pytest.param(None, None, id="empty"),
    ],
)
def test_int(one, value, expected):
    assert one("int", value) == (expected, None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        pytest.param("number", "abc", "cannot read 'abc' as a number", id="number-text"),
        pytest.param("number", "12 kg", "cannot read '12 kg' as a number", id="unit"),
        pytest.param("int", "12.5", "cannot read '12.5' as a whole number", id="fraction"),
        pytest.param("int", "many", "cannot read 'many' as a whole number", id="int-text"),
        pytest.param(
            "int",
            "99999999999999999999999",
            "'99999999999999999999999' is too large for a whole number",
            id="int-past-64-bits",
        ),
        pytest.param("int", 9.3e18, "'9.3e+18' is too large for a whole number", id="int-float-past-64-bits"),
        pytest.param("int", -(2**63), "'-9223372036854775808' is too large for a whole number", id="int-min"),
        pytest.param("number", "1e400", "cannot read '1e400' as a number", id="overflow"),
    ],
)
def test_errors(one, name, value, message):
    assert one(name, value) == (None, message)


def test_dtypes(apply):
    assert apply("number", ["1", None]).values.dtype == "float64"
    assert apply("int", ["1", None]).values.dtype == pd.Int64Dtype()
