from __future__ import annotations

import pytest

from transforms.context import TransformContext


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Snipe-IT status labels
        pytest.param("Ready to Deploy", "in_stock", id="snipe-ready-to-deploy"),
        pytest.param("Deployable", "in_stock", id="snipe-deployable-unassigned"),
        pytest.param("Deployed", "in_use", id="snipe-deployed"),
        pytest.param("Pending", "in_repair", id="snipe-pending"),
        pytest.param("Pending Diagnostics", "in_repair", id="snipe-pending-diagnostics"),
        pytest.param("Undeployable", "in_repair", id="snipe-undeployable"),
        pytest.param("Archived", "retired", id="snipe-archived"),
        pytest.param("Lost", "lost", id="lost"),
        pytest.param("Stolen", "lost", id="stolen"),
        pytest.param("Lost/Stolen", "lost", id="lost-stolen"),
        pytest.param("Broken", "in_repair", id="broken"),
        # ServiceNow install_status codes
        pytest.param("1", "in_use", id="snow-1-installed"),
        pytest.param(1, "in_use", id="snow-1-int"),
        pytest.param(2.0, "ordered", id="snow-2-float"),
        pytest.param("3", "in_repair", id="snow-3-maintenance"),
        pytest.param("6", "in_stock", id="snow-6-in-stock"),
        pytest.param("7", "retired", id="snow-7-retired"),
        pytest.param("8", "lost", id="snow-8-stolen"),
        pytest.param("100", "lost", id="snow-100-missing"),
        # NetBox device status
        pytest.param("active", "in_use", id="netbox-active"),
        pytest.param("offline", "in_stock", id="netbox-offline"),
        pytest.param("planned", "ordered", id="netbox-planned"),
        pytest.param("staged", "in_stock", id="netbox-staged"),
        pytest.param("failed", "in_repair", id="netbox-failed"),
        pytest.param("inventory", "in_stock", id="netbox-inventory"),
        pytest.param("decommissioning", "retired", id="netbox-decommissioning"),
        # spreadsheet words
        pytest.param("in use", "in_use", id="in-use"),
        pytest.param("In-Use", "in_use", id="In-Use"),
        pytest.param("IN_USE", "in_use", id="canonical-upper"),
        pytest.param("  in   stock ", "in_stock", id="spaces"),
        pytest.param("spare", "in_stock", id="spare"),
        pytest.param("disposed", "disposed", id="disposed"),
        pytest.param("Scrapped", "disposed", id="scrapped"),
        pytest.param("sold", "disposed", id="sold"),
        pytest.param("donated", "disposed", id="donated"),
        pytest.param("retired", "retired", id="retired"),
        pytest.param("EOL", "retired", id="eol"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_asset_status(one, value, expected):
    assert one("asset_status", value) == (expected, None)


def test_unknown_status_error_lists_statuses_and_how_to_alias(one):
    out, error = one("asset_status", "On Loan")
    assert out is None
    assert error.startswith("unknown status 'On Loan'; expected one of ordered, in_stock, in_use")
    assert "disposed" in error
    assert "vocabularies.status_aliases" in error


def test_aliases_layer_config_then_mapping(apply):
    ctx = TransformContext(status_aliases={"On Loan": "in_use", "Deployed": "in_stock"})
    result = apply(
        "asset_status",
        ["on loan", "Deployed", "Bench", "see notes", "Archived"],
        context=ctx,
        values={"bench": "in_repair", "See Notes": None, "Archived": "disposed"},
    )
    assert result.values.tolist() == ["in_use", "in_stock", "in_repair", None, "disposed"]
    assert result.errors.tolist() == [None] * 5


def test_alias_to_unknown_status_is_reported(one):
    out, error = one("asset_status", "Bench", values={"Bench": "repairing"})
    assert out is None
    assert error.startswith("'Bench' is mapped to 'repairing', which is not one of ordered")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("active", "active", id="active"),
        pytest.param("ACTIVE", "active", id="okta-ACTIVE"),
        pytest.param("enabled", "active", id="enabled"),
        pytest.param("true", "active", id="snipe-activated-true"),
        pytest.param(True, "active", id="bool-true"),
        pytest.param("1", "active", id="1"),
        pytest.param("PASSWORD_EXPIRED", "active", id="okta-password-expired"),
        pytest.param("LOCKED_OUT", "active", id="okta-locked-out"),
        pytest.param("terminated", "terminated", id="terminated"),
        pytest.param("deprovisioned", "terminated", id="deprovisioned"),
        pytest.param("DEPROVISIONED", "terminated", id="okta-DEPROVISIONED"),
        pytest.param("SUSPENDED", "terminated", id="okta-SUSPENDED"),
        pytest.param("disabled", "terminated", id="disabled"),
        pytest.param("inactive", "terminated", id="inactive"),
        pytest.param("left", "terminated", id="left"),
        pytest.param("false", "terminated", id="false"),
        pytest.param(0, "terminated", id="0"),
        pytest.param("STAGED", "unknown", id="okta-STAGED"),
        pytest.param("on sabbatical", "unknown", id="unrecognised"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_employment_status(one, value, expected):
    assert one("employment_status", value) == (expected, None)


def test_employment_status_mapping_values(one):
    assert one("employment_status", "LOA", values={"LOA": "active"}) == ("active", None)
