"""Sync end to end on the embedded demo: four disagreeing sources → one published graph."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from support.demo import write_demo_config

from federation.config.settings import Config, load_config
from federation.demo import prepare_demo
from federation.pipeline.store import StoreReader, SyncLock
from federation.pipeline.sync import Syncer
from federation.serving.cli import main


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The repo's config.yaml, relocated into tmp_path, with a small estate."""
    config = load_config(write_demo_config(tmp_path, monkeypatch, assets=400))
    prepare_demo(config)
    return config


@pytest.fixture
def syncer(demo: Config) -> Iterator[Syncer]:
    s = Syncer(demo)
    yield s
    s.close()


def _current(config: Config) -> duckdb.DuckDBPyConnection:
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    assert snapshot is not None
    return snapshot.cursor()


def _laptop(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, tuple[str, object]]]:
    rows = cur.execute("SELECT id FROM assets WHERE asset_tag = 'P000001'").fetchall()
    assert len(rows) == 1
    prov = {
        field: (source, json.loads(value))
        for field, source, value in cur.execute(
            "SELECT field, source, value FROM provenance WHERE entity_id = ?", [rows[0][0]]
        ).fetchall()
    }
    return rows[0][0], prov


def test_one_laptop_in_four_sources_is_one_asset_traced_per_attribute(demo: Config, syncer: Syncer) -> None:
    report = syncer.run()
    assert [r.source for r in report.failed] == []
    cur = _current(demo)
    asset_id, prov = _laptop(cur)
    sources = {
        s
        for (s,) in cur.execute(
            "SELECT source FROM record_sources WHERE entity_id = ?", [asset_id]
        ).fetchall()
    }
    assert sources == {"cmdb", "endpoint_team", "inventory", "finance"}
    # precedence from config.yaml: cost from finance, status from the endpoint team,
    # everything else from the CMDB first
    assert prov["cost"][0] == "finance"
    assert prov["status"] == ("endpoint_team", "in_repair")
    assert prov["hostname"] == ("cmdb", "lt-00001")
    assert prov["serial_number"][0] == "cmdb"
    conflicts = {
        f
        for (f,) in cur.execute(
            "SELECT DISTINCT field FROM conflicts WHERE entity_id = ?", [asset_id]
        ).fetchall()
    }
    assert {"hostname", "cost", "status"} <= conflicts
    # the CSV's username and the CMDB's email are the same person
    owner = cur.execute(
        "SELECT p.name, p.email FROM assets a JOIN people p ON p.id = a.assigned_to_id WHERE a.id = ?",
        [asset_id],
    ).fetchall()
    assert owner[0][0] == "Zoë Müller"


def test_rows_that_cannot_be_normalised_are_quarantined_and_published(demo: Config, syncer: Syncer) -> None:
    syncer.run()
    cur = _current(demo)
    reasons = cur.execute("SELECT source, reason FROM quarantine WHERE source = 'inventory'").fetchall()
    assert reasons, "the inventory CSV has Excel-mangled serials"
    assert all("scientific notation" in r for _, r in reasons)
    totals = cur.execute("SELECT count(*) FROM quarantine WHERE source = 'finance'").fetchall()
    assert totals[0][0] == 2  # the Total row under each FY sheet has no asset tag


def test_a_failing_source_keeps_its_last_good_snapshot(demo: Config, syncer: Syncer) -> None:
    syncer.run()
    _, before = _laptop(_current(demo))
    finance = demo.resolve("data/demo/finance.xlsx")
    finance.unlink()
    report = syncer.run()
    failed = {r.source: r.error for r in report.failed}
    assert set(failed) == {"finance"}
    assert "finance.xlsx" in (failed["finance"] or "")
    cur = _current(demo)
    _, after = _laptop(cur)
    assert after["cost"] == before["cost"]  # still the finance value, from its last snapshot
    assert before["cost"][0] == "finance"
    status = cur.execute(
        "SELECT status, stale, error, last_success_at < last_sync_at FROM source_status "
        "WHERE name = 'finance'"
    ).fetchall()[0]
    assert status[0] == "failed"
    assert status[1] is True
    assert "finance.xlsx" in status[2]
    assert status[3] is True


