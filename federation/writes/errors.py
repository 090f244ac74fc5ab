"""Why a write was refused, with the `extensions.code` of the contract (DESIGN.md)."""

from __future__ import annotations

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

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.extra}
