"""A process that takes the sync lock carries on the stored schedule: sources synced and
published within their refresh interval are not synced again at once, older ones are, and
the per-source metrics report the stored state before any sync of this process."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from federation.config.settings import Config, load_config
from federation.demo import prepare_demo
from federation.pipeline import metrics
from federation.pipeline.scheduler import SyncScheduler
from federation.pipeline.store import StoreReader, SyncLock
from federation.pipeline.sync import Syncer

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("cmdb", "endpoint_team", "inventory", "finance")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["demo"]["assets"] = 100
    raw["demo"]["vendor_port"] = 0
    # the file-based demo sources only (the SaaS ones come from the vendor simulator)
    raw["sources"] = [dict(s, refresh="1h") for s in raw["sources"] if s["name"] in SOURCES]
    raw.pop("tickets")  # opened in the demo's ServiceNow, one of the sources left out
    raw["reconcile"]["people"]["precedence"] = {}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(path)


def publish(config: Config, *, synced_hours_ago: int = 0) -> str:
    root = config.resolve(config.settings.store.path)
    lock = SyncLock(root)
    assert lock.acquire()
    try:
        prepare_demo(config)
        syncer = Syncer(config)
        try:
            report = syncer.run()
        finally:
            syncer.close()
        if synced_hours_ago:
            con = duckdb.connect(str(root / "sources.duckdb"))
            try:
                con.execute(
                    f"UPDATE sync_state SET last_sync_at = last_sync_at - INTERVAL {synced_hours_ago} HOUR"
                )
            finally:
                con.close()
    finally:
        lock.release()
    assert not report.failed, report
    assert report.snapshot_id is not None
    return report.snapshot_id


@pytest.mark.parametrize(
    ("synced_hours_ago", "due_now"),
    [
        pytest.param(0, False, id="synced-just-now-not-again"),
        pytest.param(2, True, id="synced-before-its-refresh-again-now"),
    ],
)
def test_a_new_lock_holder_carries_on_the_schedule(
    config: Config, synced_hours_ago: int, due_now: bool
) -> None:
    published = publish(config, synced_hours_ago=synced_hours_ago)
    for source in SOURCES:
        metrics.SOURCE_UP.labels(source=source).set(-1)  # not what the store says
    scheduler = SyncScheduler(config, poll_seconds=0.1)
    scheduler.start()
    try:
        assert scheduler.resumed.wait(60)
        for source in SOURCES:
            assert metrics.REGISTRY.get_sample_value("assetgraph_source_up", {"source": source}) == 1.0
        if due_now:
            assert scheduler.first_sync_done.wait(120)
            reader = StoreReader(config.resolve(config.settings.store.path))
            assert reader.current().id != published
        else:
            for source in SOURCES:
                assert scheduler.next_sync(source) > 3000  # about an hour from the last sync
            assert not scheduler.first_sync_done.is_set()
    finally:
        scheduler.stop()
        scheduler.join(60)
