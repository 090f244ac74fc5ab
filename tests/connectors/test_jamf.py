"""kind: jamf against a local Jamf Pro: basic credentials exchanged for a token, computers
inventory by `page`/`page-size` with sections, `filter=general.reportDate=gt=…` later."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from contract import read_all
from http_sync import FAST_RETRY, Gateway, VendorContract, connector
from vendor_server import Jamf, VendorServer

USER, PASSWORD = "api-reader", "jamf-pass-77"
N = 8


def computer(i: int, report: str | None = None) -> dict[str, Any]:
    return {
        "id": str(i + 1),
        "udid": f"udid-{i}",
        "general": {
            "name": f"MBP-{i:03d}",
            "assetTag": f"JT{i:04d}",
            "lastIpAddress": f"10.1.0.{i}",
            "reportDate": report or f"2024-05-{1 + i:02d}T18:04:13Z",
            "lastContactTime": "2024-06-01T08:00:00Z",
        },
        "hardware": {
            "make": "Apple",
            "model": "MacBook Pro (14-inch, 2023)",
            "serialNumber": f"C02ZC2QYLV{i:02d}",
            "macAddress": f"a4:83:e7:00:00:{i:02x}",
        },
        "operatingSystem": {"name": "macOS", "version": "14.5"},
        "userAndLocation": {"username": f"dev{i}", "email": f"dev{i}@example.com" if i % 4 else None},
        "purchasing": {
            "purchasePrice": "$500" if i % 2 else "1,299.00",
            "poDate": "2023-10-02",
            "warrantyDate": "2026-10-02",
        },
        "applications": [{"name": "Safari.app"}],
    }


@pytest.fixture
def jamf() -> Jamf:
    return Jamf(USER, PASSWORD, [computer(i) for i in range(N)])


@pytest.fixture
def server(jamf: Jamf) -> Iterator[VendorServer]:
    srv = VendorServer([jamf]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "name": "jamf",
        "kind": "jamf",
        "base_url": server.base("jamf"),
        "paginator": {"size": 3},
        "auth": {"username": USER, "password": password},
        "retry": FAST_RETRY,
        "timeout": "2s",
    }


class TestJamfContract(VendorContract):
    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"password": "wrong-jamf-pass"}
    broken_words = "401 Unauthorized from the token endpoint"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {"assets": {str(i + 1) for i in range(N)}}

    @pytest.fixture
    def change_records(self, jamf: Jamf) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            jamf.computers[1] = computer(1, "2024-07-01T00:00:00Z")
            return {"assets": {"2"}}

        return change


def test_sync_lands_computers_with_their_users_and_prices(
    server: VendorServer, jamf: Jamf, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    rows = {
        r[0]: r[1:]
        for r in gateway.rows(
            "SELECT a.serial_number, a.cost, a.manufacturer, a.hostname, a.os, p.email FROM assets a "
            "LEFT JOIN people p ON p.id = a.assigned_to_id"
        )
    }
    assert len(rows) == N
    assert float(rows["C02ZC2QYLV01"][0]) == 500.0  # "$500"
    assert float(rows["C02ZC2QYLV00"][0]) == 1299.0
    assert rows["C02ZC2QYLV01"][1:] == ("Apple", "mbp-001", "macOS 14.5", "dev1@example.com")
    pages = [c for c in server.calls_to("jamf") if c.path == "/api/v1/computers-inventory"]
    assert {c.arg("page") for c in pages} == {"0", "1", "2"}
    assert pages[0].query["section"] == [
        "GENERAL",
        "HARDWARE",
        "OPERATING_SYSTEM",
        "USER_AND_LOCATION",
        "PURCHASING",
    ]
    assert jamf.tokens_issued == 1


def test_second_sync_filters_by_report_date(server: VendorServer, jamf: Jamf, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, source(server))
    assert gateway.sync().ok
    jamf.computers[0] = computer(0, "2024-08-01T00:00:00Z") | {
        "general": {**computer(0)["general"], "name": "MBP-RENAMED", "reportDate": "2024-08-01T00:00:00Z"}
    }
    result = gateway.sync()
    assert result.ok
    assert result.incremental == ["assets"]
    filters = {c.arg("filter") for c in server.calls_to("jamf") if c.arg("filter")}
    assert 'general.reportDate=ge="2024-05-08T18:04:13Z"' in filters
    assert ("mbp-renamed",) in gateway.rows("SELECT hostname FROM assets")


@pytest.mark.parametrize(
    ("fault", "words"),
    [(401, "401 Unauthorized"), (500, "500 Internal Server Error"), ("garbage", "is not JSON")],
)
def test_a_failing_jamf_keeps_the_last_good_snapshot(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "jamf", fault, path="computers-inventory")
    assert words in error
    assert len(gateway.rows("SELECT id FROM assets")) == N


def test_a_server_capping_the_page_size_is_read_to_the_end(server: VendorServer, jamf: Jamf) -> None:
    jamf.max_page_size = 3  # asked for 5 a page, the server sends 3: 8 computers in 3 pages
    conn = connector(source(server) | {"paginator": {"size": 5}})
    try:
        ids = [i for b in read_all(conn, "assets") for i in b.frame["id"]]
    finally:
        conn.close()
    assert sorted(ids) == sorted(str(i + 1) for i in range(N))


def test_category_comes_from_the_model_and_os_names_its_version(
    server: VendorServer, jamf: Jamf, tmp_path: Path
) -> None:
    jamf.computers[1]["hardware"]["model"] = "iMac (24-inch, 2023)"
    jamf.computers[2]["hardware"]["model"] = "Mac mini (M2, 2023)"
    jamf.computers[3]["operatingSystem"] = {"name": "macOS", "version": "13.6.1"}
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    rows = {r[0]: r[1:] for r in gateway.rows("SELECT serial_number, category, os FROM assets")}
    assert rows["C02ZC2QYLV00"] == ("laptop", "macOS 14.5")
    assert rows["C02ZC2QYLV01"] == ("desktop", "macOS 14.5")
    assert rows["C02ZC2QYLV02"] == ("desktop", "macOS 14.5")
    assert rows["C02ZC2QYLV03"] == ("laptop", "macOS 13.6.1")