def test_second_sync_is_incremental_and_picks_up_changes(demo: Config, syncer: Syncer) -> None:
    first = syncer.run(["cmdb"])
    cmdb_first = first.sources[0]
    assert cmdb_first.incremental == []
    db = demo.resolve("data/demo/cmdb.sqlite")
    with sqlite3.connect(db) as con:
        (latest,) = con.execute("SELECT max(sys_updated_on) FROM ci_computer").fetchone()
        con.execute(
            "UPDATE ci_computer SET cost = 4321.5, sys_updated_on = ? WHERE asset_tag = 'P000001'",
            [latest.replace("2026", "2027", 1)],
        )
    second = syncer.run(["cmdb"])
    assert "assets" in second.sources[0].incremental
    assert second.sources[0].records == cmdb_first.records
    cur = _current(demo)
    # the new cmdb cost is either the chosen value or, if finance outranks it, a conflict
    values = cur.execute(
        "SELECT value FROM (SELECT entity_id, field, source, value FROM provenance UNION ALL "
        "SELECT entity_id, field, source, value FROM conflicts) v JOIN assets a ON a.id = v.entity_id "
        "WHERE a.asset_tag = 'P000001' AND v.field = 'cost' AND v.source = 'cmdb'"
    ).fetchall()
    assert {json.loads(v) for (v,) in values} == {4321.5}


def test_sync_command_exit_codes(demo: Config, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(demo.path)
    assert main(["sync", "--config", path]) == 0
    assert "published" in capsys.readouterr().out
    shutil.move(demo.resolve("data/demo/inventory.csv"), demo.resolve("data/demo/inventory.bak"))
    assert main(["sync", "--config", path, "inventory"]) == 1
    assert "inventory" in capsys.readouterr().out
    assert main(["sync", "--config", path, "nosuchsource"]) == 1
    assert "unknown source nosuchsource" in capsys.readouterr().err


def test_only_one_process_syncs(demo: Config, capsys: pytest.CaptureFixture[str]) -> None:
    lock = SyncLock(demo.resolve(demo.settings.store.path))
    assert lock.acquire()
    try:
        # the holder takes no requests (it is not a server) and keeps the lock: give up
        assert main(["sync", "--config", str(demo.path), "--timeout", "1s"]) == 1
        assert "did not take the sync request" in capsys.readouterr().err
    finally:
        lock.release()


def test_license_seats_and_deprovisioned_holders_from_the_saas_sources(demo: Config, syncer: Syncer) -> None:
    report = syncer.run()
    assert {r.source for r in report.sources if r.ok} >= {"okta", "m365"}
    cur = _current(demo)
    licenses = cur.execute(
        "SELECT product, sku, seats_purchased, seats_assigned FROM licenses WHERE seats_purchased IS NOT NULL"
    ).fetchall()
    assert len(licenses) >= 4
    assert all(product and sku for product, sku, _, _ in licenses)
    # who holds a Microsoft 365 seat although the identity provider says they have left
    leavers = cur.execute(
        "SELECT count(*) FROM license_assignments a JOIN people p ON p.id = a.person_id "
        "JOIN licenses l ON l.id = a.license_id "
        "WHERE p.employment_status = 'terminated' AND l.seats_purchased IS NOT NULL"
    ).fetchall()[0][0]
    assert leavers > 0
    # seats assigned as Microsoft reports them agree with the assignments it lists
    mismatched = cur.execute(
        "SELECT l.sku, l.seats_assigned, count(a.id) FROM licenses l "
        "JOIN license_assignments a ON a.license_id = l.id "
        "JOIN record_sources r ON r.entity_id = a.id AND r.source = 'm365' "
        "WHERE l.seats_purchased IS NOT NULL GROUP BY l.sku, l.seats_assigned "
        "HAVING l.seats_assigned <> count(a.id)"
    ).fetchall()
    assert mismatched == []


def test_deleted_records_leave_at_the_next_full_read(demo: Config) -> None:
    db = demo.resolve("data/demo/cmdb.sqlite")

    def cmdb_records(syncer: Syncer) -> int:
        return syncer.run(["cmdb"]).sources[0].records

    syncer = Syncer(demo)
    try:
        before = cmdb_records(syncer)
        with sqlite3.connect(db) as con:
            con.execute("DELETE FROM ci_computer WHERE asset_tag = 'P000001'")
        # incremental reads cannot see a deletion
        assert cmdb_records(syncer) == before
        demo.source("cmdb").full_refresh = timedelta(0)
        assert cmdb_records(syncer) == before - 1
    finally:
        syncer.close()
