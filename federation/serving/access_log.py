"""Who asked what: one record per GraphQL request.

Each record goes to an append-only SQLite file in the store folder (`access_log.sqlite`, WAL;
serving processes open the DuckDB store read-only, and several of them append here at once)
and to the structured log (logger `assetgraph.access` at INFO, one JSON object per line; one
log record carries the lines of a batch). Auditors read it through the root field
`access_log` (roles granted `access_log: true`).

Requests hand their record to a bounded queue (`AccessLog.submit`) and go on; one writer
thread per process drains the queue and appends what it holds in one transaction, so the
log keeps up with thousands of requests a second. If it ever falls behind and the queue is
full, the request waits for room (counted in `assetgraph_access_log_waits_total`): requests
slow down, no record is dropped. A failed append (disk full, the file locked) is retried
until it succeeds; `close()` writes what is queued before the process stops.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import RoleAccess
from federation.pipeline import metrics
from schema.authorize import authorize_capability
from schema.scalars import Timestamptz

log = logging.getLogger("assetgraph.access")

FILE_NAME = "access_log.sqlite"
#: records waiting for the writer; past this, requests wait for room
QUEUE_SIZE = 10_000
#: the most records appended in one transaction
BATCH_SIZE = 1_000
#: how long `close()` keeps retrying a failing append before it gives the records to the log
CLOSE_SECONDS = 30.0
#: how long the writer lets records gather after the first one arrives: a few larger
#: batches cost the event loop less than many small ones (each wake-up takes the GIL)
LINGER_SECONDS = 0.05
#: threads that may block on a full queue at once (the other waiting requests await them)
_PUT_THREADS = 4
_COLUMNS = (
    "at",
    "request_id",
    "role",
    "subject",
    "via",
    "operation_name",
    "operation_type",
    "types",
    "fields",
    "rows",
    "outcome",
    "duration_ms",
)
#: rows per INSERT statement: a batch is a few statements, not one per row (each step of a
#: statement gives up the GIL and, while requests keep the event loop busy, waits up to a
#: switch interval to take it back)
_ROWS_PER_INSERT = 500
_ROW = f"({', '.join('?' * len(_COLUMNS))})"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    request_id TEXT,
    role TEXT NOT NULL,
    subject TEXT,
    via TEXT,
    operation_name TEXT,
    operation_type TEXT,
    types TEXT NOT NULL,
    fields TEXT NOT NULL,
    rows INTEGER,
    outcome TEXT NOT NULL,
    duration_ms REAL
);
CREATE INDEX IF NOT EXISTS access_log_at ON access_log (at);
CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
"""

#: one record, or a function that makes it (called on the writer thread, off the request)
Entry = dict[str, Any] | Callable[[], dict[str, Any]]
_STOP = object()
_open_logs: weakref.WeakSet[AccessLog] = weakref.WeakSet()


