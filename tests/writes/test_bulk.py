"""A bulk call is many writes, each on its own: one scan's refusal (the asset changed at its
source, the source refused the record, the asset is not in stock, the scan names nothing,
the asset is in the bulk twice) neither stops nor undoes the others; each write has its own
history rows, accepted or refused; a loan stays only where the source was written; and the
call publishes one snapshot, however many it wrote. Over HTTP against the SQLite CMDB, and
through `Writer.each` against the real PostgreSQL and MariaDB team databases."""

from __future__ import annotations

import sqlite3
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from write_gateway import Gateway, estate_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from auth_gateway import make_config
from support.serving import synced_and_served

from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.workflow import Change, open_workflow_store
from federation.writes import Caller, WriteError, Writer, Written

CHECKOUTS = """
mutation($scans: [String!]!, $p: uuid) {
  checkout_assets(scans: $scans, to_person: $p) { scan ok asset_id code reason }
}
"""
CHECKINS = "mutation($scans: [String!]!) { checkin_assets(scans: $scans) { scan ok code reason } }"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    # every snapshot kept, to count those a call publishes
    config, db = estate_config(tmp_path, store={"path": str(tmp_path / "store"), "keep": 100})
    with synced_and_served(config) as http:
        yield Gateway(http, db, config)


def _written_snapshots(gateway: Gateway) -> int:
    return len(
        list((gateway.config.resolve(gateway.config.settings.store.path) / "published").glob("*-w.duckdb"))
    )


def _history(gateway: Gateway, asset_id: str) -> set[tuple[str, str]]:
    store = open_workflow_store(gateway.config)
    try:
        return {(c.field, c.outcome) for c in store.history("assets", asset_id)}
    finally:
        store.close()


def test_a_bulk_check_out_writes_each_scan_on_its_own_in_one_snapshot(gateway: Gateway) -> None:
    ann = gateway.person("ann@example.com")
    ids = {tag: gateway.asset(tag)["id"] for tag in ("A-001", "A-002", "A-004", "A-005")}
    with sqlite3.connect(gateway.db) as con:
        # A-005 went to repair at the CMDB since the graph was published: CONFLICT
        con.execute("UPDATE ci_computer SET install_status = 3 WHERE sys_id = 'c5'")
        # the team locked A-002's record: the source refuses its write
        con.execute(
            "CREATE TRIGGER locked BEFORE UPDATE ON ci_computer WHEN OLD.sys_id = 'c2' "
            "BEGIN SELECT RAISE(ABORT, 'c2 is locked by the network team'); END"
        )
    before = _written_snapshots(gateway)
    scans = ["A-004", "A-005", "A-002", "A-001", "NO-SUCH-TAG", "https://assets.example.com/hardware/A-004"]
    body = gateway.post("service_desk", CHECKOUTS, scans=scans, p=ann)
    assert "errors" not in body, body
    results = body["data"]["checkout_assets"]
    assert [(r["ok"], r["code"]) for r in results] == [
        (True, None),
        (False, "CONFLICT"),  # changed at its source
        (False, "BAD_USER_INPUT"),  # refused by its source
        (False, "BAD_USER_INPUT"),  # in use: not in stock
        (False, "BAD_USER_INPUT"),  # no such asset
        (False, "CONFLICT"),  # checked out by the first scan of this very call
    ]
    assert "`status` changed at source `cmdb`" in results[1]["reason"]
    assert "locked by the network team" in results[2]["reason"]
    assert "already checked out" in results[5]["reason"]
    assert _written_snapshots(gateway) == before + 1

    # the sources: only A-004 written; A-005 keeps what its team set
    status = "SELECT install_status FROM ci_computer WHERE sys_id = ?"
    assert [gateway.cell(status, r) for r in ("c4", "c5", "c2")] == [1, 3, 6]
    assert gateway.cell("SELECT assigned_to FROM ci_computer WHERE sys_id = 'c4'") == "ann@example.com"
    assert gateway.asset("A-004")["status"] == "in_use"
    assert gateway.asset("A-002")["status"] == "in_stock"

    # each write's own history; the ones refused before any write leave none
    assert _history(gateway, ids["A-004"]) == {("status", "accepted"), ("assigned_to_id", "accepted")}
    assert _history(gateway, ids["A-005"]) == {("status", "conflict"), ("assigned_to_id", "refused")}
    assert _history(gateway, ids["A-002"]) == {("status", "refused"), ("assigned_to_id", "refused")}
    assert _history(gateway, ids["A-001"]) == set()

    # a loan only where the source was written
    store = open_workflow_store(gateway.config)
    try:
        assert set(store.open_checkouts(list(ids.values()))) == {ids["A-004"]}
    finally:
        store.close()

    # and back: one scan ok, one never out; again one snapshot
    back = gateway.post("service_desk", CHECKINS, scans=["A-004", "A-005"])["data"]["checkin_assets"]
    assert [(r["ok"], r["code"]) for r in back] == [(True, None), (False, "BAD_USER_INPUT")]
    assert gateway.cell(status, "c4") == 6
    assert _written_snapshots(gateway) == before + 2


