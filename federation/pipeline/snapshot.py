"""Reading the published graph: the current published file with the writes made since it was
published laid over it (federation/pipeline/overlay.py), a cursor per thread.

    reader = StoreReader(root)
    snapshot = reader.current()          # one stat of `published/CURRENT` and of the journal
    with snapshot.reading():             # every statement of the block sees one state
        snapshot.query("SELECT ...")

One `Snapshot` per published file per process (`Snapshot.shared`): a write in this process
lays its entry over it at once (the next statement of any thread sees it); other processes
see the journal change at their next `current()`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from federation.pipeline.overlay import SEARCH_PATH, attach, base_seq, lay
from federation.pipeline.patches import JOURNAL, Journal, publish_lock

#: the Snapshot of each published file open in this process
_SHARED: weakref.WeakValueDictionary[Path, Snapshot] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


class Snapshot:
    """One published file, attached read-only, under the journal's later entries."""

    def __init__(self, snapshot_id: str, path: Path) -> None:
        self.base_id = snapshot_id
        self.id = snapshot_id
        self.path = path
        self.root = path.parent.parent
        self._con = duckdb.connect()
        attach(self._con, str(path))
        #: the last journal entry laid over (or held by the file)
        self._seq = base_seq(self._con)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.refresh()

    @classmethod
    def shared(cls, path: Path, snapshot_id: str | None = None) -> Snapshot:
        """This process's Snapshot of `path`, brought up to date with the journal."""
        with _SHARED_LOCK:
            found = _SHARED.get(path)
            if found is None:
                found = cls(snapshot_id or path.stem, path)
                _SHARED[path] = found
                return found
        found.refresh()
        return found

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            cur.execute(SEARCH_PATH)
            self._local.cursor = cur
        return cur

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.cursor()
        return cur.execute(sql, params or []).fetchall()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The calling thread's statements in the block see one state (a transaction); a
        write this thread makes meanwhile (`refresh`) shows from its next statement."""
        if getattr(self._local, "reading", False):
            yield
            return
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        self._local.reading = True
        try:
            yield
        finally:
            self._local.reading = False
            _end(cur)

    def refresh(self) -> bool:
        """Lay over the journal entries written since; False when this file is no longer
        the current one (its successor holds them)."""
        with self._lock, publish_lock(self.root):
            try:
                current = (self.root / "published" / "CURRENT").read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                current = None
            if current != self.path.name:
                return False
            entries = [p for p in Journal(self.root).entries() if p.seq > self._seq]
            if entries:
                lay(self._con, entries)
                self._seq = max(p.seq for p in entries)
                self.id = f"{self.base_id}+{self._seq}"
        if entries and getattr(self._local, "reading", False):
            cur = self.cursor()  # this thread wrote: its reads go on from the new state
            _end(cur)
            cur.execute("BEGIN TRANSACTION")
        return True


def _end(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("COMMIT")
    except duckdb.Error:  # a statement interrupted by its deadline aborted the transaction
        cur.execute("ROLLBACK")


class StoreReader:
    """Follows `published/CURRENT` and the journal: each call to `current()` costs a stat of each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pointer = root / "published" / "CURRENT"
        self.journal = root / JOURNAL
        self._snapshot: Snapshot | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        try:
            st = self.pointer.stat()
        except FileNotFoundError:
            return None
        try:
            jt = self.journal.stat()
            written: tuple[int, ...] = (jt.st_mtime_ns, jt.st_size, jt.st_ino)
        except FileNotFoundError:
            written = ()
        stamp = (st.st_mtime_ns, st.st_ino, written)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    name = self.pointer.read_text(encoding="utf-8").strip()
                    path = self.pointer.parent / name
                    self._snapshot = Snapshot.shared(path, name.removesuffix(".duckdb"))
                    self._stamp = stamp
        return self._snapshot
