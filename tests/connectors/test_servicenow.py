"""kind: servicenow against a local Table API: display values, dot-walked references,
sysparm_offset paging with X-Total-Count, and `sys_updated_on>` for later syncs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from contract import read_all
from http_sync import FAST_RETRY, Gateway, VendorContract, connector
from vendor_server import ServiceNow, VendorServer

USER, PASSWORD = "reader", "sn-pass-5521"
N = 11


def sys_id(table: str, i: int) -> str:
    return f"{table[:4]}{i:028d}"


def computer(i: int, updated: str | None = None) -> dict[str, Any]:
    cost = 1799.99 + i
    return {
        "sys_id": sys_id("cmdb", i),
        "sys_updated_on": (updated or f"2024-03-{1 + i:02d} 12:50:05", f"03/{1 + i:02d}/2024 05:50:05"),
        "asset_tag": f"P{i:06d}",
        "serial_number": f"sn-{i:05d}x",
        "name": (f"LT-{i:05d}.corp.example.com",) * 2,
        "manufacturer": ("a1b2", "Hewlett-Packard" if i % 2 else "Dell Inc."),
        "model_id": ("m1", "EliteBook 840 G10"),
        "form_factor": ("laptop", "Laptop"),
        "install_status": ("1", "Installed") if i % 3 else ("6", "In stock"),
        "location": ("loc1", "London Office"),
        "assigned_to.email": (f"User{i % 4}@Example.com", f"User{i % 4}@Example.com"),
        "department": ("d1", "Engineering"),
        "purchase_date": ("2023-05-17", "17/05/2023"),
        "warranty_expiration": ("2026-05-17", "17/05/2026"),
        "cost": (f"{cost:.2f}", f"{cost:,.2f}"),
        "mac_address": "00-1A-2B-3C-4D-5E" if i % 2 else "",
        "ip_address": "10.0.0.1",
        "os": ("Windows 11 Enterprise", "Windows 11 Enterprise"),
        "last_discovered": "2024-03-30 08:00:00",
    }


def user(i: int) -> dict[str, Any]:
    return {
        "sys_id": sys_id("user", i),
        "sys_updated_on": f"2024-02-{1 + i:02d} 00:00:00",
        "user_name": f"user{i}",
        "email": f"user{i}@example.com",
        "name": f"User {i}",
        "department": ("d1", "Engineering"),
        "active": ("false", "false") if i == 3 else ("true", "true"),
        "manager.user_name": "user0" if i else "",
    }


@pytest.fixture
def snow() -> ServiceNow:
    locations = [
        {
            "sys_id": sys_id("loca", 1),
            "sys_updated_on": "2024-01-01 00:00:00",
            "name": "London Office",
            "city": "London",
            "country": "United Kingdom",
        }
    ]
    return ServiceNow(
        USER,
        PASSWORD,
        {
            "cmdb_ci_computer": [computer(i) for i in range(N)],
            "sys_user": [user(i) for i in range(5)],
            "cmn_location": locations,
        },
    )


@pytest.fixture
def server(snow: ServiceNow) -> Iterator[VendorServer]:
    srv = VendorServer([snow]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "name": "snow",
        "kind": "servicenow",
        "base_url": server.base("servicenow"),
        "auth": {"username": USER, "password": password},
        "paginator": {"limit": 4},
        "retry": FAST_RETRY,
        "timeout": "2s",
    }


class TestServiceNowContract(VendorContract):
    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"password": "wrong-pass-1"}
    broken_words = "check the credentials in sources[snow].auth"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "assets": {sys_id("cmdb", i) for i in range(N)},
            "people": {sys_id("user", i) for i in range(5)},
            "locations": {sys_id("loca", 1)},
        }

    @pytest.fixture
    def change_records(self, snow: ServiceNow) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            snow.tables["cmdb_ci_computer"][2] = computer(2, "2024-06-01 00:00:00")
            snow.tables["cmdb_ci_computer"].append(computer(50, "2024-06-02 00:00:00"))
            return {"assets": {sys_id("cmdb", 2), sys_id("cmdb", 50)}}

        return change


def test_sync_uses_raw_values_for_codes_and_display_values_for_names(
    server: VendorServer, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    rows = gateway.rows(
        "SELECT a.asset_tag, a.serial_number, a.hostname, a.manufacturer, a.status, a.cost, a.category, "
        "l.name, p.email, a.mac_addresses FROM assets a LEFT JOIN locations l ON l.id = a.location_id "
        "LEFT JOIN people p ON p.id = a.assigned_to_id ORDER BY a.asset_tag"
    )
    assert len(rows) == N
    tag, serial, host, maker, status, cost, category, location, email, macs = rows[1]
    assert (tag, serial, host, maker, status) == ("P000001", "SN-00001X", "lt-00001", "HP", "in_use")
    assert float(cost) == pytest.approx(1800.99)  # the raw 1800.99, not the display "1,800.99"
    assert (category, location, email, macs) == (
        "laptop",
        "London Office",
        "user1@example.com",
        ["00:1a:2b:3c:4d:5e"],
    )
    assert rows[0][4] == "in_stock"
    assert rows[0][3] == "Dell"
    people = dict(gateway.rows("SELECT email, employment_status FROM people"))
    assert people["user3@example.com"] == "terminated"
    assert people["user1@example.com"] == "active"
    managers = gateway.rows("SELECT count(*) FROM people p JOIN people m ON m.id = p.manager_id")
    assert managers == [(4,)]


def test_second_sync_asks_for_records_updated_after_the_cursor(
    server: VendorServer, snow: ServiceNow, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    assert gateway.sync().ok
    snow.tables["cmdb_ci_computer"][0] = computer(0, "2024-07-01 00:00:00") | {"asset_tag": "P999999"}
    server.calls.clear()
    result = gateway.sync()
    assert result.ok
    assert "assets" in result.incremental
    queries = {c.arg("sysparm_query") for c in server.calls_to("servicenow") if "computer" in c.path}
    assert "sys_updated_on>=2024-03-11 12:50:05^ORDERBYsys_id" in queries
    tags = {r[0] for r in gateway.rows("SELECT asset_tag FROM assets")}
    assert "P999999" in tags
    assert "P000000" not in tags
    assert len(tags) == N


@pytest.mark.parametrize(
    ("fault", "words"),
    [(401, "401 Unauthorized"), (503, "503 Service Unavailable"), ("garbage", "is not JSON")],
)
def test_a_failing_cmdb_keeps_the_last_good_snapshot(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "servicenow", fault)
    assert words in error
    assert "/api/now/table/" in error
    assert len(gateway.rows("SELECT id FROM assets")) == N


def test_a_streams_own_sysparm_query_is_joined_with_the_incremental_one(server: VendorServer) -> None:
    config = source(server) | {"entities": {"assets": {"params": {"sysparm_query": "install_status=1"}}}}
    conn = connector(config)
    try:
        assert read_all(conn, "assets", "2024-03-11 12:50:05")
    finally:
        conn.close()
    queries = {c.arg("sysparm_query") for c in server.calls_to("servicenow") if "computer" in c.path}
    assert queries == {"install_status=1^sys_updated_on>=2024-03-11 12:50:05^ORDERBYsys_id"}
