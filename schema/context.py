"""What a resolver gets as `info.context`: the snapshot to read and where to put warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from federation.config.settings import ServerConfig
from federation.pipeline.store import Snapshot


@dataclass
class RequestContext:
    #: the published snapshot this whole request reads (one request never mixes two)
    snapshot: Snapshot
    server: ServerConfig
    #: the actor (authorization issue): a plain dict such as {"role": "admin", "email": ...}
    actor: dict[str, Any] = field(default_factory=lambda: {"role": "admin"})
    #: tables the request read; the app adds SOURCE_UNAVAILABLE warnings for stale sources
    touched: set[str] = field(default_factory=set)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, code: str, message: str, **extra: Any) -> None:
        entry = {"code": code, "message": message, **extra}
        if entry not in self.warnings:
            self.warnings.append(entry)
