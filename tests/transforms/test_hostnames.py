from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("LT-0042.corp.example.com", "lt-0042", id="fqdn"),
        pytest.param("LT-0042", "lt-0042", id="short-upper"),
        pytest.param(" web01 ", "web01", id="trim"),
        pytest.param("db01.example.com.", "db01", id="trailing-dot"),
        pytest.param("CORP\\PC-17", "pc-17", id="netbios-domain"),
        pytest.param("WIN_SRV_01", "win_srv_01", id="windows-underscore"),
        pytest.param("MÜLLER-PC.corp.example.de", "müller-pc", id="unicode"),
        pytest.param("xn--mller-pc-65a.corp.example.de", "müller-pc", id="punycode"),
        pytest.param("XN--MLLER-PC-65A", "müller-pc", id="punycode-upper"),
        pytest.param("xn--zz", "xn--zz", id="not-really-punycode"),
        pytest.param("\uff2c\uff34\uff0d\uff10\uff10\uff14\uff12", "lt-0042", id="full-width"),
        pytest.param("Mi9TPro-TéléphoneM", "mi9tpro-téléphonem", id="glpi-android-phone"),
        pytest.param("ПК-01", "пк-01", id="cyrillic"),
        pytest.param("工作站-7", "工作站-7", id="cjk"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_hostname(one, value, expected):
    assert one("hostname", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "bad host!",
            "'bad host!' is not a valid host name (letters, digits, '-' and '_' only)",
            id="space-and-bang",
        ),
        pytest.param(
            "-leading.example.com",
            "'-leading.example.com' is not a valid host name (letters, digits, '-' and '_' only)",
            id="leading-hyphen",
        ),
        pytest.param("10.0.0.5", "'10.0.0.5' is an IP address, not a host name", id="ip"),
        pytest.param(
            "Jürgen\u2019s MacBook",
            "'Jürgen\u2019s MacBook' is not a valid host name (letters, digits, '-' and '_' only)",
            id="display-name",
        ),
        pytest.param(
            "a" * 64,
            f"'{'a' * 64}' is not a valid host name (letters, digits, '-' and '_' only)",
            id="too-long",
        ),
    ],
)
def test_hostname_errors(one, value, message):
    assert one("hostname", value) == (None, message)
