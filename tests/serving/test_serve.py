"""`assetgraph serve` as real processes: ready at once from a published snapshot (syncing in
the background), or after the first sync when there is none; `--workers N` processes share
the snapshot, one of them syncs, and every one reports every source's metrics."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from federation.access.auth import issue_token
from federation.config.settings import Config, load_config
from federation.demo import prepare_demo
from federation.demo.saas import stop_simulators
from federation.pipeline.store import StoreReader, SyncLock
from federation.pipeline.sync import Syncer

REPO = Path(__file__).resolve().parents[2]
QUERY = "query Served { assets(limit: 5, order_by: {asset_tag: asc}) { asset_tag } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


METRICS_TOKEN = "metrics-token-for-the-serve-tests"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # the demo's simulated SaaS vendors on a free port (whichever process starts them first
    # serves them to the others), not on the config's 8931
    text = (REPO / "config.yaml").read_text(encoding="utf-8").replace("8931", str(free_port()))
    raw = yaml.safe_load(text)
    raw["demo"]["assets"] = 100
    raw.setdefault("server", {})["metrics"] = {"token": METRICS_TOKEN}  # /metrics is off by default
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(path)


def publish(config: Config) -> str:
    """One sync in this process (the caller holds the sync lock), dated two hours back so
    that every source is due again; the snapshot's id. The demo's vendor simulator this
    starts is stopped after, so the server can start its own on the same port."""
    prepare_demo(config)
    syncer = Syncer(config)
    try:
        report = syncer.run()
        syncer.store.con.execute("UPDATE sync_state SET last_sync_at = last_sync_at - INTERVAL 2 HOUR")
    finally:
        syncer.close()
    stop_simulators()
    assert not report.failed, report
    assert report.snapshot_id is not None
    return report.snapshot_id


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    stderr: Path

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10, **kwargs)


@contextmanager
def serve(config: Config, *args: str) -> Iterator[Served]:
    """`assetgraph serve --port 0 ARGS` until the block ends (then SIGINT, exit status 0)."""
    assert config.path is not None
    stderr = config.path.parent / "serve.log"
    command = [sys.executable, "-m", "federation.serving.cli", "serve", "--config", str(config.path)]
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [*command, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=config.path.parent,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline().decode() if ready else ""
        found = re.search(r"http://127\.0\.0\.1:(\d+)/graphql", line)
        assert found, f"no address printed: {line!r}\n{stderr.read_text()}"
        served = Served(process, f"http://127.0.0.1:{found.group(1)}", stderr)
        wait_for(lambda: answers(served, "/healthz"), 120, served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            if process.stdout is not None:
                process.stdout.close()
    assert code == 0, stderr.read_text()


def answers(served: Served, path: str) -> bool:
    try:
        return served.get(path).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(condition: Callable[[], bool], seconds: float, served: Served) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert served.process.poll() is None, served.stderr.read_text()
        assert time.monotonic() < deadline, f"timed out\n{served.stderr.read_text()}"
        time.sleep(0.1)


def ready_snapshot(served: Served) -> str | None:
    response = served.get("/readyz")
    return response.json()["snapshot"] if response.status_code == 200 else None


def query(served: Served, config: Config) -> dict[str, Any]:
    assert config.settings.auth is not None
    token = issue_token(config.settings.auth, "admin", {}, subject="serve-test")
    response = httpx.post(
        f"{served.url}/graphql",
        json={"query": QUERY},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def access_log_rows(config: Config, operation: str) -> int:
    path = config.resolve(config.settings.store.path) / "access_log.sqlite"
    con = sqlite3.connect(path)
    try:
        sql = "SELECT count(*) FROM access_log WHERE operation_name = ?"
        return con.execute(sql, [operation]).fetchone()[0]
    finally:
        con.close()


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_without_a_snapshot_serve_is_ready_after_the_first_sync(config: Config) -> None:
    lock = SyncLock(config.resolve(config.settings.store.path))
    assert lock.acquire()  # nobody can sync until the test lets go
    try:
        with serve(config) as served:
            for _ in range(5):
                response = served.get("/readyz")
                assert response.status_code == 503
                assert response.json() == {"status": "starting"}
                time.sleep(0.1)
            lock.release()  # serve's scheduler takes the lock and syncs
            wait_for(lambda: ready_snapshot(served) is not None, 180, served)
            assert len(query(served, config)["data"]["assets"]) == 5
            assert "/readyz" not in served.stderr.read_text()  # uvicorn's access log is off
    finally:
        lock.release()
    # the record was written before the process stopped
    assert access_log_rows(config, "Served") == 1


def test_workers_serve_a_published_snapshot_at_once_and_report_every_source(config: Config) -> None:
    root = config.resolve(config.settings.store.path)
    lock = SyncLock(root)
    assert lock.acquire()
    try:
        first = publish(config)
        with serve(config, "--workers", "2") as served:
            # the test still holds the lock, so no process can have synced: the published
            # snapshot is served as it is
            wait_for(lambda: ready_snapshot(served) is not None, 120, served)
            assert ready_snapshot(served) == first
            lock.release()  # now one worker takes the lock and syncs in the background
            reader = StoreReader(root)
            wait_for(lambda: reader.current() is not None and reader.current().id != first, 180, served)
            second = reader.current().id
            wait_for(lambda: ready_snapshot(served) == second, 30, served)

            workers = workers_of(served.process.pid)
            assert len(workers) == 2
            holder = int((root / "sync.lock").read_text().strip())
            assert holder in workers
            for _ in range(12):
                assert len(query(served, config)["data"]["assets"]) == 5

            # with the syncing worker stopped, the other one answers: it reports the
            # sources that only the syncing worker synced, and every worker's requests
            os.kill(holder, signal.SIGSTOP)
            try:
                scraped = samples(
                    served.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text
                )
                other_snapshot = ready_snapshot(served)
            finally:
                # uvicorn's supervisor may have replaced the stopped worker meanwhile (it
                # pings its workers, and a loaded machine makes the scrape slow)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(holder, signal.SIGCONT)
    finally:
        lock.release()
    assert other_snapshot == second  # it followed CURRENT to the new snapshot
    for source in config.sources:
        assert scraped[("assetgraph_source_up", (("source", source.name),))] == 1.0
        if source.entities:  # the demo's ServiceNow (itsm) only takes tickets: it reads nothing
            assert scraped[("assetgraph_source_records", (("source", source.name),))] > 0
    requests = sum(v for (name, _), v in scraped.items() if name == "assetgraph_graphql_requests_total")
    assert requests == 12
    assert access_log_rows(config, "Served") == 12
