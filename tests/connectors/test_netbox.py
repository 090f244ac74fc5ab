"""kind: netbox against a local NetBox: `Token` auth (403 when wrong), `next` links, empty
serials, `last_updated__gte` for later syncs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from http_sync import FAST_RETRY, Gateway, VendorContract
from vendor_server import NetBox, VendorServer

TOKEN = "0123456789abcdef0123456789abcdef01234567"
ROLES = ["Core Switch", "Access Switch", "Server", "Router", "PDU"]
N = 12


def device(i: int, updated: str | None = None) -> dict[str, Any]:
    return {
        "id": i + 1,
        "name": f"dmi01-akron-{'rtr' if i % 5 == 3 else 'sw'}{i:02d}",
        "device_type": {
            "id": 1,
            "manufacturer": {"id": 3, "name": "Juniper", "slug": "juniper"},
            "model": "EX4300-48T",
            "slug": "ex4300-48t",
        },
        "role": {"id": 1, "name": ROLES[i % 5], "slug": ROLES[i % 5].lower().replace(" ", "-")},
        "serial": "" if i % 3 else f"jn12{i:04d}",
        "asset_tag": None if i % 2 else f"NB{i:04d}",
        "site": {"id": 1 + i % 2, "name": ["DM-Akron", "DM-Camden"][i % 2], "slug": "dm-akron"},
        "status": {"value": "active", "label": "Active"},
        "primary_ip": {"id": 9, "family": 4, "address": f"10.0.{i}.1/24"} if i % 2 else None,
        "last_updated": updated or f"2024-02-{1 + i:02d}T10:00:00.000000Z",
    }


@pytest.fixture
def netbox() -> NetBox:
    sites = [
        {
            "id": 1 + s,
            "name": ["DM-Akron", "DM-Camden"][s],
            "slug": ["dm-akron", "dm-camden"][s],
            "physical_address": "",
            "last_updated": "2024-01-01T00:00:00Z",
        }
        for s in range(2)
    ]
    return NetBox(TOKEN, [device(i) for i in range(N)], sites)


@pytest.fixture
def server(netbox: NetBox) -> Iterator[VendorServer]:
    srv = VendorServer([netbox]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, token: str = TOKEN) -> dict[str, Any]:
    return {
        "name": "netbox",
        "kind": "netbox",
        "base_url": server.base("netbox"),
        "auth": {"token": token},
        "paginator": {"size": 5},
        "retry": FAST_RETRY,
        "timeout": "2s",
    }


class TestNetBoxContract(VendorContract):
    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"token": "not-the-netbox-token"}
    broken_words = "403 Forbidden"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {"assets": {str(i + 1) for i in range(N)}, "locations": {"1", "2"}}

    @pytest.fixture
    def change_records(self, netbox: NetBox) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            netbox.lists["/api/dcim/devices/"][5] = device(5, "2024-09-09T00:00:00.000000Z")
            return {"assets": {"6"}}

        return change


def test_sync_lands_devices_with_categories_sites_and_no_empty_serials(
    server: VendorServer, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    rows = gateway.rows(
        "SELECT a.hostname, a.serial_number, a.category, a.status, a.manufacturer, l.name, "
        "a.ip_addresses FROM assets a LEFT JOIN locations l ON l.id = a.location_id "
        "ORDER BY a.hostname"
    )
    assert len(rows) == N  # empty serials do not merge devices together
    by_host = {r[0]: r[1:] for r in rows}
    assert by_host["dmi01-akron-sw00"] == ("JN120000", "network", "in_use", "Juniper", "DM-Akron", None)
    assert by_host["dmi01-akron-sw01"][0] is None
    assert by_host["dmi01-akron-sw01"][5] == ["10.0.1.1"]
    assert by_host["dmi01-akron-sw02"][1] == "server"
    assert by_host["dmi01-akron-sw04"][1] == "other"  # PDU


def test_second_sync_asks_for_devices_updated_since(server: VendorServer, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, source(server))
    assert gateway.sync().ok
    result = gateway.sync()
    assert result.ok
    assert set(result.incremental) == {"assets", "locations"}
    since = {c.arg("last_updated__gte") for c in server.calls_to("netbox") if c.path == "/api/dcim/devices/"}
    assert "2024-02-12T10:00:00.000000Z" in since
    assert len(gateway.rows("SELECT id FROM assets")) == N


@pytest.mark.parametrize(
    ("fault", "words"),
    [(403, "grant them read access"), (500, "500 Internal Server Error"), ("garbage", "is not JSON")],
)
def test_a_failing_netbox_keeps_the_last_good_snapshot(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "netbox", fault)
    assert words in error
    assert "/api/dcim/" in error
    assert len(gateway.rows("SELECT id FROM assets")) == N
