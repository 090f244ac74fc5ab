"""The DuckDB store: per-source snapshots, and published snapshots of the unified graph.

Layout of the store folder (`store.path` in config.yaml):

    sources.duckdb          one table per (source, entity) of normalised rows, sync state,
                            quarantine, quality notes. Written only by the process holding
                            `sync.lock`.
    sync.lock               held (flock) by the one process that syncs
    published/CURRENT       name of the current published file; replaced by rename
    published/snap-*.duckdb the unified tables, provenance, conflicts, source status.
                            Written once, then only ever opened read-only.

A sync replaces one source's tables inside one transaction, so the source snapshot is either
the old one or the new one. Publishing writes a whole new file and swaps the pointer, so
serving processes (any number of them) move from one consistent snapshot to the next.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import duckdb
import pandas as pd

from federation.model import TABLES
from federation.pipeline.layout import ROW_GROUP_SIZE, regroup, table_ddl
from federation.pipeline.notes import NOTES_DDL, drop_notes, replace_notes
from federation.pipeline.patches import Journal, Patch, apply, publish_lock
from federation.pipeline.patching import patched_copy

log = logging.getLogger("assetgraph.store")

#: auxiliary published tables: name → column definitions
AUX_TABLES: dict[str, str] = {
    "record_sources": "entity VARCHAR, entity_id VARCHAR, source VARCHAR, record_id VARCHAR, "
    "fetched_at TIMESTAMPTZ",
    "provenance": "entity VARCHAR, entity_id VARCHAR, field VARCHAR, source VARCHAR, "
    "record_id VARCHAR, value JSON, fetched_at TIMESTAMPTZ",
    "conflicts": "entity VARCHAR, entity_id VARCHAR, field VARCHAR, source VARCHAR, "
    "record_id VARCHAR, value JSON",
    "ambiguities": "entity VARCHAR, source VARCHAR, record_id VARCHAR, rule VARCHAR, "
    "candidate_ids VARCHAR[], reason VARCHAR",
    "source_status": "name VARCHAR, kind VARCHAR, status VARCHAR, last_sync_at TIMESTAMPTZ, "
    "last_success_at TIMESTAMPTZ, record_count BIGINT, stale BOOLEAN, error VARCHAR",
    "quarantine": "source VARCHAR, entity VARCHAR, record_id VARCHAR, reason VARCHAR, "
    "raw JSON, quarantined_at TIMESTAMPTZ",
    # values left out of published records (on_invalid: blank), by source record and field;
    # `record_quality` is the same notes by the entity each record merged into (assets.quality)
    "quality": "source VARCHAR, entity VARCHAR, record_id VARCHAR, field VARCHAR, value JSON, "
    "reason VARCHAR, noted_at TIMESTAMPTZ",
    "record_quality": "entity VARCHAR, entity_id VARCHAR, field VARCHAR, source VARCHAR, "
    "record_id VARCHAR, value JSON, reason VARCHAR",
    # notes counted by source, entity, field and reason (quoted values in a reason as …)
    "quality_summary": "source VARCHAR, entity VARCHAR, field VARCHAR, reason VARCHAR, count BIGINT",
    # reconcile_token: which publish of the store's this is (delta.py builds on a copy of it)
    "publish_info": "snapshot_id VARCHAR, published_at TIMESTAMPTZ, reconcile_token VARCHAR",
}


def published_ddl(prefix: str = "") -> list[str]:
    """CREATE TABLE statements of a published snapshot (`prefix`: an attached db, `pub.`)."""
    out = [table_ddl(table, f'{prefix}"{table.name}"') for table in TABLES.values()]
    out += [f"CREATE TABLE {prefix}{name} ({cols})" for name, cols in AUX_TABLES.items()]
    return out


def _now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------- reading


class Snapshot:
    """One published snapshot, opened read-only, with a cursor per thread."""

    def __init__(self, snapshot_id: str, path: Path) -> None:
        self.id = snapshot_id
        self.path = path
        self._con = duckdb.connect(str(path), read_only=True)
        self._local = threading.local()
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.cursor()
        return cur.execute(sql, params or []).fetchall()


class StoreReader:
    """Follows `published/CURRENT`: each call to `current()` costs one stat of the pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pointer = root / "published" / "CURRENT"
        self._snapshot: Snapshot | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        try:
            st = self.pointer.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    name = self.pointer.read_text(encoding="utf-8").strip()
                    path = self.pointer.parent / name
                    if self._snapshot is None or self._snapshot.path != path:
                        self._snapshot = Snapshot(name.removesuffix(".duckdb"), path)
                    self._stamp = stamp
        return self._snapshot


