"""The write path against the real team databases of this machine (PostgreSQL and MariaDB): an
update through GraphQL changes the owning row in the source's vocabulary, is served by the
next query without a sync, is refused with CONFLICT when the row changed meanwhile, and is in
`changes` and the asset's `history`."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from auth_gateway import make_config, token
from support.serving import serving

from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.app import create_app

ROWS = [
    ("c1", "B-001", "SNB001", "lt-b001", "Laptop", 1),
    ("c2", "B-002", "SNB002", "lt-b002", "Laptop", 6),
]


def _ddl(dialect: str, table: str) -> str:
    key = {
        "postgresql": "sys_id TEXT PRIMARY KEY DEFAULT md5(random()::text)",
        "mysql": "sys_id VARCHAR(32) PRIMARY KEY DEFAULT (replace(uuid(), '-', ''))",
    }[dialect]
    return (
        f"CREATE TABLE {table} ({key}, asset_tag VARCHAR(40), serial_number VARCHAR(40), "
        "name VARCHAR(100), model_category VARCHAR(40), install_status INTEGER)"
    )


@pytest.fixture(params=["postgres", "mariadb"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, sa.Engine, str]]:
    url = request.getfixturevalue(f"{request.param}_url")
    engine = sa.create_engine(url)
    table = f"ci_computer_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(_ddl(engine.dialect.name, table))
        for row in ROWS:
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES (:i, :t, :s, :n, :c, :st)"),
                dict(zip(["i", "t", "s", "n", "c", "st"], row, strict=True)),
            )
    fields = {
        "asset_tag": "asset_tag",
        "serial_number": "serial_number",
        "hostname": "name",
        "category": "model_category",
        "status": "install_status",
    }
    source = {
        "name": "cmdb",
        "kind": "sql",
        "url": url,
        "entities": {"assets": {"table": table, "id": "sys_id", "fields": fields}},
    }
    config = make_config(tmp_path, sources=[source], reconcile={"assets": {"home": "cmdb"}})
    syncer = Syncer(config)
    syncer.run(None)
    syncer.close()
    try:
        app = create_app(config, StoreReader(tmp_path / "store"))
        with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            yield http, engine, table
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {table}")
        engine.dispose()


def _post(http: httpx.Client, role: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token(role)}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _status(engine: sa.Engine, table: str, sys_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(f"SELECT install_status FROM {table} WHERE sys_id = :i"), {"i": sys_id}
        ).scalar()


UPDATE = (
    "mutation($id: uuid!, $s: String) "
    "{ update_assets_by_pk(pk_columns: {id: $id}, _set: {status: $s}) { status } }"
)
READ = '{ assets(where: {asset_tag: {_eq: "B-001"}}) { id status history { field before after outcome } } }'


def test_an_update_reaches_the_server_and_shows_without_a_sync(
    server: tuple[httpx.Client, sa.Engine, str],
) -> None:
    http, engine, table = server
    (asset,) = _post(http, "admin", READ)["data"]["assets"]
    assert asset["status"] == "in_use"
    body = _post(http, "admin", UPDATE, id=asset["id"], s="in_repair")
    assert body == {"data": {"update_assets_by_pk": {"status": "in_repair"}}}, body
    assert _status(engine, table, "c1") == 3  # ServiceNow's "in maintenance"
    (after,) = _post(http, "admin", READ)["data"]["assets"]
    assert after["status"] == "in_repair"
    assert after["history"] == [
        {"field": "status", "before": "in_use", "after": "in_repair", "outcome": "accepted"}
    ]
    changes = _post(http, "auditor", "{ changes { entity_id field outcome } }")["data"]["changes"]
    assert changes == [{"entity_id": asset["id"], "field": "status", "outcome": "accepted"}]


def test_a_change_at_the_server_meanwhile_is_a_conflict(server: tuple[httpx.Client, sa.Engine, str]) -> None:
    http, engine, table = server
    (asset,) = _post(http, "admin", READ)["data"]["assets"]
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table} SET install_status = 7 WHERE sys_id = 'c1'"))
    body = _post(http, "admin", UPDATE, id=asset["id"], s="in_repair")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert (error["extensions"]["seen"], error["extensions"]["current"]) == ("in_use", "retired")
    assert _status(engine, table, "c1") == 7
