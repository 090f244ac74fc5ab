"""Incremental reconciliation (federation/pipeline/delta.py): a publish after a small change
merges only what the change touches, into a copy of the last publish, and must give exactly
what merging everything gives. Each round below changes a few records of four CSV sources
(values, identity keys that merge or split machines, records going and coming, a person's
email that assets point at, a manager) and compares the incremental publish, table by table,
with a full one made from the same state."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.changing_estate import STATUSES, Estate, estate_config, new_world

from federation.pipeline import delta
from federation.pipeline.patches import Journal, Patch
from federation.pipeline.store import Publisher, StoreReader, snapshot_table
from federation.pipeline.sync import Syncer

#: the published tables compared, with the columns that identify a row's content
TABLES = {
    "assets": "*",
    "people": "*",
    "locations": "*",
    "record_sources": "*",
    "provenance": "entity, entity_id, field, source, record_id, value::VARCHAR, fetched_at",
    "conflicts": "entity, entity_id, field, source, record_id, value::VARCHAR",
    "ambiguities": "entity, source, record_id, rule, list_sort(candidate_ids), reason",
    "record_quality": "entity, entity_id, field, source, record_id, value::VARCHAR, reason",
    "license_compliance": "*",
}


def _published(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    out = {}
    for table, columns in TABLES.items():
        rows = snapshot.query(f"SELECT {columns} FROM {table}")
        out[table] = sorted(rows, key=lambda r: json.dumps(r, default=str))
    return out


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[tuple[Estate, Syncer, Path]]:
    world = new_world(tmp_path)
    syncer = Syncer(estate_config(tmp_path))
    yield world, syncer, tmp_path / "store"
    syncer.close()


def _full_again(syncer: Syncer) -> None:
    """Publish the same state again merging everything (the fingerprint no longer matches)."""
    syncer.store.con.execute("DELETE FROM reconcile_state")
    report = syncer.publish()[1]
    assert not report.incremental


#: compared between two stores read at different times: everything but fetch times
TWIN_TABLES = {
    **TABLES,
    "record_sources": "entity, entity_id, source, record_id",
    "provenance": "entity, entity_id, field, source, record_id, value::VARCHAR",
}


def _twin_published(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    return {
        t: sorted(snapshot.query(f"SELECT {c} FROM {t}"), key=lambda r: json.dumps(r, default=str))
        for t, c in TWIN_TABLES.items()
    }


@pytest.mark.parametrize("seed", range(4))
def test_an_incremental_publish_gives_what_merging_everything_gives(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twin stores built from the same files take the same changes; one publishes what changed,
    the other merges everything each time: their graphs, ids included, must be the same."""
    # on a small estate a few changes' closures soon add up to a fifth of it (see
    # test_small_changes_add_up_to_a_publish_in_storage_order): not what is tested here
    monkeypatch.setattr(delta, "MAX_CHANGED", 0.9)
    twins = {}
    for mode in ("incremental", "full"):
        (tmp_path / mode).mkdir()
        world = new_world(tmp_path / mode)
        syncer = Syncer(estate_config(tmp_path / mode))
        twins[mode] = (world, syncer, tmp_path / mode)
    try:
        for _, syncer, _ in twins.values():
            syncer.run()
        for world, _, _ in twins.values():
            world.rng.seed(seed)
        for round_ in range(3):
            published = {}
            for mode, (world, syncer, folder) in twins.items():
                done = world.change(6)
                world.write(folder)
                if mode == "full":
                    syncer.store.con.execute("DELETE FROM reconcile_state")  # merge everything
                report = syncer.run()
                assert report.failed == []
                assert report.reconcile is not None
                assert report.reconcile.incremental == (mode == "incremental"), (
                    f"round {round_}: after {done}: {report.reconcile.merged_all_because}"
                )
                published[mode] = _twin_published(folder / "store")
            for table in TWIN_TABLES:
                assert published["incremental"][table] == published["full"][table], (
                    f"round {round_}, {table}, after {done}"
                )
    finally:
        for _, syncer, _ in twins.values():
            syncer.close()


