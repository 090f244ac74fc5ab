"""The access log's writer: records handed over by requests reach the SQLite file in batches,
none is lost, and a full queue slows the requests down instead of dropping their records."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from federation.pipeline import metrics
from federation.serving.access_log import FILE_NAME, AccessLog


def entry(n: int) -> dict[str, Any]:
    return {
        "request_id": f"r{n:05d}",
        "role": "employee",
        "subject": "ann@example.com",
        "via": "jwt",
        "operation_name": "Burst",
        "operation_type": "query",
        "types": ["assets"],
        "fields": ["assets.asset_tag"],
        "rows": 20,
        "outcome": "ok",
        "duration_ms": 1.5,
    }


def stored_ids(folder: Path) -> list[str]:
    con = sqlite3.connect(folder / FILE_NAME)
    try:
        return [r[0] for r in con.execute("SELECT request_id FROM access_log ORDER BY id")]
    finally:
        con.close()


def waits() -> float:
    return metrics.REGISTRY.get_sample_value("assetgraph_access_log_waits_total") or 0.0


@pytest.mark.parametrize(
    ("queue_size", "batch_size"),
    [
        pytest.param(10_000, 1_000, id="roomy-queue"),
        pytest.param(16, 4, id="small-queue-many-waits"),
    ],
)
def test_a_burst_is_written_whole(tmp_path: Path, queue_size: int, batch_size: int) -> None:
    log = AccessLog(tmp_path, queue_size=queue_size, batch_size=batch_size, linger=0.0)

    async def burst() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(3000):
                tg.start_soon(log.submit, entry(n))

    anyio.run(burst)
    log.close()  # what shutdown does: everything queued is written first
    ids = stored_ids(tmp_path)
    assert len(ids) == 3000
    assert set(ids) == {f"r{n:05d}" for n in range(3000)}


def test_a_full_queue_slows_requests_down_and_drops_nothing(tmp_path: Path) -> None:
    log = AccessLog(tmp_path, queue_size=2, batch_size=2)
    # another process holds the write lock: the writer cannot append until it lets go
    blocker = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    before = waits()
    finished: list[int] = []
    seen_while_blocked: dict[str, Any] = {}

    async def request(n: int) -> None:
        await log.submit(entry(n))
        finished.append(n)

    async def scenario() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(request, n)
            # the writer holds one batch (at most 2) and the queue 2 more: the rest must wait
            with anyio.fail_after(30):
                while waits() - before < 16:
                    await anyio.sleep(0.01)
            await anyio.sleep(0.3)
            seen_while_blocked["finished"] = len(finished)
            seen_while_blocked["waits"] = waits() - before
            seen_while_blocked["stored"] = len(stored_ids(tmp_path))
            blocker.execute("COMMIT")  # the lock is released: the writer catches up

    try:
        anyio.run(scenario)
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()
    log.close()
    assert seen_while_blocked["finished"] <= 4  # requests were held back...
    assert seen_while_blocked["waits"] >= 16  # ...and counted
    assert seen_while_blocked["stored"] == 0
    assert sorted(finished) == list(range(20))
    assert sorted(stored_ids(tmp_path)) == [f"r{n:05d}" for n in range(20)]  # nothing dropped


def test_record_blocks_a_thread_while_the_queue_is_full(tmp_path: Path) -> None:
    log = AccessLog(tmp_path, queue_size=1, batch_size=1)
    blocker = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    done = threading.Event()

    def many() -> None:
        for n in range(10):
            log.record(entry(n))
        done.set()

    thread = threading.Thread(target=many)
    thread.start()
    try:
        assert not done.wait(0.5)  # the writer is stuck: the caller waits
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    thread.join(30)
    log.close()
    assert done.is_set()
    assert len(stored_ids(tmp_path)) == 10


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda: entry(7), ("r00007", "employee", "ok"), id="made-on-the-writer"),
        pytest.param(lambda: 1 / 0, (None, "(unknown)", "INTERNAL"), id="description-fails"),
    ],
)
def test_records_described_later_are_written(
    tmp_path: Path, make: Callable[[], dict[str, Any]], expected: tuple[Any, ...]
) -> None:
    log = AccessLog(tmp_path)
    log.record(make)
    log.close()
    con = sqlite3.connect(tmp_path / FILE_NAME)
    try:
        rows = con.execute("SELECT request_id, role, outcome, at FROM access_log").fetchall()
    finally:
        con.close()
    assert [r[:3] for r in rows] == [expected]
    assert rows[0][3]  # stamped when it was handed over


def test_the_log_reopens_after_close(tmp_path: Path) -> None:
    log = AccessLog(tmp_path)
    log.record(entry(1))
    log.close()
    log.record(entry(2))
    log.flush()
    assert stored_ids(tmp_path) == ["r00001", "r00002"]
    log.close()


def write_errors() -> float:
    return metrics.REGISTRY.get_sample_value("assetgraph_access_log_write_errors_total") or 0.0


def rename_table(folder: Path, old: str, new: str) -> None:
    con = sqlite3.connect(folder / FILE_NAME, isolation_level=None)
    try:
        con.execute(f"ALTER TABLE {old} RENAME TO {new}")
    finally:
        con.close()


def test_a_failed_append_is_retried_until_it_succeeds(tmp_path: Path) -> None:
    log = AccessLog(tmp_path, linger=0.0)
    rename_table(tmp_path, "access_log", "access_log_away")  # appends fail from now on
    before = write_errors()
    for n in range(5):
        log.record(entry(n))
    deadline = time.monotonic() + 30
    while write_errors() - before < 2:  # it failed, and tried again
        assert time.monotonic() < deadline
        time.sleep(0.02)
    rename_table(tmp_path, "access_log_away", "access_log")
    log.close()
    assert sorted(stored_ids(tmp_path)) == [f"r{n:05d}" for n in range(5)]


def test_records_that_cannot_be_written_at_shutdown_go_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = AccessLog(tmp_path, linger=0.0)
    rename_table(tmp_path, "access_log", "access_log_away")
    for n in range(3):
        log.record(entry(n))
    log.close(timeout=0.5)
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    for n in range(3):
        assert any(f'"request_id": "r{n:05d}"' in line for line in logged)


def test_the_writer_lets_go_of_what_it_wrote(tmp_path: Path) -> None:
    """A request's entry holds its document (up to the body limit): once written, the idle
    writer must not keep its last batch of them alive until the next request."""
    log = AccessLog(tmp_path, batch_size=100, linger=0.05)

    class Document:
        text = "x" * 200_000

    kept = []
    for n in range(10):
        document = Document()
        kept.append(weakref.ref(document))
        log.record(lambda n=n, document=document: {**entry(n), "operation_name": document.text[:5]})
    log.flush()
    del document
    gc.collect()
    try:
        assert [ref() for ref in kept] == [None] * 10
    finally:
        log.close()
    assert len(stored_ids(tmp_path)) == 10
