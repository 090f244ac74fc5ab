"""What the access log records of one request (`Audit`), filled in as the request goes
through the endpoint (federation/serving/endpoint.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode

from federation.serving.http import GraphQLParams


@dataclass
class Audit:
    """What the access log records of one request, filled in as the request goes."""

    request_id: str
    actor: dict[str, Any] | None = None
    params: GraphQLParams | None = None
    #: the parsed document, once parsed (execution and the access log take it as it is),
    #: and the SHA-256 of its text (the key of every cache that depends on it)
    document: DocumentNode | None = None
    key: bytes = b""
    op_type: str = "unknown"
    rows: int = 0
    #: types and fields the executed root fields asked for (None: nothing ran)
    reads: frozenset[str] | None = None
    outcome: str = "INTERNAL"
    duration_ms: float = 0.0