# ----------------------------------------------------------------------------- writing


@dataclass
class SourceState:
    source: str
    kind: str
    status: str = "never_synced"  # ok | failed | held | never_synced | syncing
    last_sync_at: datetime | None = None
    last_success_at: datetime | None = None
    record_count: int = 0
    error: str | None = None
    cursors: dict[str, str] | None = None


_STATE_DDL = """
CREATE TABLE IF NOT EXISTS sync_state (
    source VARCHAR PRIMARY KEY, kind VARCHAR, status VARCHAR, last_sync_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ, record_count BIGINT, error VARCHAR, cursors JSON);
CREATE TABLE IF NOT EXISTS entity_ids (entity VARCHAR, source VARCHAR, record_id VARCHAR,
    entity_id VARCHAR);
"""


def snapshot_table(source: str, entity: str) -> str:
    return f"src__{source}__{entity}"


def _owned_tables(source: str) -> set[str]:
    """The snapshot tables a source can have (exact names: `cmdb` must not own `cmdb__eu`'s)."""
    return {snapshot_table(source, entity) for entity in TABLES}


class SyncLock:
    """An exclusive flock on `sync.lock`: only its holder syncs and publishes."""

    def __init__(self, root: Path) -> None:
        self.path = root / "sync.lock"
        self._fh: IO[str] | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None


