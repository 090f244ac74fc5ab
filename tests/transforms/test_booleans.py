from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("true", True, id="true"),
        pytest.param("yes", True, id="yes"),
        pytest.param("Y", True, id="Y"),
        pytest.param("1", True, id="1-text"),
        pytest.param(1, True, id="1-int"),
        pytest.param(True, True, id="bool"),
        pytest.param("False", False, id="False"),
        pytest.param("no", False, id="no"),
        pytest.param("N", False, id="N"),
        pytest.param("0", False, id="0"),
        pytest.param(0.0, False, id="0.0"),
        pytest.param(False, False, id="bool-false"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_boolean(one, value, expected):
    assert one("boolean", value) == (expected, None)


def test_unreadable(one):
    value, error = one("boolean", "maybe")
    assert value is None
    assert error.startswith("cannot read 'maybe' as yes/no")


def test_dtype(apply):
    assert str(apply("boolean", ["yes", None]).values.dtype) == "boolean"
