"""kind: msgraph against a local Microsoft Graph: client-credentials tokens, subscribedSkus,
users paged by @odata.nextLink, and each user's licenseDetails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from http_sync import FAST_RETRY, Gateway, VendorContract
from vendor_server import MicrosoftGraph, VendorServer

SECRET = "graph-secret-314"
PARTS = ["ENTERPRISEPREMIUM", "CRMSTANDARD", "SCHOOL_DATA_SYNC_P2"]


def sku(part: str, enabled: int, suspended: int, warning: int, consumed: int) -> dict[str, Any]:
    return {
        "skuId": f"sku-{part.lower()}",
        "skuPartNumber": part,
        "appliesTo": "User",
        "consumedUnits": consumed,
        "capabilityStatus": "Suspended" if suspended and not enabled else "Enabled",
        "prepaidUnits": {"enabled": enabled, "lockedOut": 0, "suspended": suspended, "warning": warning},
        "servicePlans": [{"servicePlanName": "EXCHANGE_S_ENTERPRISE", "provisioningStatus": "Success"}],
    }


N = 7


@pytest.fixture
def graph() -> MicrosoftGraph:
    skus = [sku(PARTS[0], 25, 0, 2, 14), sku(PARTS[1], 0, 25, 0, 14), sku(PARTS[2], 10, 0, 0, 1)]
    users = [
        {
            "id": f"u{i}",
            "displayName": f"Grace {i}",
            "mail": f"grace{i}@example.com" if i != 5 else None,
            "userPrincipalName": f"grace{i}@example.com",
            "department": "Sales",
            "accountEnabled": i != 2,
        }
        for i in range(N)
    ]
    details = {
        f"u{i}": [
            {"id": f"d{i}-{p}", "skuId": f"sku-{p.lower()}", "skuPartNumber": p, "servicePlans": []}
            for p in PARTS[: 1 + i % 2]
        ]
        for i in range(N)
    }
    return MicrosoftGraph("tenant-1", "app-1", SECRET, skus, users, details, page_size=3)


@pytest.fixture
def server(graph: MicrosoftGraph) -> Iterator[VendorServer]:
    srv = VendorServer([graph]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, secret: str = SECRET) -> dict[str, Any]:
    base = server.base("msgraph")
    return {
        "name": "m365",
        "kind": "msgraph",
        "base_url": base + "/v1.0",
        "retry": FAST_RETRY,
        "timeout": "2s",
        "auth": {
            "client_id": "app-1",
            "client_secret": secret,
            "token_url": base + "/tenant-1/oauth2/v2.0/token",
        },
    }


class TestMsGraphContract(VendorContract):
    supports_cursor = False

    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"secret": "wrong-graph-secret"}
    broken_words = "check the credentials in sources[m365].auth"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "licenses": {f"sku-{p.lower()}" for p in PARTS},
            "people": {f"u{i}" for i in range(N)},
            "license_assignments": {
                (f"u{i}", f"sku-{p.lower()}") for i in range(N) for p in PARTS[: 1 + i % 2]
            },
        }


def test_sync_lands_seats_products_and_holders(server: VendorServer, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    licenses = {
        r[0]: r[1:]
        for r in gateway.rows("SELECT sku, vendor, product, seats_purchased, seats_assigned FROM licenses")
    }
    assert licenses["ENTERPRISEPREMIUM"] == ("Microsoft", "Office 365 E5", 27, 14)  # enabled 25 + warning 2
    assert licenses["CRMSTANDARD"] == ("Microsoft", "Microsoft Dynamics CRM Online", 0, 14)  # all suspended
    assert licenses["SCHOOL_DATA_SYNC_P2"][1] == "SCHOOL_DATA_SYNC_P2"  # unknown SKU keeps its part number
    holders = gateway.rows(
        "SELECT p.email, p.employment_status FROM license_assignments a "
        "JOIN licenses l ON l.id = a.license_id JOIN people p ON p.id = a.person_id "
        "WHERE l.sku = 'CRMSTANDARD' ORDER BY 1"
    )
    assert holders == [
        ("grace1@example.com", "active"),
        ("grace3@example.com", "active"),
        ("grace5@example.com", "active"),
    ]  # grace5 has no mail: by userPrincipalName
    status = dict(gateway.rows("SELECT email, employment_status FROM people"))
    assert status["grace2@example.com"] == "terminated"  # accountEnabled false


def test_second_sync_reads_everything_again(
    server: VendorServer, graph: MicrosoftGraph, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    assert gateway.sync().ok
    graph.skus[0]["consumedUnits"] = 20
    result = gateway.sync()
    assert result.ok
    assert result.incremental == []
    assert gateway.rows("SELECT seats_assigned FROM licenses WHERE sku = 'ENTERPRISEPREMIUM'") == [(20,)]
    assert graph.tokens_issued == 2  # one token per sync (each sync opens a new session)


@pytest.mark.parametrize(
    ("fault", "words"),
    [(401, "401 Unauthorized"), (500, "500 Internal Server Error"), ("garbage", "is not JSON")],
)
def test_a_failing_graph_keeps_the_last_good_licenses(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "msgraph", fault, path="/v1.0/")
    assert words in error
    assert "/v1.0/subscribedSkus" in error
    assert len(gateway.rows("SELECT id FROM licenses")) == 3
