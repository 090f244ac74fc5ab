"""Why a write was refused, with the `extensions.code` of the contract (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

Code = Literal["BAD_USER_INPUT", "FORBIDDEN", "CONFLICT", "SOURCE_UNAVAILABLE"]


class WriteError(Exception):
    """A write refused before or at its source. `extra` goes into the GraphQL error's
    extensions (the field, both values and the source of a CONFLICT; per-field reasons of a
    source's validation as `fields`)."""

    def __init__(self, code: Code, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code: Code = code
        self.message = message
        self.extra = extra
        #: what it is about, for the change history (never sent): the entity and the columns
        #: refused; None: the whole mutation
        self.entity_id: str | None = None
        self.columns: tuple[str, ...] | None = (str(extra["field"]),) if extra.get("field") else None

    def about(self, entity_id: str | None = None, columns: Iterable[str] | None = None) -> WriteError:
        """Say which entity and columns the refusal concerns (where not said already)."""
        if self.entity_id is None:
            self.entity_id = entity_id
        if self.columns is None and columns is not None:
            self.columns = tuple(columns)
        return self

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.extra}
