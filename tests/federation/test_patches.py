"""Written values shown at once and kept: `Publisher.patch` publishes a copy of the current
snapshot with a write applied; a later publish re-applies the writes its sources' reads have
not seen yet, and forgets those a read has covered (which may since have changed again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from federation.pipeline.patches import Journal, Patch
from federation.pipeline.store import Publisher, StoreReader


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
