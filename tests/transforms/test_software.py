"""Software products, publishers and install dates, and Microsoft's SKU names: the built-in
table checked against Microsoft's published list when ../shared/peers has it."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest

from connectors.msgraph import SKU_NAMES
from transforms.software_aliases import MICROSOFT_SKUS

PEERS = Path(__file__).resolve().parents[3] / "shared" / "peers"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # installers' names: language tags, architecture notes, versions and builds go
        pytest.param("Microsoft Visio - en-us", "Visio Plan 2", id="visio-c2r"),
        pytest.param(
            "Microsoft 365 Apps for enterprise - fr-fr", "Microsoft 365 Apps for enterprise", id="m365-apps"
        ),
        pytest.param("Zoom Workplace (64-bit)", "Zoom", id="zoom-workplace"),
        pytest.param("zoom.us", "Zoom", id="zoom-mac"),
        pytest.param("Zoom Workplace 6.0.11 (39959)", "Zoom", id="zoom-version-and-build"),
        pytest.param("Slack (Machine - MSI)", "Slack", id="slack-machine-wide"),
        pytest.param("slack-desktop", "Slack", id="slack-deb"),
        pytest.param("7-Zip 23.01 (x64)", "7-Zip", id="7zip"),
        pytest.param("Mozilla Firefox (x64 en-US)", "Mozilla Firefox", id="firefox"),
        pytest.param("Notepad++ (64-bit x64)", "Notepad++", id="notepad-pp"),
        pytest.param("Python 3.12.1 (64-bit)", "Python", id="python"),
        pytest.param(
            "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135",
            "Microsoft Visual C++ 2015-2022 Redistributable",
            id="vc-redist",
        ),
        pytest.param("  Google   Chrome ", "Google Chrome", id="whitespace"),
        # what must stay: years, plan numbers, editions, package names
        pytest.param(
            "Microsoft Visio Professional 2021", "Microsoft Visio Professional 2021", id="perpetual"
        ),
        pytest.param("Exchange Online (Plan 1)", "Exchange Online (Plan 1)", id="plan-in-parens"),
        pytest.param("Power BI (free)", "Power BI (free)", id="free-in-parens"),
        pytest.param("Microsoft 365 E3", "Microsoft 365 E3", id="suite"),
        pytest.param("gnome-calculator", "gnome-calculator", id="rpm-package"),
        pytest.param("Enregistreur d'écran", "Enregistreur d'écran", id="android-app"),
        # Microsoft's SKU string ids and GUIDs
        pytest.param("SPE_E3", "Microsoft 365 E3", id="sku-id"),
        pytest.param("enterprisepack", "Office 365 E3", id="sku-id-lower"),
        pytest.param("05e9a617-0261-4cee-bb44-138d3ef5d965", "Microsoft 365 E3", id="sku-guid"),
        pytest.param("C5928F49-12BA-48F7-ADA3-0D743A3601D5", "Visio Plan 2", id="sku-guid-upper"),
        pytest.param("SCHOOL_DATA_SYNC_P2", "SCHOOL_DATA_SYNC_P2", id="unknown-sku-kept"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="null"),
    ],
)
def test_software_product(one, value, expected):
    assert one("software_product", value) == (expected, None)


def test_a_mappings_values_add_products_and_empty_some(one):
    values = {"Tableau Desktop 2024.2": "Tableau", "Microsoft Visio - en-us": "Visio Plan 1", "junk": None}
    assert one("software_product", "Tableau Desktop 2024.2", values=values) == ("Tableau", None)
    assert one("software_product", "Microsoft Visio - en-us", values=values) == ("Visio Plan 1", None)
    assert one("software_product", "junk", values=values) == (None, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Microsoft Corporation", "Microsoft", id="microsoft"),
        pytest.param("Zoom Video Communications, Inc.", "Zoom", id="zoom"),
        pytest.param("Slack Technologies, Inc.", "Slack Technologies", id="slack"),
        pytest.param("Adobe Systems Incorporated", "Adobe", id="adobe"),
        pytest.param("Google LLC", "Google", id="google"),
        pytest.param("Mozilla", "Mozilla", id="mozilla"),
        pytest.param("Fedora Project", "Fedora Project", id="kept"),
        pytest.param("Unknown", None, id="placeholder"),
    ],
)
def test_publisher(one, value, expected):
    assert one("publisher", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2019-12-19", dt.date(2019, 12, 19), id="iso"),
        pytest.param("20240115", dt.date(2024, 1, 15), id="windows-registry"),
        pytest.param("2008-12-31", None, id="android-system-image"),
        pytest.param("2009-01-01", None, id="android-system-image-east"),
        pytest.param("1970-01-01", None, id="epoch"),
        pytest.param("1601-01-01", None, id="filetime-zero"),
    ],
)
def test_install_date(one, value, expected):
    found, error = one("install_date", value)
    assert error is None
    assert (None if found is None else found.date()) == expected


def test_an_unreadable_install_date_is_an_error(one):
    found, error = one("install_date", "sometime")
    assert found is None
    assert "'sometime'" in error


# ---------------------------------------------------------- Microsoft's published SKU list
def _microsoft_list() -> dict[str, tuple[str, str]]:
    path = PEERS / "product_names_for_licensing" / "product_name.csv"
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"peer file not present at {path}")
        pytest.skip(f"peer file not present at {path}")
    with path.open(encoding="cp1252", newline="") as fh:  # Windows-1252, as Microsoft ships it
        rows = list(csv.DictReader(fh))
    return {r["String_Id"]: (r["GUID"], r["Product_Display_Name"]) for r in rows}


#: names Microsoft has changed since its list was taken (2023-08), as the connector uses them
RENAMED = {
    "AAD_PREMIUM": "Azure Active Directory Premium P1",
    "AAD_PREMIUM_P2": "Azure Active Directory Premium P2",
    "VISIOCLIENT": "Visio Online Plan 2",
    "FLOW_FREE": "Microsoft Power Automate Free",
    "Microsoft_Teams_Premium": "Microsoft Teams Premium Introductory Pricing",
    "WIN_DEF_ATP": "Microsoft Defender for Endpoint",
    "OFFICESUBSCRIPTION": "Microsoft 365 Apps for Enterprise",
    "O365_BUSINESS": "Microsoft 365 Apps for Business",
}


def test_the_built_in_skus_are_microsofts() -> None:
    published = _microsoft_list()
    assert len(published) > 400
    for sku, (guid, name) in MICROSOFT_SKUS.items():
        assert sku in published, sku
        assert published[sku][0] == guid, sku
        assert published[sku][1] == RENAMED.get(sku, name), sku


def test_the_connector_and_the_normaliser_name_skus_alike() -> None:
    for sku, name in SKU_NAMES.items():
        assert MICROSOFT_SKUS[sku][1] == name, sku


def test_microsofts_whole_list_as_a_mapping_names_every_sku(apply) -> None:
    published = _microsoft_list()
    values = {key: name for sku, (guid, name) in published.items() for key in (sku, guid)}
    cells = [*published, *(guid for guid, _ in published.values()), "725422ed-0000-0000-0000-000000000000"]
    out = apply("software_product", cells, values=values).values.tolist()
    names = [name for _, name in published.values()]
    assert out == [*names, *names, "725422ed-0000-0000-0000-000000000000"]
