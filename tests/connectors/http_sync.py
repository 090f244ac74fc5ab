"""Helpers for the HTTP connector tests: a gateway with one source, synced for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
from contract import ConnectorContract

from connectors.base import Connector
from connectors.registry import connector_class
from federation.config.settings import Config, parse_config
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import SourceResult, Syncer

#: tiny waits so failures are quick: tries once more after at most 50 ms
FAST_RETRY = {"max_tries": 3, "backoff_base": 0.01, "backoff_max": 0.05, "max_wait": 2}


def connector(source: dict[str, Any]) -> Connector:
    config = connector_class(source["kind"]).config_model.model_validate(source)
    return connector_class(source["kind"])(config, base_dir=Path.cwd())


class Gateway:
    """A config holding `source`, synced into a store under `root`."""

    def __init__(self, root: Path, source: dict[str, Any]) -> None:
        self.root = root
        self.source = source
        self.config: Config = parse_config(
            {"store": {"path": str(root / "store")}, "sources": [source]}, base_dir=root
        )

    def sync(self) -> SourceResult:
        syncer = Syncer(self.config)
        try:
            return syncer.run().sources[0]
        finally:
            syncer.close()

    @contextmanager
    def published(self) -> Iterator[duckdb.DuckDBPyConnection]:
        snapshot = StoreReader(self.config.resolve(self.config.settings.store.path)).current()
        assert snapshot is not None
        yield snapshot.cursor()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.published() as cur:
            return cur.execute(sql, params or []).fetchall()

    def sync_through_failure(
        self, server: Any, vendor: str, fault: int | str, path: str | None = None
    ) -> str:
        """Sync once, make the vendor fail for ever (on `path`, else everywhere), sync again:
        the source must be reported failed and stale; returns its error text."""
        assert self.sync().ok
        if path is None:
            server.fail(vendor, fault, times=float("inf"))
        else:
            server.fail(vendor, fault, path=path, times=float("inf"))
        assert not self.sync().ok
        status, stale, error, _ = self.status()
        assert status == "failed"
        assert stale
        assert error
        return error

    def status(self) -> tuple[str, bool, str | None, int]:
        (row,) = self.rows("SELECT status, stale, error, record_count FROM source_status")
        return row


class VendorContract(ConnectorContract):
    """The connector contract for a vendor preset served by the test vendor server: the
    subclass names its config builder and one wrong credential; the fixtures follow."""

    #: `make_source(server, **overrides)` → the source's config dict
    make_source: ClassVar[Callable[..., dict[str, Any]]]
    #: the override that makes the credential wrong (its value must never be shown)
    wrong_credential: ClassVar[dict[str, str]]
    #: words the failure must contain
    broken_words: ClassVar[str]

    @pytest.fixture
    def connector(self, server: Any) -> Iterator[Connector]:
        conn = connector(type(self).make_source(server))
        yield conn
        conn.close()

    @pytest.fixture
    def broken_connector(self, server: Any) -> Iterator[Connector]:
        conn = connector(type(self).make_source(server, **self.wrong_credential))
        yield conn
        conn.close()

    @pytest.fixture
    def broken_problem(self) -> str:
        return self.broken_words

    @pytest.fixture
    def secret(self) -> str:
        (value,) = self.wrong_credential.values()
        return value
