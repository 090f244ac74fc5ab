"""Who asked what: one record per GraphQL request.

Each record goes to the structured log (logger `assetgraph.access`, one JSON object per line)
and to an append-only SQLite file in the store folder (`access_log.sqlite`, WAL): serving
processes open the DuckDB store read-only, and several of them append here at once.
Auditors read it through the root field `access_log` (roles granted `access_log: true`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import RoleAccess
from schema.authorize import authorize_capability
from schema.scalars import Timestamptz

log = logging.getLogger("assetgraph.access")

FILE_NAME = "access_log.sqlite"
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


class AccessLog:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        self._local = threading.local()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA busy_timeout=10000")
            self._local.con = con
        return con

    def record(self, entry: dict[str, Any]) -> None:
        """Append one request's record (and log it). Never raises: a full disk must not take
        the API down, but it is logged loudly."""
        entry = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        log.info(json.dumps(entry, default=str, sort_keys=True))
        values = [
            json.dumps(entry.get(c) or []) if c in ("types", "fields") else entry.get(c) for c in _COLUMNS
        ]
        try:
            self._connection().execute(
                f"INSERT INTO access_log ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                values,
            )
        except sqlite3.Error:
            log.exception("could not append to %s", self.path)

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