def test_a_bulk_that_writes_nothing_publishes_nothing(gateway: Gateway) -> None:
    ann = gateway.person("ann@example.com")
    before = _written_snapshots(gateway)
    body = gateway.post("service_desk", CHECKOUTS, scans=["A-001", "NO-SUCH-TAG"], p=ann)
    assert [r["ok"] for r in body["data"]["checkout_assets"]] == [False, False]
    assert _written_snapshots(gateway) == before


def test_an_update_of_many_rows_is_still_all_or_nothing(gateway: Gateway) -> None:
    """`update_T` is one write of all its rows: one that changed at its source refuses all."""
    with sqlite3.connect(gateway.db) as con:
        con.execute("UPDATE ci_computer SET install_status = 3 WHERE sys_id = 'c5'")
    body = gateway.post(
        "admin",
        'mutation { update_assets(where: {asset_tag: {_in: ["A-004", "A-005"]}}, _set: {status: "lost"}) '
        "{ affected_rows } }",
    )
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT", body
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c4'") == 6
    ok = gateway.post(
        "admin",
        'mutation { update_assets(where: {asset_tag: {_in: ["A-002", "A-004"]}}, '
        '_set: {status: "in_repair"}) { affected_rows returning { asset_tag status } } }',
    )
    assert ok["data"]["update_assets"]["returning"] == [
        {"asset_tag": t, "status": "in_repair"}
        for t in sorted(["A-002", "A-004"], key=lambda t: gateway.asset(t)["id"])
    ]


# ----------------------------------------------------------------------------- the team databases
ROWS = [(f"c{i}", f"B-{i:03d}", f"SNB{i:03d}", f"lt-b{i:03d}", "Laptop", 6) for i in range(1, 6)]


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Writer, sa.Engine, str, Any]]:
    url = request.getfixturevalue(f"{request.param}_url")
    engine = sa.create_engine(url)
    table = f"ci_computer_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {table} (sys_id VARCHAR(32) PRIMARY KEY, asset_tag VARCHAR(40), "
            "serial_number VARCHAR(40), name VARCHAR(100), model_category VARCHAR(40), "
            "install_status INTEGER)"
        )
        conn.execute(
            sa.text(f"INSERT INTO {table} VALUES (:i, :t, :s, :n, :c, :st)"),
            [dict(zip(["i", "t", "s", "n", "c", "st"], row, strict=True)) for row in ROWS],
        )
    fields = {"asset_tag": "asset_tag", "serial_number": "serial_number", "hostname": "name",
              "category": "model_category", "status": "install_status"}  # fmt: skip
    source = {"name": "cmdb", "kind": "sql", "url": url,
              "entities": {"assets": {"table": table, "id": "sys_id", "fields": fields}}}  # fmt: skip
    config = make_config(
        tmp_path,
        sources=[source],
        reconcile={"assets": {"home": "cmdb"}},
        store={"path": str(tmp_path / "store"), "keep": 100},
    )
    syncer = Syncer(config)
    syncer.run(None)
    syncer.close()
    workflow = open_workflow_store(config)
    writer = Writer(config, workflow)
    try:
        yield writer, engine, table, workflow
    finally:
        writer.close()
        workflow.close()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {table}")
        engine.dispose()


def test_each_write_of_a_call_stands_alone_at_a_team_database(
    team: tuple[Writer, sa.Engine, str, Any],
) -> None:
    writer, engine, table, workflow = team
    snapshot = StoreReader(writer.publisher.root).current()
    assert snapshot is not None
    ids = dict(snapshot.query("SELECT asset_tag, id FROM assets"))
    with engine.begin() as conn:  # B-002 went to repair at the source meanwhile
        conn.execute(sa.text(f"UPDATE {table} SET install_status = 3 WHERE sys_id = 'c2'"))
    files = lambda: len(list(writer.publisher.dir.glob("*-w.duckdb")))  # noqa: E731
    before = files()
    caller = Caller("desk@example.com", "service_desk")
    tags = ["B-001", "B-002", "B-003", "B-004"]
    done = writer.each(snapshot, "assets", [[(ids[t], {"status": "in_use"})] for t in tags], caller)
    assert [type(d).__name__ for d in done] == ["Written", "WriteError", "Written", "Written"]
    refused = done[1]
    assert isinstance(refused, WriteError)
    assert refused.code == "CONFLICT"
    assert files() == before + 1
    written = [d for d in done if isinstance(d, Written)]
    assert len({d.snapshot_id for d in written}) == 1
    assert [[(c.field, c.outcome) for c in d.changes] for d in written] == [[("status", "accepted")]] * 3
    with engine.connect() as conn:
        held = dict(conn.execute(sa.text(f"SELECT asset_tag, install_status FROM {table}")).all())
    assert held == {"B-001": 1, "B-002": 3, "B-003": 1, "B-004": 1, "B-005": 6}
    history: dict[str, list[Change]] = workflow.history_of("assets", [ids[t] for t in tags])
    assert [(c.field, c.outcome) for c in history[ids["B-002"]]] == [("status", "conflict")]
    assert all(
        [(c.field, c.outcome) for c in history[ids[t]]] == [("status", "accepted")]
        for t in ("B-001", "B-003")
    )
    served = StoreReader(writer.publisher.root).current()
    assert served is not None
    assert dict(served.query("SELECT asset_tag, status FROM assets")) == {
        "B-001": "in_use", "B-002": "in_stock", "B-003": "in_use", "B-004": "in_use", "B-005": "in_stock"
    }  # fmt: skip
