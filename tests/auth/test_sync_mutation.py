"""`sync_source`: admins sync a source from GraphQL (and accept a read its guard held);
it passes the door like every root field, and no other role has it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_gateway import make_config, token
from support.serving import serving

from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.app import create_app

ASSETS = "tag,host\n" + "".join(f"A{i},host-{i}\n" for i in range(1, 11))
SYNC = (
    "mutation($n: String, $a: Boolean) { sync_source(name: $n, accept: $a) "
    "{ snapshot_id sources { name status records error } } }"
)
COUNT = "{ assets_aggregate { aggregate { count } } }"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    csv = tmp_path / "inv.csv"
    csv.write_text(ASSETS, encoding="utf-8")
    source = {
        "name": "inventory",
        "kind": "spreadsheet",
        "path": str(csv),
        "entities": {"assets": {"id": "tag", "fields": {"asset_tag": "tag", "hostname": "host"}}},
    }
    config = make_config(tmp_path, sources=[source])
    syncer = Syncer(config)
    syncer.run(None)
    syncer.close()
    app = create_app(config, StoreReader(tmp_path / "store"))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield http, csv


def _post(http: httpx.Client, role: str, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token(role)}"}
    response = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_syncs_a_source_and_the_next_query_sees_it(gateway: tuple[httpx.Client, Path]) -> None:
    http, csv = gateway
    assert _post(http, "admin", COUNT)["data"]["assets_aggregate"]["aggregate"]["count"] == 10
    csv.write_text(ASSETS + "A11,host-11\n", encoding="utf-8")
    body = _post(http, "admin", SYNC, n="inventory")
    assert "errors" not in body, body
    (synced,) = body["data"]["sync_source"]["sources"]
    assert synced == {"name": "inventory", "status": "ok", "records": 11, "error": None}
    assert _post(http, "admin", COUNT)["data"]["assets_aggregate"]["aggregate"]["count"] == 11


def test_a_held_read_is_accepted_by_the_mutation(gateway: tuple[httpx.Client, Path]) -> None:
    http, csv = gateway
    csv.write_text("tag,host\n", encoding="utf-8")  # the export came out empty
    (held,) = _post(http, "admin", SYNC, n="inventory")["data"]["sync_source"]["sources"]
    assert held["status"] == "held"
    assert "accept" in held["error"]
    assert _post(http, "admin", COUNT)["data"]["assets_aggregate"]["aggregate"]["count"] == 10
    (accepted,) = _post(http, "admin", SYNC, n="inventory", a=True)["data"]["sync_source"]["sources"]
    assert accepted["status"] == "ok"
    assert _post(http, "admin", COUNT)["data"]["assets_aggregate"]["aggregate"]["count"] == 0


@pytest.mark.parametrize("role", ["auditor", "service_desk", "employee"])
def test_other_roles_cannot_sync(gateway: tuple[httpx.Client, Path], role: str) -> None:
    http, _ = gateway
    body = _post(http, role, SYNC, n="inventory")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert "sync_source" in body["errors"][0]["message"]


def test_an_unknown_source_is_bad_user_input(gateway: tuple[httpx.Client, Path]) -> None:
    http, _ = gateway
    body = _post(http, "admin", SYNC, n="nosuch")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "nosuch" in body["errors"][0]["message"]
