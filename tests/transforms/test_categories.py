from __future__ import annotations

import pytest

from transforms.context import TransformContext


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Notebook", "laptop", id="notebook"),
        pytest.param("Laptops", "laptop", id="snipe-laptops"),
        pytest.param("MacBook", "laptop", id="macbook"),
        pytest.param("laptop", "laptop", id="canonical"),
        pytest.param("Workstation", "desktop", id="workstation"),
        pytest.param("PC", "desktop", id="pc"),
        pytest.param("Desktops", "desktop", id="desktops"),
        pytest.param("Servers", "server", id="servers"),
        pytest.param("Switch", "network", id="switch"),
        pytest.param("Switches", "network", id="switches-es"),
        pytest.param("Router", "network", id="router"),
        pytest.param("Firewall", "network", id="firewall"),
        pytest.param("Access Point", "network", id="access-point"),
        pytest.param("Access Points", "network", id="access-points"),
        pytest.param("WLC", "network", id="wlc"),
        pytest.param("Mobile Phone", "phone", id="mobile-phone"),
        pytest.param("Mobile Phones", "phone", id="mobile-phones"),
        pytest.param("Smartphone", "phone", id="smartphone"),
        pytest.param("iPad", "tablet", id="ipad"),
        pytest.param("Tablets", "tablet", id="tablets"),
        pytest.param("VM", "virtual_machine", id="vm"),
        pytest.param("Virtual Machine", "virtual_machine", id="virtual-machine"),
        pytest.param("virtual-machine", "virtual_machine", id="hyphen"),
        pytest.param("Display", "monitor", id="display"),
        pytest.param("Monitors", "monitor", id="monitors"),
        pytest.param("Keyboard", "peripheral", id="keyboard"),
        pytest.param("Mouse", "peripheral", id="mouse"),
        pytest.param("Docking station", "peripheral", id="dock"),
        pytest.param("Docking Stations", "peripheral", id="docks"),
        pytest.param("", None, id="empty"),
    ],
)
def test_category(one, value, expected):
    assert one("category", value) == (expected, None)


def test_unknown_category_error(one):
    out, error = one("category", "Ornamental Railings")
    assert out is None
    assert error.startswith("unknown category 'Ornamental Railings'; expected one of laptop, desktop, server")
    assert "vocabularies.category_aliases" in error


def test_config_and_mapping_aliases(apply):
    ctx = TransformContext(category_aliases={"Ornamental Railings": "other"})
    result = apply(
        "category", ["Ornamental Railings", "GPU", "Laptops"], context=ctx, values={"GPU": "other"}
    )
    assert result.values.tolist() == ["other", "other", "laptop"]


def test_constant_value_is_normalised(apply):
    assert apply("category", ["Laptops"]).values.tolist() == ["laptop"]


def test_custom_category_list_drops_builtins_for_missing_categories(apply):
    ctx = TransformContext(categories=("computer", "network", "other"))
    result = apply("category", ["Switch", "iPad", "computer"], context=ctx)
    assert result.values.tolist() == ["network", None, "computer"]
    assert result.errors.iloc[1].startswith("unknown category 'iPad'; expected one of computer")


WITH_PRINTER = ("laptop", "printer", "peripheral")


@pytest.mark.parametrize(
    ("categories", "aliases", "value", "expected"),
    [
        pytest.param(WITH_PRINTER, {}, "Printer", "printer", id="configured-beats-builtin"),
        pytest.param(WITH_PRINTER, {}, "Printers", "printer", id="plural"),
        pytest.param(WITH_PRINTER, {}, "Keyboard", "peripheral", id="other-builtins-stay"),
        pytest.param(("laptop", "Docking Station", "peripheral"), {}, "docking-stations", "Docking Station",
                     id="multi-word-category"),
        pytest.param(WITH_PRINTER, {"Printer": "peripheral"}, "Printer", "peripheral",
                     id="config-alias-still-wins"),
        pytest.param(("laptop", "peripheral"), {}, "Printer", "peripheral", id="without-the-category"),
    ],
)  # fmt: skip
def test_configured_category_beats_builtin_alias(apply, categories, aliases, value, expected):
    ctx = TransformContext(categories=categories, category_aliases=aliases)
    result = apply("category", [value], context=ctx)
    assert (result.values.iloc[0], result.errors.iloc[0]) == (expected, None)
