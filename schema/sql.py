"""A SQL statement under construction: fresh table aliases and bound parameters.

Values are never pasted into SQL text: `bind()` returns a `$pN` placeholder and keeps the
value; identifiers go through `quote()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from federation.model import Table, quote
from schema.context import RequestContext

__all__ = ["Sql", "quote"]


class Sql:
    def __init__(self, ctx: RequestContext, tables: Mapping[str, Table], prefix: str = "t") -> None:
        self.ctx = ctx
        self.tables = tables
        self.params: dict[str, Any] = {}
        self._prefix = prefix
        self._aliases = 0
        self._trusting = 0

    @property
    def trusted(self) -> bool:
        """True while compiling a role's own row filter (not filtered or projected again)."""
        return self._trusting > 0

    @contextmanager
    def trusting(self) -> Iterator[None]:
        self._trusting += 1
        try:
            yield
        finally:
            self._trusting -= 1

    def alias(self) -> str:
        """A table alias unique within this statement."""
        self._aliases += 1
        return f"{self._prefix}{self._aliases}"

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return "$" + name

    def run(self, text: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Execute on this request's snapshot: (column names, rows)."""
        cursor = self.ctx.snapshot.cursor()
        result = cursor.execute(text, self.params)
        names = [d[0] for d in result.description]
        return names, result.fetchall()
