from __future__ import annotations

import pytest

M = "aa:bb:cc:dd:ee:ff"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("aa:bb:cc:dd:ee:ff", [M], id="canonical"),
        pytest.param("AA:BB:CC:DD:EE:FF", [M], id="upper"),
        pytest.param("AA-BB-CC-DD-EE-FF", [M], id="windows-dashes"),
        pytest.param("aabb.ccdd.eeff", [M], id="cisco-dots"),
        pytest.param("aabbccddeeff", [M], id="bare"),
        pytest.param("AA-BB-CC-DD-EE-FF, 11:22:33:44:55:66", [M, "11:22:33:44:55:66"], id="comma-list"),
        pytest.param("aabbccddeeff;112233445566", [M, "11:22:33:44:55:66"], id="semicolon"),
        pytest.param("aabbccddeeff | 112233445566", [M, "11:22:33:44:55:66"], id="pipe"),
        pytest.param("aabbccddeeff\n112233445566", [M, "11:22:33:44:55:66"], id="newline"),
        pytest.param("aabbccddeeff AA:BB:CC:DD:EE:FF", [M], id="duplicates-dropped"),
        pytest.param(["AA:BB:CC:DD:EE:FF", "11-22-33-44-55-66"], [M, "11:22:33:44:55:66"], id="list"),
        pytest.param("00:00:00:00:00:00", None, id="null-mac-dropped"),
        pytest.param("ff:ff:ff:ff:ff:ff, aabbccddeeff", [M], id="broadcast-dropped"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
        pytest.param([], None, id="empty-list"),
        pytest.param("0:1b:63:84:45:e6", ["00:1b:63:84:45:e6"], id="unpadded-groups"),
        pytest.param("a:b:c:d:e:f", ["0a:0b:0c:0d:0e:0f"], id="all-single-digits"),
        pytest.param("00 1B 63 84 45 E6", ["00:1b:63:84:45:e6"], id="space-separated-pairs"),
        pytest.param(
            "00 1B 63 84 45 E6, aabbccddeeff", ["00:1b:63:84:45:e6", M], id="space-separated-in-a-list"
        ),
    ],
)
def test_mac_list(one, value, expected):
    assert one("mac_list", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        pytest.param("zz:bb:cc:dd:ee:ff", "zz:bb:cc:dd:ee:ff", id="non-hex"),
        pytest.param("aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee", id="short"),
        pytest.param("aa:bb-cc:dd:ee:ff", "aa:bb-cc:dd:ee:ff", id="mixed-separators"),
        pytest.param("aabbccddeeff, nope", "nope", id="one-bad-in-list"),
    ],
)
def test_mac_errors(one, value, bad):
    assert one("mac_list", value) == (None, f"'{bad}' is not a MAC address")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("10.0.0.5", ["10.0.0.5"], id="v4"),
        pytest.param("10.0.0.5, 10.0.0.6", ["10.0.0.5", "10.0.0.6"], id="list"),
        pytest.param("192.168.1.10/24", ["192.168.1.10"], id="cidr-suffix"),
        pytest.param("2001:0DB8:0000:0000:0000:0000:0000:0001", ["2001:db8::1"], id="v6-compress"),
        pytest.param("fe80::1%eth0", ["fe80::1"], id="v6-zone"),
        pytest.param("127.0.0.1; 10.1.1.1", ["10.1.1.1"], id="loopback-dropped"),
        pytest.param("::1 10.1.1.1", ["10.1.1.1"], id="v6-loopback-dropped"),
        pytest.param("0.0.0.0", None, id="unspecified"),
        pytest.param(["10.1.1.1", "10.1.1.1"], ["10.1.1.1"], id="list-dedup"),
        pytest.param("", None, id="empty"),
    ],
)
def test_ip_list(one, value, expected):
    assert one("ip_list", value) == (expected, None)


@pytest.mark.parametrize("bad", ["999.1.1.1", "10.0.0", "010.1.1.1", "host.example.com", "::g"])
def test_ip_errors(one, bad):
    assert one("ip_list", bad) == (None, f"'{bad}' is not an IP address")


def test_output_is_object_of_lists(apply):
    result = apply("mac_list", ["aabbccddeeff", None])
    assert result.values.dtype == object
    assert result.values.tolist() == [[M], None]
