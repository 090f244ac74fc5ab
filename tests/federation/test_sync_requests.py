"""`assetgraph sync` (and `request_sync`, the door of the `sync_source` mutation) while a
server runs: the server's scheduler holds the sync lock, so the sync is asked of it through
the store's request folder; with a one-off sync holding the lock instead, the asker waits its
turn and syncs itself."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config.settings import Config, load_config
from federation.pipeline.on_demand import SyncRequestError, accept_source, request_sync
from federation.pipeline.scheduler import SyncScheduler
from federation.pipeline.store import StoreReader, SyncLock
from federation.pipeline.sync import Syncer
from federation.pipeline.sync_requests import RequestQueue
from federation.serving.cli import main

REPO = Path(__file__).resolve().parents[2]
ASSETS = "tag,host\n" + "".join(f"A{i},host-{i}\n" for i in range(1, 6))
#: the longest a test waits for a sync it asked for (a bound against hanging, not a speed check)
WAIT = 60
PEOPLE = "email,name\nann@example.com,Ann\nbo@example.com,Bo\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    (tmp_path / "inv.csv").write_text(ASSETS, encoding="utf-8")
    (tmp_path / "hr.csv").write_text(PEOPLE, encoding="utf-8")
    raw = {
        "store": {"path": "store"},
        "sources": [
            {
                "name": "inventory",
                "kind": "spreadsheet",
                "path": "inv.csv",
                "refresh": "1h",
                "entities": {"assets": {"id": "tag", "fields": {"asset_tag": "tag", "hostname": "host"}}},
            },
            {
                "name": "hr",
                "kind": "spreadsheet",
                "path": "hr.csv",
                "refresh": "1h",
                "entities": {"people": {"id": "email", "fields": {"email": "email", "name": "name"}}},
            },
        ],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(tmp_path / "config.yaml")


@pytest.fixture
def server(config: Config) -> Iterator[SyncScheduler]:
    """The background sync of `assetgraph serve`, as it runs in a server process."""
    scheduler = SyncScheduler(config, poll_seconds=0.1, request_poll_seconds=0.05)
    scheduler.start()
    assert scheduler.first_sync_done.wait(60)
    assert scheduler.lock.held
    yield scheduler
    scheduler.stop()
    scheduler.join(30)


def published(config: Config, sql: str) -> list[tuple[Any, ...]]:
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    assert snapshot is not None
    return snapshot.query(sql)


def request_files(config: Config) -> list[str]:
    folder = RequestQueue(config.resolve(config.settings.store.path)).dir
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def cli(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    """`assetgraph sync` as a separate process, as a person runs it beside the server."""
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "federation.serving.cli", "sync", "--config", str(config.path)]
    return subprocess.run(
        [*command, "--timeout", f"{WAIT}s", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_the_readme_failure_demo_works_while_a_server_runs(config: Config, server: SyncScheduler) -> None:
    config.resolve("inv.csv").unlink()  # the spreadsheet is deleted
    run = cli(config)
    assert run.returncode == 1, run.stderr
    assert "inventory" in run.stdout
    assert "failed" in run.stdout
    assert f"by the running server (pid {os.getpid()})" in run.stdout
    # the server published it: the source shows stale with its error at once
    ((status, stale, error),) = published(
        config, "SELECT status, stale, error FROM source_status WHERE name = 'inventory'"
    )
    assert (status, stale) == ("failed", True)
    assert "inv.csv" in error
    assert published(config, "SELECT count(*) FROM assets") == [(5,)]  # its last good data

    config.resolve("inv.csv").write_text(ASSETS, encoding="utf-8")
    run = cli(config, "inventory")
    assert run.returncode == 0, run.stderr
    assert published(config, "SELECT stale FROM source_status WHERE name = 'inventory'") == [(False,)]
    assert request_files(config) == []  # the asker cleared its request and result


def test_request_sync_replays_the_servers_progress_and_returns_its_report(
    config: Config, server: SyncScheduler
) -> None:
    seen: list[tuple[str, str | None, int]] = []
    asked: list[str] = []
    config.resolve("inv.csv").write_text(ASSETS + "A6,host-6\n", encoding="utf-8")
    report = request_sync(
        config,
        ["inventory"],
        progress=lambda s, e, n: seen.append((s, e, n)),
        on_queued=asked.append,
        timeout=WAIT,
    )
    assert report.served_by == os.getpid()
    assert asked == [f"pid {os.getpid()}"]
    assert [(r.source, r.status, r.records) for r in report.sources] == [("inventory", "ok", 6)]
    assert ("inventory", "assets", 6) in seen
    assert published(config, "SELECT count(*) FROM assets") == [(6,)]


def test_a_held_read_is_accepted_through_the_running_server(config: Config, server: SyncScheduler) -> None:
    config.resolve("inv.csv").write_text("tag,host\n", encoding="utf-8")
    (held,) = request_sync(config, ["inventory"], timeout=WAIT).sources
    assert held.status == "held"
    assert published(config, "SELECT count(*) FROM assets") == [(5,)]
    report = accept_source(config, "inventory", timeout=WAIT)
    assert [(r.source, r.status) for r in report.sources] == [("inventory", "ok")]
    assert report.served_by == os.getpid()
    assert published(config, "SELECT count(*) FROM assets") == [(0,)]


def test_a_ticket_waits_for_the_report_later(config: Config, server: SyncScheduler) -> None:
    ticket = request_sync(config, ["hr"], wait=False)
    report = ticket.wait(timeout=WAIT)
    assert [(r.source, r.status) for r in report.sources] == [("hr", "ok")]


def test_a_failed_round_on_the_server_is_reported_to_the_asker(
    config: Config, server: SyncScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: Syncer) -> object:
        raise OSError("No space left on device")

    monkeypatch.setattr(Syncer, "publish", full_disk)
    with pytest.raises(SyncRequestError, match="the sync failed: OSError: No space left on device"):
        request_sync(config, ["hr"], timeout=WAIT)


def test_an_asker_takes_its_turn_when_a_one_off_sync_lets_go(config: Config) -> None:
    lock = SyncLock(config.resolve(config.settings.store.path))
    assert lock.acquire()  # another `assetgraph sync`: it holds the lock, takes no requests
    outcome: dict[str, Any] = {}
    asker = threading.Thread(target=lambda: outcome.update(report=request_sync(config, timeout=WAIT)))
    asker.start()
    try:
        for _ in range(600):
            if any(n.endswith(".request.json") for n in request_files(config)):
                break
            time.sleep(0.05)
        assert any(n.endswith(".request.json") for n in request_files(config))
    finally:
        lock.release()
    asker.join(WAIT * 2)
    report = outcome["report"]
    assert report.served_by is None  # it synced itself
    assert {r.source: r.status for r in report.sources} == {"inventory": "ok", "hr": "ok"}
    assert request_files(config) == []


def test_an_asker_gives_up_after_its_timeout_and_withdraws_its_request(
    config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = SyncLock(config.resolve(config.settings.store.path))
    assert lock.acquire()
    try:
        with pytest.raises(SyncRequestError, match=r"did not take the sync request within 0\.3s"):
            request_sync(config, timeout=0.3)
        assert request_files(config) == []
        assert main(["sync", "--config", str(config.path), "--timeout", "1s"]) == 1
        assert f"(pid {os.getpid()}) did not take the sync request" in capsys.readouterr().err
    finally:
        lock.release()


def test_a_request_is_taken_by_exactly_one_party(tmp_path: Path) -> None:
    queue = RequestQueue(tmp_path)
    first = queue.submit(["a"], [])
    second = queue.submit(None, ["b"])
    assert queue.pending() == [first.id, second.id]
    taken = queue.take(first.id)
    assert taken is not None
    assert (taken.sources, taken.accept) == (["a"], [])
    assert not queue.withdraw(first.id)  # the holder has it
    assert queue.withdraw(second.id)
    assert queue.take(second.id) is None  # the asker took it back
    assert queue.pending() == []
