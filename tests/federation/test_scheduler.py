"""The background sync of `assetgraph serve`: one syncing process, others take over."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.demo import write_demo_config

from federation.config.settings import load_config
from federation.pipeline.scheduler import SyncScheduler
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refresh: str) -> Path:
    return write_demo_config(tmp_path, monkeypatch, assets=100, every_source={"refresh": refresh})


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_syncs_on_schedule_and_a_second_process_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(_config(tmp_path, monkeypatch, "1s"))
    reader = StoreReader(config.resolve(config.settings.store.path))
    first = SyncScheduler(config, poll_seconds=0.1)
    second = SyncScheduler(config, poll_seconds=0.1)
    first.start()
    try:
        assert first.first_sync_done.wait(60)
        snapshot = reader.current()
        assert snapshot is not None
        second.start()
        # the refresh interval is 1s: a newer snapshot is published without being asked
        assert _wait(lambda: reader.current().id != snapshot.id, 30)
        assert first.lock.held
        assert not second.lock.held
        first.stop()
        first.join(30)
        # the lock is free: the other process syncs from now on
        assert _wait(lambda: second.lock.held, 10)
        assert second.first_sync_done.wait(60)
    finally:
        first.stop()
        second.stop()
        first.join(30)
        second.join(30)


def test_a_failed_round_is_retried_and_the_lock_kept(tmp_path: Path, monkeypatch) -> None:
    config = load_config(_config(tmp_path, monkeypatch, "1s"))
    calls = []
    real_run = Syncer.run

    def flaky(self: Syncer, names: object = None, progress: object = None) -> object:
        calls.append(names)
        if len(calls) == 1:
            raise OSError("No space left on device")
        return real_run(self, names, progress)

    monkeypatch.setattr(Syncer, "run", flaky)
    scheduler = SyncScheduler(config, poll_seconds=0.1)
    scheduler.start()
    try:
        assert scheduler.first_sync_done.wait(60)
        assert len(calls) >= 2
        assert scheduler.is_alive()
        assert scheduler.lock.held
    finally:
        scheduler.stop()
        scheduler.join(30)
