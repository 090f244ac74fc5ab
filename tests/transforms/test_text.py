from __future__ import annotations

import math

import pytest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("  Latitude 7440 ", "Latitude 7440", id="trim"),
        pytest.param("Macbook   Pro\t13", "Macbook Pro 13", id="collapse-inner-whitespace"),
        pytest.param("line\nbreak", "line break", id="newline"),
        pytest.param(1234.0, "1234", id="excel-float-integral"),
        pytest.param(12.5, "12.5", id="float"),
        pytest.param(42, "42", id="int"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="whitespace"),
        pytest.param("-", None, id="dash"),
        pytest.param("N/A", None, id="n/a"),
        pytest.param("null", None, id="null"),
        pytest.param("NULL", None, id="NULL"),
        pytest.param(None, None, id="none"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param("Café Olé", "Café Olé", id="unicode-kept"),
    ],
)
def test_text(one, value, expected):
    assert one("text", value) == (expected, None)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("upper", " icc-2065556 ", "ICC-2065556", id="upper"),
        pytest.param("upper", "eur", "EUR", id="upper-code"),
        pytest.param("lower", " JDoe ", "jdoe", id="lower"),
        pytest.param("lower", "", None, id="lower-empty"),
    ],
)
def test_case_variants(one, name, value, expected):
    assert one(name, value) == (expected, None)


def test_text_output_is_object_of_str_or_none(apply):
    result = apply("text", ["a", None, 3.0])
    assert result.values.dtype == object
    assert result.values.tolist() == ["a", None, "3"]
