from __future__ import annotations

import pytest

# placeholders as firmware writes them (dmidecode output collected by glpi-agent)
PLACEHOLDERS = [
    "Not Specified",
    "To Be Filled By O.E.M.",
    "To be filled by O.E.M.",
    "0123456789",
    "123456789",
    "None",
    "System Serial Number",
    "Chassis Serial Number",
    "Base Board Serial Number",
    "Default string",
    "XXXXXXXXXX",
    "0000000",
    "0",
    "N/A",
    "Not Available",
    "INVALID",
    "SerialNumber",
    "TBD by ODM",
    "SerNum01",
    ".........",
    "NO DIMM",
]


@pytest.mark.parametrize("value", [pytest.param(v, id=v) for v in PLACEHOLDERS])
def test_placeholders_become_null(one, value):
    assert one("serial", value) == (None, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("c02x1234jhd5", "C02X1234JHD5", id="upper"),
        pytest.param("  5CD1234XYZ  ", "5CD1234XYZ", id="trim"),
        pytest.param("USE2236835      ", "USE2236835", id="dmidecode-padding"),
        pytest.param("PF 2A B3 C4", "PF2AB3C4", id="inner-spaces"),
        pytest.param("..CN7016346K000G.", "CN7016346K000G", id="dell-board-dots"),
        pytest.param(
            "VMware-56 4d db dd 11 e3 8d 66-84 9e 15 8e 49 23 7c 97",
            "VMWARE-564DDBDD11E38D66-849E158E49237C97",
            id="vmware-uuid",
        ),
        pytest.param(
            "27aa8378-b0f4-4289-84a4-405da95c6147",
            "27AA8378-B0F4-4289-84A4-405DA95C6147",
            id="uuid-kept",
        ),
        pytest.param("1786VM80X07", "1786VM80X07", id="snipe-model-number-like"),
        pytest.param("Ä1", "Ä1", id="non-ascii-letter-is-not-a-repeated-character"),
        pytest.param("жк-1", "ЖК-1", id="cyrillic"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_serial(one, value, expected):
    assert one("serial", value) == (expected, None)


@pytest.mark.parametrize("value", ["6.37702E+15", "3.01043E+13", "1.2e+10"])
def test_excel_scientific_notation_is_an_error(one, value):
    out, error = one("serial", value)
    assert out is None
    assert error == (
        f"serial '{value}' was mangled by Excel into scientific notation; re-export the column as text"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(" icc-2065556 ", "ICC-2065556", id="snipe-tag"),
        pytest.param("00123", "00123", id="leading-zeros-kept"),
        pytest.param(1234.0, "1234", id="excel-float"),
        pytest.param("1234.0", "1234", id="excel-float-as-text"),
        pytest.param(1234, "1234", id="int"),
        pytest.param("ab  12", "AB 12", id="collapse-space"),
        pytest.param("12.5", "12.5", id="real-decimal-kept"),
        pytest.param("", None, id="empty"),
    ],
)
def test_asset_tag(one, value, expected):
    assert one("asset_tag", value) == (expected, None)


@pytest.mark.parametrize("value", ["1234E567", "8E36P12", "12E45"])
def test_serials_with_an_e_but_no_exponent_sign_are_kept(one, value):
    assert one("serial", value) == (value, None)


@pytest.mark.parametrize("value", ["12E45", "000123E4"])
def test_asset_tags_with_an_e_but_no_exponent_sign_are_kept(one, value):
    assert one("asset_tag", value) == (value, None)


def test_asset_tag_scientific(one):
    out, error = one("asset_tag", "1.23457E+11")
    assert out is None
    assert "asset tag '1.23457E+11' was mangled by Excel" in error