def test_an_incremental_publish_then_a_full_one_of_the_same_state_agree(
    estate: tuple[Estate, Syncer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same store merged in part and then in full: fetch times included."""
    monkeypatch.setattr(delta, "MAX_CHANGED", 0.9)
    world, syncer, root = estate
    syncer.run()
    world.rng.seed(11)
    for round_ in range(2):
        done = world.change(6)
        world.write(root.parent)
        report = syncer.run()
        assert report.reconcile is not None
        assert report.reconcile.incremental, report.reconcile.merged_all_because
        incremental = _published(root)
        _full_again(syncer)
        for table in TABLES:
            assert _published(root)[table] == incremental[table], f"round {round_}, {table}, after {done}"


def test_a_record_leaving_a_machine_gets_the_id_a_full_merge_gives(tmp_path: Path) -> None:
    """The part of a split that keeps no id and whose own records' ids are taken gets an id
    that does not depend on how many entities the publish merged."""

    def prepare(world: Estate) -> None:
        a, b, c = world.devices[3], world.devices[20], world.devices[21]
        a["in"] = {"cmdb"}
        for d in (b, c):
            d["in"], d["serial"] = {"inventory"}, a["serial"]

    ids = {}
    for mode in ("incremental", "full"):
        (tmp_path / mode).mkdir()
        world = new_world(tmp_path / mode, devices=30, people=10)
        prepare(world)
        world.write(tmp_path / mode)
        syncer = Syncer(estate_config(tmp_path / mode))
        try:
            syncer.run()
            world.devices[3]["serial"] = "NEWSERIAL1"
            world.write(tmp_path / mode)
            if mode == "full":
                syncer.store.con.execute("DELETE FROM reconcile_state")
            report = syncer.run().reconcile
            assert report is not None
            assert report.incremental == (mode == "incremental")
            snapshot = StoreReader(tmp_path / mode / "store").current()
            assert snapshot is not None
            ids[mode] = sorted(snapshot.query("SELECT serial_number, asset_tag, id FROM assets"), key=str)
        finally:
            syncer.close()
    assert ids["incremental"] == ids["full"]


def test_a_record_read_again_unchanged_still_wins_by_its_newer_fetch(
    estate: tuple[Estate, Syncer, Path],
) -> None:
    """Two CMDB records of one machine tie on precedence: the newer fetch gives the host name.
    A read that brings the older one again unchanged (only its fetch time moves) must let it
    win, as a full merge does."""
    world, syncer, root = estate
    a, b = world.devices[3], world.devices[4]
    a["in"], b["in"] = {"cmdb"}, {"cmdb"}
    b["serial"], b["tag"], b["host"] = a["serial"], a["tag"], "other-host"
    world.write(root.parent)
    syncer.run()
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    [(winner,)] = snapshot.query(
        "SELECT record_id FROM provenance WHERE entity = 'assets' AND field = 'hostname' AND entity_id IN "
        f"(SELECT id FROM assets WHERE serial_number = '{a['serial']}')"
    )
    loser = "c4" if winner == "c3" else "c3"
    syncer.store.con.execute(
        f'UPDATE "{snapshot_table("cmdb", "assets")}" SET fetched_at = fetched_at + INTERVAL 1 HOUR '
        "WHERE record_id = ?",
        [loser],
    )
    report = syncer.publish()[1]
    assert report.incremental
    after = StoreReader(root).current()
    assert after is not None
    assert after.query(
        "SELECT record_id FROM provenance WHERE entity = 'assets' AND field = 'hostname' AND entity_id IN "
        f"(SELECT id FROM assets WHERE serial_number = '{a['serial']}')"
    ) == [(loser,)]


def test_a_clash_that_ends_is_decided_again_for_the_record_it_held_apart(
    estate: tuple[Estate, Syncer, Path],
) -> None:
    """A machine given another's tag is reported ambiguous, not merged; when its tag changes
    again, the records the clash held apart (which share no key with its new values) are
    decided again too: the closure follows the keys records had, not only those they have."""
    world, syncer, root = estate
    # a: in the CMDB only; b's CMDB record sorts after a's, so the clash is reported on b's
    # record, which shares nothing with a once a's tag is its own again
    a, b = world.devices[10], world.devices[2]
    a["in"], b["in"] = {"cmdb"}, {"cmdb"}
    world.write(root.parent)
    syncer.run()
    own = a["tag"]
    for tag, clashes in ((b["tag"], 1), (own, 0)):
        a["tag"] = tag
        world.write(root.parent)
        report = syncer.run().reconcile
        assert report is not None
        assert report.incremental
        incremental = _published(root)
        assert len(incremental["ambiguities"]) == clashes
        _full_again(syncer)
        assert _published(root) == incremental, f"tag {tag}"


def test_a_large_change_merges_everything(estate: tuple[Estate, Syncer, Path]) -> None:
    world, syncer, root = estate
    syncer.run()
    for d in world.devices:
        d["status"] = "retired"
    world.write(root.parent)
    assert not syncer.run().reconcile.incremental


def test_a_base_pruned_by_writes_while_a_publish_plans_is_replaced_by_the_newest(
    estate: tuple[Estate, Syncer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes swap in patched copies while a publish plans; enough of them prune the file the
    publish chose to build on. It builds on the newest copy instead (it carries the same
    token) and still merges only what changed."""
    world, syncer, root = estate
    syncer.run()
    device = next(d for d in world.devices if "cmdb" in d["in"] and d["status"] != "retired")
    device["status"] = "retired"
    world.write(root.parent)
    planned = delta.plan

    def plan_then_prune(*args: Any, **kwargs: Any) -> delta.Plan:
        plan = planned(*args, **kwargs)
        publisher = syncer.publisher
        base = publisher.current_path()
        assert base is not None
        newer = publisher.dir / "snap-29990101T000000000000-1-w.duckdb"
        shutil.copyfile(base, newer.with_suffix(".tmp"))
        publisher._swap(newer.with_suffix(".tmp"), newer)  # as a write's patch swaps its copy in
        base.unlink()  # pruned
        return plan

    monkeypatch.setattr(delta, "plan", plan_then_prune)
    report = syncer.run().reconcile
    assert report is not None
    assert report.incremental, report.merged_all_because
    assert _status(root, device["tag"]) == "retired"


def test_a_rule_turning_weak_merges_everything(tmp_path: Path) -> None:
    """A first machine with two MACs makes the MAC rule weak (it no longer vetoes merges by
    weaker rules) for every machine: no part of the last publish can be kept."""
    world = Estate(random.Random(3))
    for _ in range(10):
        world.new_person()
    for _ in range(50):
        world.new_device()
    world.devices[5]["in"].add("inventory")
    world.write(tmp_path)
    syncer = Syncer(estate_config(tmp_path))
    try:
        syncer.run()
        world.devices[5]["macs"].append("aa:bb:cc:ee:00:02")
        world.write(tmp_path)
        report = syncer.run().reconcile
        assert report is not None
        assert not report.incremental
        assert report.merged_all_because == "the sources, rules, stale sources or model changed"
    finally:
        syncer.close()


def test_ids_stay_when_an_incremental_publish_merges_a_machine_again(
    estate: tuple[Estate, Syncer, Path],
) -> None:
    world, syncer, root = estate
    syncer.run()
    before = dict(StoreReader(root).current().query("SELECT asset_tag, id FROM assets"))  # type: ignore[union-attr]
    world.devices[3]["status"] = "in repair" if world.devices[3]["status"] != "in repair" else "in use"
    world.write(root.parent)
    assert syncer.run().reconcile.incremental
    after = dict(StoreReader(root).current().query("SELECT asset_tag, id FROM assets"))  # type: ignore[union-attr]
    assert after == before


def test_a_written_value_the_source_no_longer_holds_is_merged_again(
    estate: tuple[Estate, Syncer, Path],
) -> None:
    """A write shows at once as a patch of the published copy; once a read has covered it, an
    incremental publish must not keep the patched value just because the record's digest did
    not change (the source took the write back, or never kept it)."""
    world, syncer, root = estate
    syncer.run()
    tag = next(d["tag"] for d in world.devices if "cmdb" in d["in"] and d["status"] == "in use")
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    [(asset_id, record_id)] = snapshot.query(
        "SELECT a.id, r.record_id FROM assets a JOIN record_sources r ON r.entity_id = a.id "
        f"AND r.source = 'cmdb' WHERE a.asset_tag = '{tag}'"
    )
    written = datetime.now(UTC)
    patch = Patch(written.isoformat(), "cmdb", "assets", asset_id, record_id, {"status": "in_repair"})
    assert Publisher(root, clean=False).patch([patch]) is not None
    assert _status(root, tag) == "in_repair"
    report = syncer.run()  # reads begin after the write: it is covered, and forgotten
    assert report.reconcile is not None
    assert report.reconcile.incremental
    assert Journal(root).entries() == []
    assert _status(root, tag) == "in_use"
    incremental = _published(root)
    _full_again(syncer)
    assert _published(root) == incremental


def _status(root: Path, tag: str) -> str:
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    return str(snapshot.query(f"SELECT status FROM assets WHERE asset_tag = '{tag}'")[0][0])


def test_small_changes_add_up_to_a_publish_in_storage_order(estate: tuple[Estate, Syncer, Path]) -> None:
    """What incremental publishes merge again is appended out of storage order; once it adds
    up to a fifth of the records, a publish merges everything and writes the file in order."""
    world, syncer, root = estate
    syncer.run()
    reasons = []
    for i in range(40):
        for d in world.devices[i * 5 % 200 : i * 5 % 200 + 5]:
            d["status"] = STATUSES[(STATUSES.index(d["status"]) + 1) % len(STATUSES)]
        world.write(root.parent)
        report = syncer.run().reconcile
        assert report is not None
        reasons.append(report.merged_all_because if not report.incremental else "")
        if not report.incremental:
            break
    assert reasons[0] == ""
    assert reasons[-1].endswith("records merged again since the last full merge"), reasons
    world.devices[0]["status"] = STATUSES[(STATUSES.index(world.devices[0]["status"]) + 1) % len(STATUSES)]
    world.write(root.parent)
    assert syncer.run().reconcile.incremental  # type: ignore[union-attr]
