"""The write path through the ServiceNow loopback server (the Table API, stateful): an update
through GraphQL is PATCHed to the record that owns the field, in ServiceNow's codes, served by
the next query without a sync, and kept in `changes` and `history`; a record changed at
ServiceNow meanwhile is a CONFLICT."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "auth"), str(HERE.parent / "connectors")]

from auth_gateway import make_config, token  # noqa: E402
from http_sync import FAST_RETRY  # noqa: E402
from support.serving import serving  # noqa: E402
from test_servicenow import PASSWORD, USER, computer, sys_id, user  # noqa: E402
from vendor_server import ServiceNow, VendorServer  # noqa: E402

from federation.pipeline.store import StoreReader  # noqa: E402
from federation.pipeline.sync import Syncer  # noqa: E402
from federation.serving.app import create_app  # noqa: E402

CI = sys_id("cmdb", 1)  # install_status 1 (installed): in_use


@pytest.fixture
def snow(tmp_path: Path) -> Iterator[tuple[httpx.Client, ServiceNow]]:
    locations = [
        {"sys_id": sys_id("loca", i), "sys_updated_on": "2024-01-01 00:00:00", "name": name, "city": "x",
         "country": "United Kingdom"}
        for i, name in ((1, "London Office"), (2, "Paris Office"))
    ]  # fmt: skip
    vendor = ServiceNow(
        USER,
        PASSWORD,
        {"cmdb_ci_computer": [computer(i) for i in range(4)], "sys_user": [user(i) for i in range(4)],
         "cmn_location": locations},
    )  # fmt: skip
    server = VendorServer([vendor]).start()
    source = {"name": "snow", "kind": "servicenow", "base_url": server.base("servicenow"), "timeout": "5s",
              "auth": {"username": USER, "password": PASSWORD}, "retry": FAST_RETRY}  # fmt: skip
    config = make_config(tmp_path, sources=[source])
    try:
        syncer = Syncer(config)
        report = syncer.run(None)
        syncer.close()
        assert report.failed == [], report.failed
        app = create_app(config, StoreReader(tmp_path / "store"))
        with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
            yield http, vendor
    finally:
        server.stop()


def _post(http: httpx.Client, role: str, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token(role)}"}
    response = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


READ = '{ assets(where: {asset_tag: {_eq: "P000001"}}) { id status history { field before after source } } }'
UPDATE = (
    "mutation($id: uuid!, $s: String) "
    "{ update_assets_by_pk(pk_columns: {id: $id}, _set: {status: $s}) { status } }"
)


def _held(vendor: ServiceNow) -> Any:
    (record,) = [r for r in vendor.tables["cmdb_ci_computer"] if r["sys_id"] == CI]
    status = record["install_status"]
    return status[0] if isinstance(status, tuple | list) else status


def test_an_update_is_patched_to_servicenow_and_served_at_once(snow: tuple[httpx.Client, ServiceNow]) -> None:
    http, vendor = snow
    (asset,) = _post(http, "admin", READ)["data"]["assets"]
    assert asset["status"] == "in_use"
    body = _post(http, "admin", UPDATE, id=asset["id"], s="in_repair")
    assert body == {"data": {"update_assets_by_pk": {"status": "in_repair"}}}, body
    assert _held(vendor) == "3"  # ServiceNow's "in maintenance"
    (after,) = _post(http, "admin", READ)["data"]["assets"]
    assert after["status"] == "in_repair"
    assert after["history"] == [
        {"field": "status", "before": "in_use", "after": "in_repair", "source": "snow"}
    ]


def test_a_change_at_servicenow_meanwhile_is_a_conflict(snow: tuple[httpx.Client, ServiceNow]) -> None:
    http, vendor = snow
    (asset,) = _post(http, "admin", READ)["data"]["assets"]
    (record,) = [r for r in vendor.tables["cmdb_ci_computer"] if r["sys_id"] == CI]
    record["install_status"] = ("7", "Retired")
    body = _post(http, "admin", UPDATE, id=asset["id"], s="in_repair")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert (error["extensions"]["seen"], error["extensions"]["current"]) == ("in_use", "retired")
    assert _held(vendor) == "7"
