"""Written values shown at once and kept: `Publisher.patch` journals a write, which every
reader of the current snapshot lays over it in memory; a later publish re-applies the writes
its sources' reads have not seen yet, and forgets those a read has covered (which may since
have changed again)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from federation.pipeline.patches import Journal, Patch
from federation.pipeline.store import Publisher, Snapshot, StoreReader


def _publish(root: Path, status: str, read_started: datetime | None = None) -> str:
    publisher = Publisher(root)
    assets = pd.DataFrame({"id": ["a1", "a2"], "asset_tag": ["T1", "T2"], "status": [status, "in_stock"]})
    provenance = pd.DataFrame(
        {
            "entity": ["assets"],
            "entity_id": ["a1"],
            "field": ["status"],
            "source": ["cmdb"],
            "record_id": ["r1"],
            "value": ['"' + status + '"'],
            "fetched_at": [datetime(2026, 1, 1, tzinfo=UTC)],
        }
    )

    def build(con: duckdb.DuckDBPyConnection) -> None:
        for name, frame in (("assets", assets), ("provenance", provenance)):
            con.register("_f", frame)
            con.execute(f'INSERT INTO pub."{name}" BY NAME SELECT * FROM _f')
            con.unregister("_f")

    con = duckdb.connect()
    try:
        return publisher.publish_with(con, build, read_started={"cmdb": read_started})
    finally:
        con.close()


def _served(root: Path) -> tuple[str, str]:
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    status = snapshot.query("SELECT status FROM assets WHERE id = 'a1'")[0][0]
    value = snapshot.query(
        "SELECT value::VARCHAR FROM provenance WHERE entity_id = 'a1' AND field = 'status'"
    )
    return status, value[0][0]


def _patch(status: str, at: datetime) -> Patch:
    return Patch(at.isoformat(), "cmdb", "assets", "a1", "r1", {"status": status})


def test_a_patch_is_served_at_once_with_its_provenance(tmp_path: Path) -> None:
    before = _publish(tmp_path, "in_use")
    after = Publisher(tmp_path, clean=False).patch([_patch("in_repair", datetime.now(UTC))])
    assert after is not None
    assert after != before
    assert _served(tmp_path) == ("in_repair", '"in_repair"')
    # the other row is untouched
    snapshot = StoreReader(tmp_path).current()
    assert snapshot is not None
    assert snapshot.query("SELECT status FROM assets WHERE id = 'a2'")[0][0] == "in_stock"


def test_a_publish_from_a_read_older_than_the_write_keeps_the_write(tmp_path: Path) -> None:
    _publish(tmp_path, "in_use")
    written = datetime.now(UTC)
    Publisher(tmp_path, clean=False).patch([_patch("in_repair", written)])
    # a sync whose read began before the write publishes the old value: the write stays
    _publish(tmp_path, "in_use", read_started=written - timedelta(seconds=5))
    assert _served(tmp_path)[0] == "in_repair"
    assert len(Journal(tmp_path).entries()) == 1


def test_a_read_after_the_write_covers_it_and_the_journal_forgets_it(tmp_path: Path) -> None:
    _publish(tmp_path, "in_use")
    written = datetime.now(UTC)
    Publisher(tmp_path, clean=False).patch([_patch("in_repair", written)])
    # the source changed again after the write; a read that began later has the truth
    _publish(tmp_path, "retired", read_started=written + timedelta(seconds=5))
    assert _served(tmp_path)[0] == "retired"
    assert Journal(tmp_path).entries() == []


def test_a_patch_before_the_first_publish_is_applied_by_it(tmp_path: Path) -> None:
    assert Publisher(tmp_path, clean=False).patch([_patch("lost", datetime.now(UTC))]) is None
    _publish(tmp_path, "in_use", read_started=None)
    assert _served(tmp_path)[0] == "lost"


def test_a_delete_outlives_a_read_that_cannot_see_it(tmp_path: Path) -> None:
    """An incremental read does not report a record gone: the delete stays applied."""
    _publish(tmp_path, "in_use")
    written = datetime.now(UTC)
    gone = Patch(written.isoformat(), "cmdb", "assets", "a1", "r1", {}, action="delete")
    Publisher(tmp_path, clean=False).patch([gone])
    _publish(tmp_path, "in_use", read_started=written + timedelta(seconds=5))
    snapshot = StoreReader(tmp_path).current()
    assert snapshot is not None
    assert snapshot.query("SELECT count(*) FROM assets WHERE id = 'a1'")[0][0] == 0
    assert snapshot.query("SELECT count(*) FROM provenance WHERE entity_id = 'a1'")[0][0] == 0
    assert len(Journal(tmp_path).entries()) == 1


def test_a_patch_makes_no_file_and_another_process_sees_it(tmp_path: Path) -> None:
    """The write is laid over the published file in memory: no copy of the file is made, and
    a process that opened the snapshot before the write sees it at its next read."""
    _publish(tmp_path, "in_use")
    files = sorted(p.name for p in (tmp_path / "published").iterdir())
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from federation.pipeline.store import StoreReader\n"
        "reader = StoreReader(Path(sys.argv[1]))\n"
        "print(reader.current().query(\"SELECT status FROM assets WHERE id = 'a1'\")[0][0], flush=True)\n"
        "sys.stdin.readline()\n"
        "s = reader.current()\n"
        "print(s.query(\"SELECT status FROM assets WHERE id = 'a1'\")[0][0], s.id, flush=True)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout is not None
        assert other.stdin is not None
        assert other.stdout.readline().strip() == "in_use"
        snapshot_id = Publisher(tmp_path, clean=False).patch([_patch("in_repair", datetime.now(UTC))])
        other.stdin.write("\n")
        other.stdin.flush()
        status, seen_id = other.stdout.readline().split()
        other.wait(timeout=60)
    assert (status, seen_id) == ("in_repair", snapshot_id)
    assert sorted(p.name for p in (tmp_path / "published").iterdir()) == files


def test_a_reading_block_sees_one_state_and_the_next_sees_the_write(tmp_path: Path) -> None:
    _publish(tmp_path, "in_use")
    snapshot = StoreReader(tmp_path).current()
    assert snapshot is not None
    with snapshot.reading():
        assert snapshot.query("SELECT status FROM assets WHERE id = 'a1'")[0][0] == "in_use"
        Publisher(tmp_path, clean=False).patch([_patch("in_repair", datetime.now(UTC))])
        # another thread brings the shared snapshot up to date: this block keeps its state
        worker = threading.Thread(target=lambda: StoreReader(tmp_path).current())
        worker.start()
        worker.join()
        assert snapshot.query("SELECT status FROM assets WHERE id = 'a1'")[0][0] == "in_use"
        assert snapshot.query("SELECT value::VARCHAR FROM provenance WHERE entity_id = 'a1'")[0][0] == (
            '"in_use"'
        )
    assert _served(tmp_path) == ("in_repair", '"in_repair"')


def test_a_write_shows_to_the_thread_that_made_it_inside_its_block(tmp_path: Path) -> None:
    """A mutation's answer reads what it wrote: `Snapshot.shared` lays it over and moves the
    calling thread's block on to the new state."""
    _publish(tmp_path, "in_use")
    snapshot = StoreReader(tmp_path).current()
    assert snapshot is not None
    with snapshot.reading():
        Publisher(tmp_path, clean=False).patch([_patch("lost", datetime.now(UTC))])
        assert Snapshot.shared(snapshot.path) is snapshot
        assert snapshot.query("SELECT status FROM assets WHERE id = 'a1'")[0][0] == "lost"


