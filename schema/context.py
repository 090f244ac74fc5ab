"""What a resolver gets as `info.context`: the snapshot to read, who is asking and what their
role may do, and where to put warnings. There is no default actor: a context names one, and
an access of None reads nothing (deny by default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode

from federation.access.policy import RoleAccess
from federation.config.settings import ServerConfig
from federation.pipeline.store import Snapshot
from federation.writes import Writer


@dataclass
class RequestContext:
    #: the published snapshot this whole request reads (one request never mixes two)
    snapshot: Snapshot
    server: ServerConfig
    #: the actor: a plain dict such as {"role": "employee", "email": ...}
    actor: dict[str, Any]
    #: what the actor's role may read and do; None: nothing
    access: RoleAccess | None
    #: tables the request read; the app adds SOURCE_UNAVAILABLE warnings for stale sources
    touched: set[str] = field(default_factory=set)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: root fields (response keys) that passed `authorize`
    authorized: set[str] = field(default_factory=set)
    #: objects the compiled root fields returned (the access log's row count)
    rows: int = 0
    #: types and `type.field`s the executed root fields asked for (the access log)
    reads: set[str] = field(default_factory=set)
    #: writes mutations back to the sources; None: this server is read-only
    writer: Writer | None = None
    #: the request's id (the access log's), kept with the changes a mutation records
    request_id: str | None = None
    #: False once the answer read the workflow store (history, loans…), which changes
    #: without a new snapshot: such an answer is not kept in the result cache
    cacheable: bool = True
    #: the document the endpoint parsed, and the SHA-256 of its text: execution takes it
    #: as it is (a large document is lexed once per request, not once per stage)
    document: DocumentNode | None = None
    document_key: bytes = b""

    def warn(self, code: str, message: str, **extra: Any) -> None:
        entry = {"code": code, "message": message, **extra}
        if entry not in self.warnings:
            self.warnings.append(entry)