class SourceStore:
    """The per-source snapshots in `sources.duckdb`. Only the sync-lock holder opens it."""

    def __init__(self, root: Path, memory_limit: str | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.con = duckdb.connect(str(root / "sources.duckdb"))
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")  # validated: digits + unit
        # reconciliation orders explicitly wherever order matters; not keeping insertion order
        # lets DuckDB stream large CREATE TABLE AS / INSERT instead of buffering them
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(_STATE_DDL)
        self.con.execute(NOTES_DDL)

    def close(self) -> None:
        self.con.close()

    # state -------------------------------------------------------------------------
    def state(self, source: str) -> SourceState | None:
        rows = self.con.execute(
            "SELECT source, kind, status, last_sync_at, last_success_at, record_count, error, "
            "cursors FROM sync_state WHERE source = ?",
            [source],
        ).fetchall()
        if not rows:
            return None
        r = rows[0]
        return SourceState(r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6], json.loads(r[7] or "{}"))

    def states(self) -> list[SourceState]:
        names = [r[0] for r in self.con.execute("SELECT source FROM sync_state").fetchall()]
        return [s for n in names if (s := self.state(n)) is not None]

    def _put_state(self, state: SourceState) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                state.source,
                state.kind,
                state.status,
                state.last_sync_at,
                state.last_success_at,
                state.record_count,
                state.error,
                json.dumps(state.cursors or {}),
            ],
        )

    def record_failure(self, source: str, kind: str, error: str, *, status: str = "failed") -> SourceState:
        """Keep the last good snapshot; remember the failure (`held`: a read its guard refused)."""
        state = self.state(source) or SourceState(source, kind)
        state.status = status
        state.kind = kind
        state.last_sync_at = _now()
        state.error = error
        self._put_state(state)
        return state

    # snapshots ---------------------------------------------------------------------
    def tables(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {r[0] for r in rows}

    def entity_frame(self, source: str, entity: str) -> pd.DataFrame | None:
        name = snapshot_table(source, entity)
        if name not in self.tables():
            return None
        return self.con.execute(f'SELECT * FROM "{name}"').df()

    def columns(self, source: str, entity: str) -> list[str] | None:
        name = snapshot_table(source, entity)
        if name not in self.tables():
            return None
        return [r[0] for r in self.con.execute(f'DESCRIBE "{name}"').fetchall()]

    def replace_source(
        self,
        source: str,
        kind: str,
        frames: dict[str, pd.DataFrame],
        quarantine: pd.DataFrame,
        cursors: dict[str, str],
        *,
        incremental: set[str] | frozenset[str] = frozenset(),
        started_at: datetime | None = None,
        quality: pd.DataFrame | None = None,
    ) -> SourceState:
        """Swap in a source's new snapshot in one transaction.

        `frames` maps entity → normalised rows (with `record_id` and `fetched_at`). Entities in
        `incremental` are merged into the existing table by record_id instead of replacing it.
        `quality`: the read's notes (entity, record_id, field, value, reason); they replace the
        notes of what was read again, as the quarantine entries do.
        """
        con = self.con
        existing = self.tables()
        now = _now()
        con.execute("BEGIN TRANSACTION")
        try:
            total = 0
            for entity, frame in frames.items():
                name = snapshot_table(source, entity)
                con.register("_incoming", frame)
                if entity in incremental and name in existing:
                    con.execute(f'DELETE FROM "{name}" WHERE record_id IN (SELECT record_id FROM _incoming)')
                    con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _incoming')
                else:
                    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _incoming')
                con.unregister("_incoming")
                total += con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
            kept = {snapshot_table(source, e) for e in frames}
            for name in existing & _owned_tables(source) - kept:
                con.execute(f'DROP TABLE "{name}"')
            replace_notes(con, source, frames, quarantine, quality, incremental, now)
            state = SourceState(
                source=source,
                kind=kind,
                status="ok",
                last_sync_at=started_at or now,
                last_success_at=started_at or now,
                record_count=int(total),
                error=None,
                cursors=cursors,
            )
            self._put_state(state)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return state

    def drop_source(self, source: str) -> None:
        """Forget a source that was removed from the config."""
        for name in self.tables() & _owned_tables(source):
            self.con.execute(f'DROP TABLE "{name}"')
        self.con.execute("DELETE FROM sync_state WHERE source = ?", [source])
        drop_notes(self.con, source)

    def quarantine_frame(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM quarantine").df()

    def quality_frame(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM quality").df()


@dataclass
class Built:
    """What a publish's build says of the file it filled."""

    #: which publish of the store's it is (federation/pipeline/delta.py)
    token: str | None = None
    #: rewrite the model's tables in storage order (a copy merged in part appends instead)
    regroup: bool = True


class Publisher:
    """Writes published snapshots and swaps `published/CURRENT`."""

    def __init__(
        self, root: Path, keep: int = 2, *, clean: bool = True, row_group_size: int = ROW_GROUP_SIZE
    ) -> None:
        """`clean`: remove what an interrupted publish left (only the sync-lock holder may:
        a writer patching a snapshot passes False)."""
        self.root = root
        self.dir = root / "published"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pointer = self.dir / "CURRENT"
        self.keep = keep
        self.row_group_size = int(row_group_size)
        if clean:
            self._remove_orphans()

    def _remove_orphans(self) -> None:
        """Delete what a process killed mid-publish left: the half-written snapshot, DuckDB's
        write-ahead log of it, the pointer's temporary. Only the sync-lock holder makes a
        Publisher, so nothing is writing them now (readers never open them)."""
        with publish_lock(self.root):  # a write's patch (any process) holds it while it works
            leftovers = [*self.dir.glob("snap-*.tmp"), *self.dir.glob("snap-*.tmp.wal")]
            leftovers += [*self.dir.glob("patch-*.tmp"), *self.dir.glob("patch-*.tmp.wal")]
            leftovers += [p for p in [self.pointer.with_suffix(".tmp")] if p.exists()]
            for path in leftovers:
                path.unlink(missing_ok=True)
                log.info("removed %s, left by a publish that did not finish", path.name)

    def current_path(self) -> Path | None:
        try:
            return self.dir / self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def publish(self, frames: dict[str, pd.DataFrame]) -> str:
        """Publish a snapshot made of DataFrames (missing tables stay empty); return its id."""

        def fill(con: duckdb.DuckDBPyConnection) -> None:
            for name, frame in frames.items():
                if frame is None or not len(frame):
                    continue
                con.register("_frame", frame)
                # in no particular order: publish_with rewrites the model's tables in theirs
                con.execute(f'INSERT INTO pub."{name}" BY NAME SELECT * FROM _frame')
                con.unregister("_frame")

        con = duckdb.connect()
        try:
            return self.publish_with(con, fill)
        finally:
            con.close()

    def publish_with(
        self,
        con: duckdb.DuckDBPyConnection,
        build: Callable[[duckdb.DuckDBPyConnection], object],
        *,
        read_started: Mapping[str, datetime | None] | None = None,
        base: Path | None = None,
    ) -> str:
        """Create a new snapshot file attached to `con` as `pub` (empty, or a copy of `base`),
        let `build` fill it (returning a `Built`; anything else: the defaults), then swap it
        in. If `build` raises, nothing is published and the current snapshot stays.
        `read_started`: source → start of the read its snapshot holds; the written values no
        such read has seen yet (patches.py) are applied before the swap, under the publish
        lock, so a sync never undoes a write."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        snapshot_id = f"snap-{stamp}-{os.getpid()}"
        path = self.dir / f"{snapshot_id}.duckdb"
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        quoted = str(tmp).replace("'", "''")
        if base is not None:
            self._copy_base(base, tmp)  # readers keep the original; the copy is only ours
            con.execute(f"ATTACH '{quoted}' AS pub (ROW_GROUP_SIZE {self.row_group_size})")
        else:
            con.execute(f"ATTACH '{quoted}' AS pub")
        try:
            if base is None:
                for ddl in published_ddl("pub."):
                    con.execute(ddl)
            built = result if isinstance(result := build(con), Built) else Built()
            con.execute("DELETE FROM pub.publish_info")
            con.execute("INSERT INTO pub.publish_info VALUES (?, ?, ?)", [snapshot_id, _now(), built.token])
            if base is None or built.regroup:
                # the row group size is an option of the attached file, not of a table: attach
                # it again with the small one and rewrite only the model's tables
                con.execute("DETACH pub")
                con.execute(f"ATTACH '{quoted}' AS pub (ROW_GROUP_SIZE {self.row_group_size})")
                regroup(con)
            with publish_lock(self.root):
                if read_started is not None:
                    apply(con, Journal(self.root).pending(read_started))
                con.execute("DETACH pub")
                self._swap(tmp, path)
        except BaseException:
            con.execute("DETACH DATABASE IF EXISTS pub")
            tmp.unlink(missing_ok=True)
            tmp.with_suffix(".tmp.wal").unlink(missing_ok=True)
            raise
        return snapshot_id

    def patch(self, patches: Sequence[Patch]) -> str | None:
        """Journal `patches` (written back to their sources) and publish a copy of the current
        snapshot with them applied: the write shows at once, without a sync. Returns the new
        snapshot id, or None when nothing is published yet (the first publish applies them)."""
        with publish_lock(self.root):
            Journal(self.root).append(patches)
            current = self.current_path()
            if current is None:
                return None
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            snapshot_id = f"snap-{stamp}-{os.getpid()}-w"
            path = self.dir / f"{snapshot_id}.duckdb"
            tmp = self.dir / f"patch-{stamp}-{os.getpid()}.tmp"
            patched_copy(current, tmp, patches, snapshot_id, row_group_size=self.row_group_size)
            self._swap(tmp, path)
        return snapshot_id

    def _copy_base(self, base: Path, tmp: Path) -> None:
        """Copy `base`, or the newest snapshot if writes' swaps pruned `base` meanwhile."""
        try:
            shutil.copyfile(base, tmp)
        except FileNotFoundError:
            current = self.current_path()
            if current is None or current == base:
                raise
            shutil.copyfile(current, tmp)

    def _swap(self, tmp: Path, path: Path) -> None:
        os.replace(tmp, path)
        pointer_tmp = self.pointer.with_suffix(".tmp")
        pointer_tmp.write_text(path.name + "\n", encoding="utf-8")
        os.replace(pointer_tmp, self.pointer)
        self._prune(path)

    def _prune(self, current: Path) -> None:
        files = sorted(self.dir.glob("snap-*.duckdb"), key=lambda p: p.stat().st_mtime)
        old = [p for p in files if p != current][: max(0, len(files) - 1 - self.keep)]
        for p in old:
            p.unlink(missing_ok=True)  # readers holding it open keep their inode