def test_a_fresh_reader_of_the_file_lays_the_journal_over_it(tmp_path: Path) -> None:
    """Nothing but the journal holds a write until the next publish: a process started after
    it (or after a crash) shows it, and a publish that holds it is not laid over twice."""
    _publish(tmp_path, "in_use")
    written = datetime.now(UTC)
    Publisher(tmp_path, clean=False).patch(
        [_patch("in_repair", written), Patch(written.isoformat(), "cmdb", "assets", "a2", "r2", {}, "delete")]
    )
    current = Publisher(tmp_path, clean=False).current_path()
    assert current is not None
    fresh = Snapshot(current.stem, current)  # not the shared one: as another process opens it
    assert fresh.query("SELECT id, status FROM assets ORDER BY id") == [("a1", "in_repair")]
    _publish(tmp_path, "in_use", read_started=written - timedelta(seconds=5))
    served = StoreReader(tmp_path).current()
    assert served is not None
    assert served.query("SELECT id, status FROM assets ORDER BY id") == [("a1", "in_repair")]
    assert served.query("SELECT count(*) FROM provenance WHERE entity_id = 'a1'") == [(1,)]


def test_a_publish_that_stops_before_pruning_the_journal_lays_nothing_over_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file says which entries it holds (`publish_info.journal_seq`): a crash between the
    swap and the journal's pruning does not bring back a write a later read covered."""
    _publish(tmp_path, "in_use")
    written = datetime.now(UTC)
    Publisher(tmp_path, clean=False).patch([_patch("in_repair", written)])

    def crash(self: Journal, kept: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Journal, "keep", crash)
    with pytest.raises(KeyboardInterrupt):
        _publish(tmp_path, "retired", read_started=written + timedelta(seconds=5))
    monkeypatch.undo()
    assert len(Journal(tmp_path).entries()) == 1  # not pruned
    assert _served(tmp_path)[0] == "retired"
