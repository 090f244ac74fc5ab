from __future__ import annotations

import pytest

from transforms.context import TransformContext


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Dell Inc.", "Dell", id="dell-inc"),
        pytest.param("Dell Computer Corporation", "Dell", id="dell-computer-corp"),
        pytest.param("DELL", "Dell", id="DELL"),
        pytest.param("HP", "HP", id="hp"),
        pytest.param("HP     ", "HP", id="hp-padded"),
        pytest.param("HP Inc.", "HP", id="hp-inc"),
        pytest.param("Hewlett-Packard", "HP", id="hewlett-packard"),
        pytest.param("Hewlett Packard Enterprise", "HPE", id="hpe-stays"),
        pytest.param("LENOVO", "Lenovo", id="lenovo"),
        pytest.param("Apple Inc.", "Apple", id="apple"),
        pytest.param("Microsoft Corporation", "Microsoft", id="microsoft"),
        pytest.param("Cisco Systems, Inc.", "Cisco", id="cisco"),
        pytest.param("VMware, Inc.", "VMware", id="vmware"),
        pytest.param("innotek GmbH", "VirtualBox", id="virtualbox"),
        pytest.param("Intel Corporation", "Intel", id="intel"),
        pytest.param("Intel(R) Corporation", "Intel", id="intel-r"),
        pytest.param("SUPERMICRO", "Supermicro", id="supermicro"),
        pytest.param("ASUSTeK COMPUTER INC.", "ASUS", id="asus"),
        pytest.param("Acer", "Acer", id="acer"),
        pytest.param("Samsung Electronics Co., Ltd.", "Samsung", id="samsung"),
        pytest.param("Juniper Networks", "Juniper", id="juniper"),
        pytest.param("Arista Networks", "Arista", id="arista"),
        pytest.param("Fortinet", "Fortinet", id="fortinet"),
        pytest.param("Ubiquiti Networks", "Ubiquiti", id="ubiquiti"),
        pytest.param("Oracle Corporation", "Oracle", id="oracle"),
        pytest.param("Sun Microsystems", "Sun Microsystems", id="sun"),
        pytest.param("TOSHIBA", "Toshiba", id="toshiba"),
        pytest.param("Google", "Google", id="google"),
        pytest.param("Xiaomi", "Xiaomi", id="xiaomi"),
        pytest.param("IBM", "IBM", id="ibm"),
        # unknown names: legal suffix stripped, all caps title-cased when longer than 3
        pytest.param("Berge Inc", "Berge", id="suffix-inc"),
        pytest.param("Krajcik LLC", "Krajcik", id="suffix-llc"),
        pytest.param("Acme Widgets Co., Ltd.", "Acme Widgets", id="suffix-co-ltd"),
        pytest.param("Foo GmbH", "Foo", id="suffix-gmbh"),
        pytest.param("ACME", "Acme", id="all-caps"),
        pytest.param("NEC", "NEC", id="short-acronym-kept"),
        pytest.param("Botsford, Boyle and Herzog", "Botsford, Boyle and Herzog", id="kept"),
        # placeholders
        pytest.param("To Be Filled By O.E.M.", None, id="oem"),
        pytest.param("System manufacturer", None, id="system-manufacturer"),
        pytest.param("Not Specified", None, id="not-specified"),
        pytest.param("Manufacturer01", None, id="fixture-numbered"),
        pytest.param("Default string", None, id="default-string"),
        pytest.param("", None, id="empty"),
    ],
)
def test_manufacturer(one, value, expected):
    assert one("manufacturer", value) == (expected, None)


def test_user_aliases_win(apply):
    ctx = TransformContext(manufacturer_aliases={"HP Inc.": "HP Inc", "Pollich LLC": "Pollich"})
    result = apply("manufacturer", ["hp inc.", "Pollich LLC"], context=ctx)
    assert result.values.tolist() == ["HP Inc", "Pollich"]
    result = apply("manufacturer", ["Dell Inc."], values={"Dell Inc.": "Dell Technologies"})
    assert result.values.tolist() == ["Dell Technologies"]
