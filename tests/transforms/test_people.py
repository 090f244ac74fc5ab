from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("rtenant0@istockphoto.com", "rtenant0@istockphoto.com", id="plain"),
        pytest.param("  JDoe@Example.COM ", "jdoe@example.com", id="lower-trim"),
        pytest.param("mailto:a.b@example.com", "a.b@example.com", id="mailto"),
        pytest.param("Jane Doe <Jane.Doe@Corp.com>", "jane.doe@corp.com", id="display-name"),
        pytest.param('"Doe, Jane" <jdoe@corp.com>', "jdoe@corp.com", id="quoted-name"),
        pytest.param("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk", id="plus"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_email(one, value, expected):
    assert one("email", value) == (expected, None)


@pytest.mark.parametrize("value", ["not-an-email", "a@b", "two@@example.com", "a b@example.com"])
def test_email_errors(one, value):
    assert one("email", value) == (None, f"'{value}' is not an email address")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("JDoe@Example.com", "jdoe@example.com", id="email"),
        pytest.param("Jane <JDoe@Example.com>", "jdoe@example.com", id="wrapped-email"),
        pytest.param("ksennett6", "ksennett6", id="snipe-username"),
        pytest.param("CORP\\JDoe", "jdoe", id="domain-prefix"),
        pytest.param(" JDOE ", "jdoe", id="upper-trim"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_person_key(one, value, expected):
    assert one("person_key", value) == (expected, None)


def test_person_key_bad_email(one):
    assert one("person_key", "bob@") == (None, "'bob@' is not an email address")
