"""Where the store lives and how to connect to it, from many threads at once.

SQLite (the default, a file in the store folder) runs in WAL mode with a busy timeout, so
readers never wait for the writer; a write transaction starts with `BEGIN IMMEDIATE`, which
takes the write lock up front (a deferred transaction that reads first and writes later can
fail at once on a lock upgrade, whatever the busy timeout), so concurrent writers queue
instead of failing. PostgreSQL uses the pool as it is. Core connections from one engine are
safe to use from a thread pool: each call checks out its own connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL

from federation.config.settings import Config

DEFAULT_FILE = "workflow.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0
#: execution option marking a connection that will write (SQLite: BEGIN IMMEDIATE)
_WRITES = "assetgraph_workflow_writes"


class WorkflowStoreError(Exception):
    """The store cannot be opened or used: the message says which database and what to do."""


def safe_url(url: str | URL) -> str:
    """The URL for messages and logs: never the password."""
    return sa.make_url(url).render_as_string(hide_password=True)


def store_url(config: Config) -> URL:
    """`workflow.url` of the config, or a SQLite file in the store folder; a relative SQLite
    path starts at the config file's folder, like every other path in it."""
    raw = config.settings.workflow.url
    if raw is None:
        path = config.resolve(config.settings.store.path) / DEFAULT_FILE
        return URL.create("sqlite", database=str(path))
    url = sa.make_url(raw)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_absolute():
        url = url.set(database=str(config.resolve(url.database)))
    return url


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def create_store_engine(url: str | URL) -> sa.Engine:
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=_json)


def _sqlite_engine(url: URL) -> sa.Engine:
    if not url.database or url.database == ":memory:":
        raise WorkflowStoreError(
            f"workflow store {safe_url(url)}: an in-memory SQLite database would lose the history "
            "at every restart; give a file path (sqlite:///path/to/workflow.sqlite)"
        )
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        json_serializer=_json,
        connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # transactions are begun by the "begin" hook below, not by the driver
        dbapi_connection.isolation_level = None
        # Unicode case folding for `_ilike` (SQLite's own lower() folds ASCII only)
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # `_like` is case-sensitive, as on PostgreSQL (and Hasura)
        cursor.execute("PRAGMA case_sensitive_like = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        writes = connection.get_execution_options().get(_WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a write transaction: committed on success, rolled back on error."""
    with engine.connect().execution_options(**{_WRITES: True}) as conn, conn.begin():
        yield conn


@contextmanager
def reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for reads (SQLite: a deferred transaction, which never waits for a writer)."""
    with engine.connect() as conn, conn.begin():
        yield conn
