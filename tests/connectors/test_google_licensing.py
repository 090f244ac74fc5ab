"""kind: google_licensing against a local License Manager: listForProduct per product,
`maxResults` + `nextPageToken`, `items` left out when empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from http_sync import FAST_RETRY, Gateway, VendorContract, connector
from vendor_server import Google, VendorServer

TOKEN = "ya29.test-token"
SKUS = [
    ("Google-Apps", "1010020027", "Google Workspace Business Starter"),
    ("Google-Apps", "1010020028", "Google Workspace Business Standard"),
    ("101031", "1010310008", "Google Workspace for Education Plus"),
]


def assignment(i: int) -> dict[str, Any]:
    product, sku, name = SKUS[i % 3]
    return {
        "kind": "licensing#licenseAssignment",
        "etags": '"e"',
        "userId": f"Student{i}@School.example",
        "productId": product,
        "skuId": sku,
        "skuName": name,
        "productName": "Google Workspace",
        "selfLink": f"https://licensing.googleapis.com/apps/licensing/v1/product/{product}/sku/{sku}/user/x",
    }


N = 10


@pytest.fixture
def server() -> Iterator[VendorServer]:
    srv = VendorServer([Google(TOKEN, "C03az79cb", [assignment(i) for i in range(N)])]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, token: str = TOKEN, **extra: Any) -> dict[str, Any]:
    return {
        "name": "gws",
        "kind": "google_licensing",
        "base_url": server.base("google"),
        "customer_id": "C03az79cb",
        "products": ["Google-Apps", "101031", "Google-Vault"],
        "auth": {"token": token},
        "paginator": {"size": 2},
        "retry": FAST_RETRY,
        "timeout": "2s",
        **extra,
    }


class TestGoogleLicensingContract(VendorContract):
    supports_cursor = False

    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"token": "expired-google-token"}
    broken_words = "check the credentials in sources[gws].auth"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "licenses": {s for _, s, _ in SKUS},
            "license_assignments": {
                (SKUS[i % 3][0], SKUS[i % 3][1], f"Student{i}@School.example") for i in range(N)
            },
        }


def test_sync_lands_skus_as_licenses_and_seats_by_user(server: VendorServer, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    licenses = gateway.rows("SELECT sku, product, vendor, seats_assigned FROM licenses ORDER BY sku")
    assert licenses == [
        ("1010020027", "Google Workspace Business Starter", "Google", 4),
        ("1010020028", "Google Workspace Business Standard", "Google", 3),
        ("1010310008", "Google Workspace for Education Plus", "Google", 3),
    ]
    emails = {
        r[0]
        for r in gateway.rows("SELECT p.email FROM license_assignments a JOIN people p ON p.id = a.person_id")
    }
    assert "student0@school.example" in emails
    assert len(emails) == N
    calls = server.calls_to("google")
    assert {c.path for c in calls} == {
        "/product/Google-Apps/users",
        "/product/101031/users",
        "/product/Google-Vault/users",
    }
    assert {c.arg("pageToken") for c in calls} >= {None, "2", "4"}


def test_a_wrong_customer_is_a_readable_400(server: VendorServer) -> None:
    conn = connector(source(server, customer_id="someone-else"))
    try:
        with pytest.raises(Exception, match=r"400 Bad Request from http.*check the params and the path"):
            conn.check()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("fault", "words"),
    [(401, "401 Unauthorized"), (500, "500 Internal Server Error"), ("garbage", "is not JSON")],
)
def test_a_failing_license_manager_keeps_the_last_good_snapshot(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "google", fault)
    assert words in error
    assert "/product/" in error
    assert len(gateway.rows("SELECT id FROM license_assignments")) == N
