"""What a log line is about, for the log formatter (federation/serving/logs.py): the source
being synced. Set around each source's sync, so the connector's own lines carry it too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SOURCE: ContextVar[str | None] = ContextVar("assetgraph_log_source", default=None)


@contextmanager
def about_source(name: str) -> Iterator[None]:
    token = SOURCE.set(name)
    try:
        yield
    finally:
        SOURCE.reset(token)
