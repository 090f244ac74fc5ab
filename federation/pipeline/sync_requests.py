"""Sync requests: how a process that does not hold the sync lock asks the one that does.

`assetgraph sync` run beside a server (whose scheduler holds `sync.lock`), or the GraphQL
`sync_source` mutation in a serving process that is not the syncing one, drops a request in
the store folder; the lock holder's scheduler takes it, syncs, and writes the result back:

    sync-requests/<id>.request.json   a request (written to a temporary name, then renamed)
    sync-requests/<id>.running.json   taken by the lock holder (renamed from .request.json)
    sync-requests/<id>.progress       JSON lines: records read so far, per source and entity
    sync-requests/<id>.result.json    the report, or the error (temporary name, then rename)

A rename is atomic, so a request is taken by exactly one party: the lock holder, or the asker
withdrawing it (to sync itself once the lock is free, or on giving up).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from federation.pipeline.reading import Progress, SyncEvent
from federation.pipeline.reconcile import ReconcileReport
from federation.pipeline.sync import SourceResult, SyncReport

REQUESTS_DIR = "sync-requests"
#: results nobody collected (the asker gave up) are removed after this many seconds
KEEP_SECONDS = 24 * 3600


class SyncRequestError(Exception):
    """A requested sync did not happen or did not finish; the message says why."""


@dataclass(frozen=True)
class SyncRequest:
    id: str
    #: source names (None: every enabled source)
    sources: list[str] | None
    #: sources whose read is written even if it breaks their guard
    accept: list[str]
    requested_at: str
    pid: int


def report_to_json(report: SyncReport) -> dict[str, Any]:
    return {
        "sources": [asdict(r) for r in report.sources],
        "snapshot_id": report.snapshot_id,
        "reconcile": asdict(report.reconcile) if report.reconcile else None,
        "events": [asdict(e) for e in report.events],
        "served_by": report.served_by,
    }


def report_from_json(data: dict[str, Any]) -> SyncReport:
    rec = data.get("reconcile")
    return SyncReport(
        sources=[SourceResult(**r) for r in data["sources"]],
        snapshot_id=data.get("snapshot_id"),
        reconcile=ReconcileReport(**rec) if rec else None,
        events=[SyncEvent(**e) for e in data.get("events", [])],
        served_by=data.get("served_by"),
    )


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


class RequestQueue:
    """The request folder of one store."""

    def __init__(self, root: Path) -> None:
        self.dir = root / REQUESTS_DIR

    def _path(self, request_id: str, suffix: str) -> Path:
        return self.dir / f"{request_id}.{suffix}"

    # the asker ---------------------------------------------------------------------------
    def submit(self, sources: list[str] | None, accept: list[str]) -> SyncRequest:
        self.dir.mkdir(parents=True, exist_ok=True)
        request = SyncRequest(
            id=f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(3)}",
            sources=sources,
            accept=accept,
            requested_at=datetime.now(UTC).isoformat(),
            pid=os.getpid(),
        )
        _write_atomically(self._path(request.id, "request.json"), asdict(request))
        return request

    def withdraw(self, request_id: str) -> bool:
        """Take back a request nobody has taken yet; False if the lock holder has it."""
        try:
            self._path(request_id, "request.json").unlink()
        except FileNotFoundError:
            return False
        return True

    def waiting(self, request_id: str) -> bool:
        return self._path(request_id, "request.json").exists()

    def result(self, request_id: str) -> SyncReport | None:
        """The report once the lock holder has written it (None: not yet). Raises
        SyncRequestError if the sync itself failed."""
        path = self._path(request_id, "result.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        self.forget(request_id)
        if data.get("error"):
            raise SyncRequestError(data["error"])
        return report_from_json(data["report"])

    def progress(self, request_id: str, offset: int, progress: Progress) -> int:
        """Replay the progress lines written since `offset`; return the new offset."""
        try:
            with self._path(request_id, "progress").open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            return offset
        end = chunk.rfind(b"\n") + 1  # only whole lines
        for line in chunk[:end].splitlines():
            event = json.loads(line)
            progress(event["source"], event["entity"], event["seen"])
        return offset + end

    def forget(self, request_id: str) -> None:
        for suffix in ("request.json", "running.json", "progress", "result.json"):
            self._path(request_id, suffix).unlink(missing_ok=True)

    # the lock holder ---------------------------------------------------------------------
    def pending(self) -> list[str]:
        """Ids of the requests nobody has taken, oldest first."""
        if not self.dir.is_dir():
            return []
        return sorted(p.name.removesuffix(".request.json") for p in self.dir.glob("*.request.json"))

    def take(self, request_id: str) -> SyncRequest | None:
        """Claim a request (None: withdrawn meanwhile, or not readable — then it is dropped
        with an error result for its asker)."""
        running = self._path(request_id, "running.json")
        try:
            os.rename(self._path(request_id, "request.json"), running)
        except FileNotFoundError:
            return None
        try:
            return SyncRequest(**json.loads(running.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            self.finish(request_id, error=f"unreadable sync request: {exc}")
            return None

    def progress_writer(self, request_id: str) -> Progress:
        """A progress callback (safe from several reader threads) that the asker replays."""
        path = self._path(request_id, "progress")
        lock = threading.Lock()

        def write(source: str, entity: str | None, seen: int) -> None:
            line = json.dumps({"source": source, "entity": entity, "seen": seen}) + "\n"
            with lock, path.open("a", encoding="utf-8") as fh:
                fh.write(line)

        return write

    def finish(self, request_id: str, report: SyncReport | None = None, error: str | None = None) -> None:
        data = {"report": report_to_json(report) if report else None, "error": error}
        _write_atomically(self._path(request_id, "result.json"), data)
        self._path(request_id, "running.json").unlink(missing_ok=True)

    def prune(self, older_than: float = KEEP_SECONDS) -> None:
        """Remove what askers left behind (they gave up waiting) long ago."""
        if not self.dir.is_dir():
            return
        cutoff = time.time() - older_than
        for path in self.dir.iterdir():
            if not path.name.endswith(".request.json") and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
