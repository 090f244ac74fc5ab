from __future__ import annotations

import datetime as dt
import math

import pytest

from transforms.attributes import attribute_key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"ram_gb": 16.0, "cpu": "i7"}, '{"cpu": "i7", "ram_gb": 16}', id="dict"),
        pytest.param({"b": None, "a": ""}, None, id="all-empty"),
        pytest.param({"n": math.nan, "x": " y "}, '{"x": "y"}', id="nan-dropped"),
        pytest.param({"bought": dt.date(2024, 1, 2)}, '{"bought": "2024-01-02"}', id="date"),
        pytest.param('{"b": 1, "a": [1, 2]}', '{"a": [1, 2], "b": 1}', id="json-text"),
        pytest.param('{"é": "ü"}', '{"é": "ü"}', id="unicode"),
        pytest.param("{}", None, id="empty-object"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_json(one, value, expected):
    assert one("json", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("{bad", "'{bad' is not valid JSON", id="invalid"),
        pytest.param("[1, 2]", "'[1, 2]' is not a JSON object", id="array"),
        pytest.param("42", "'42' is not a JSON object", id="number"),
    ],
)
def test_json_errors(one, value, message):
    out, error = one("json", value)
    assert out is None
    assert error.startswith(message)


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("Screen Size (in)", "screen_size_in"),
        ("RAM GB", "ram_gb"),
        ("cpuCores", "cpu_cores"),
        ("Checked Out To: Email", "checked_out_to_email"),
    ],
)
def test_attribute_key(column, key):
    assert attribute_key(column) == key