class AccessLog:
    def __init__(
        self,
        folder: Path,
        *,
        queue_size: int = QUEUE_SIZE,
        batch_size: int = BATCH_SIZE,
        linger: float = LINGER_SECONDS,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        self.batch_size = batch_size
        self.linger = linger
        self._local = threading.local()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
        con.close()
        self._queue: queue.Queue[Any] = queue.Queue(queue_size)
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._give_up_at: float | None = None
        self._put_limiter: anyio.CapacityLimiter | None = None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA busy_timeout=10000")
        return con

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
        return con

    # ------------------------------------------------------------------ handing records over
    async def submit(self, entry: Entry) -> None:
        """Queue one request's record. While the queue is full the caller awaits room: the
        request is slowed down (and counted), its record is never dropped."""
        item = (time.time(), entry)
        self._start_writer()
        try:
            self._queue.put_nowait(item)
            return
        except queue.Full:
            pass
        metrics.ACCESS_LOG_WAITS.inc()
        if self._put_limiter is None:
            self._put_limiter = anyio.CapacityLimiter(_PUT_THREADS)
        await anyio.to_thread.run_sync(self._queue.put, item, limiter=self._put_limiter)

    def record(self, entry: Entry) -> None:
        """`submit` for callers outside the event loop: blocks this thread while the queue is full."""
        item = (time.time(), entry)
        self._start_writer()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            metrics.ACCESS_LOG_WAITS.inc()
            self._queue.put(item)

    def flush(self) -> None:
        """Wait until every record queued so far is written."""
        self._queue.join()

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Write what is queued and stop the writer (call it after the last request). Records
        that still cannot be appended after `timeout` seconds go to the log as errors."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return
            self._give_up_at = time.monotonic() + timeout
            self._queue.put(_STOP)
            writer.join()
            self._give_up_at = None
        _open_logs.discard(self)

    def _start_writer(self) -> None:
        if self._writer is not None:
            return
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._drain, name="assetgraph-access-log", daemon=True)
                self._writer.start()
                _open_logs.add(self)

    # ------------------------------------------------------------------ the writer thread
    def _drain(self) -> None:
        con = self._connect()
        try:
            stop = False
            while not stop:
                batch = [self._queue.get()]
                if self.linger and batch[0] is not _STOP and self._queue.qsize() < self.batch_size:
                    time.sleep(self.linger)  # no backlog: let a batch gather
                while len(batch) < self.batch_size:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(item is _STOP for item in batch)
                # records queued after the stop are written too: close() comes after the last
                # request, but nothing queued is ever left behind
                if stop:
                    batch.extend(_take_all(self._queue))
                items = [item for item in batch if item is not _STOP]
                entries: list[dict[str, Any]] = []
                if items:
                    entries = [_entry(at, entry) for at, entry in items]
                    try:
                        self._append(con, entries)
                    except Exception:  # the writer must outlive anything: requests wait on it
                        log.exception(
                            "could not append %d records to %s; they follow", len(entries), self.path
                        )
                        for entry in entries:
                            log.error(_line(entry))
                # written: let go of them before waiting for more (a request's entry holds its
                # document; an idle writer kept its last batch of them alive)
                done = len(batch)
                batch, items, entries = [], [], []
                for _ in range(done):
                    self._queue.task_done()
                metrics.ACCESS_LOG_PENDING.set(self._queue.qsize())
        finally:
            con.close()

    def _append(self, con: sqlite3.Connection, entries: list[dict[str, Any]]) -> None:
        rows = [_values(entry) for entry in entries]
        pause = 0.05
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                for start in range(0, len(rows), _ROWS_PER_INSERT):
                    chunk = rows[start : start + _ROWS_PER_INSERT]
                    con.execute(_insert(len(chunk)), [v for row in chunk for v in row])
                con.execute("COMMIT")
                break
            except sqlite3.Error as exc:
                if con.in_transaction:
                    try:
                        con.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.exception("could not roll back an append to %s", self.path)
                metrics.ACCESS_LOG_WRITE_ERRORS.inc()
                give_up_at = self._give_up_at
                if give_up_at is not None and time.monotonic() >= give_up_at:
                    log.error(
                        "could not append %d records to %s at shutdown (%s); they follow",
                        len(entries),
                        self.path,
                        exc,
                    )
                    for entry in entries:
                        log.error(_line(entry))
                    return
                log.error(
                    "could not append %d records to %s (%s); retrying in %.1fs — requests wait "
                    "once the queue is full",
                    len(entries),
                    self.path,
                    exc,
                    pause,
                )
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
        if log.isEnabledFor(logging.INFO):
            # one log record for the batch, a JSON object per line: a write per record would
            # give up the GIL once per request, and wait for it again each time
            log.info("\n".join(_line(entry) for entry in entries))

    def query(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        role: str | None = None,
        subject: str | None = None,
        outcome: str | None = None,
        type_: str | None = None,
        since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        conds, params = ["1 = 1"], []
        for column, value in (("role", role), ("subject", subject), ("outcome", outcome)):
            if value is not None:
                conds.append(f"{column} = ?")
                params.append(value)
        if type_ is not None:
            conds.append("EXISTS (SELECT 1 FROM json_each(types) WHERE value = ?)")
            params.append(type_)
        if since is not None:
            conds.append("at >= ?")
            params.append(since.astimezone(UTC).isoformat(timespec="milliseconds"))
        cur = self._connection().execute(
            f"SELECT id, {', '.join(_COLUMNS)} FROM access_log WHERE {' AND '.join(conds)} "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        names = [d[0] for d in cur.description]
        rows = []
        for found in cur.fetchall():
            row = dict(zip(names, found, strict=True))
            row["types"] = json.loads(row["types"])
            row["fields"] = json.loads(row["fields"])
            row["at"] = datetime.fromisoformat(row["at"])
            rows.append(row)
        return rows


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def _take_all(pending: queue.Queue[Any]) -> list[Any]:
    taken = []
    while True:
        try:
            taken.append(pending.get_nowait())
        except queue.Empty:
            return taken


def _entry(at: float, entry: Entry) -> dict[str, Any]:
    """The record to append: made now if the request handed over a function."""
    if callable(entry):
        try:
            entry = entry()
        except Exception:  # a record of what is known beats no record
            log.exception("could not describe a request for the access log")
            entry = {"role": "(unknown)", "outcome": "INTERNAL"}
    return {"at": _stamp(at), **entry}


@lru_cache(maxsize=64)
def _insert(rows: int) -> str:
    return f"INSERT INTO access_log ({', '.join(_COLUMNS)}) VALUES {', '.join([_ROW] * rows)}"


def _values(entry: dict[str, Any]) -> list[Any]:
    values = []
    for column in _COLUMNS:
        value = entry.get(column)
        if column in ("types", "fields"):
            value = json.dumps(value or [])
        elif column == "role":
            value = value or "(unknown)"
        elif column == "outcome":
            value = value or "INTERNAL"
        elif value is not None and not isinstance(value, str | int | float):
            value = str(value)
        values.append(value)
    return values


def _line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, default=str, sort_keys=True)


@atexit.register
def _close_open_logs() -> None:
    """Write what is still queued when the interpreter exits without `close()`."""
    for access_log in list(_open_logs):
        access_log.close(timeout=5.0)


@strawberry.type(name="access_log_entry", description="One GraphQL request, as the access log holds it.")
class AccessLogEntry:
    id: int
    at: Timestamptz
    request_id: str | None
    role: str
    subject: str | None
    via: str | None
    operation_name: str | None
    operation_type: str | None
    types: list[str]
    fields: list[str]
    rows: int | None
    outcome: str
    duration_ms: float | None


MAX_ROWS = 1000


def root_fields(access_log: AccessLog) -> Any:
    """access → {"access_log": field} for roles granted it (RoleSchemas.root_fields)."""

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        if not access.allowed("access_log"):
            return {}

        def resolve(
            info: strawberry.Info,
            limit: int | None = 100,
            offset: int | None = 0,
            role: str | None = None,
            subject: str | None = None,
            outcome: str | None = None,
            type: str | None = None,
            since: Timestamptz | None = None,
        ) -> list[AccessLogEntry]:
            authorize_capability(info.context, info.path.key, "access_log")
            if limit is not None and not 0 <= limit <= MAX_ROWS:
                raise UserInputError(f"limit must be between 0 and {MAX_ROWS} (got {limit})")
            if offset is not None and offset < 0:
                raise UserInputError(f"offset must be 0 or more (got {offset})")
            return access_log.query(  # type: ignore[return-value]
                limit=100 if limit is None else limit,
                offset=offset or 0,
                role=role,
                subject=subject,
                outcome=outcome,
                type_=type,
                since=since,
            )

        return {
            "access_log": strawberry.field(
                resolver=resolve,
                name="access_log",
                description="Requests made to this gateway, newest first (auditors).",
            )
        }

    return fields_for
