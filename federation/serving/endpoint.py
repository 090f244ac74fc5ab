"""The /graphql endpoint: GraphiQL, request parsing, execution in a thread pool, result cache.

Every request reads the snapshot that `StoreReader.current()` returns when it starts, so one
response never mixes two snapshots. Execution is synchronous (DuckDB calls block) and runs in a
bounded thread pool, each thread with its own DuckDB cursor (`Snapshot.cursor()`).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import orjson
import strawberry
from cachetools import LRUCache
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from federation.access.auth import AuthenticationError, Authenticator
from federation.access.policy import Policy
from federation.config.settings import ServerConfig
from federation.pipeline import metrics
from federation.pipeline.store import Snapshot, StoreReader
from federation.serving.access_log import AccessLog
from federation.serving.http import (
    GraphQLParams,
    ORJSONResponse,
    RequestError,
    dumps,
    error_body,
    install_extensions,
    iter_codes,
    operation_type,
    read_params,
    shape_errors,
)
from schema.context import RequestContext
from schema.policy import AuthorizedContext, RoleAccess
from schema.roles import RoleSchemas, operation_name, touched_fields

#: threads executing GraphQL (each keeps one DuckDB cursor per snapshot)
WORKER_THREADS = max(4, (os.cpu_count() or 2) * 4)
NOT_READY = "no data yet: the first sync has not finished"
_POST_OPS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_GET_OPS = frozenset({OperationType.QUERY})
_GRAPHQL_RESPONSE = "application/graphql-response+json"


def default_actor(request: Request) -> dict[str, Any]:
    """Who is asking when the endpoint serves one fixed schema (no `Security`): admin."""
    return {"role": "admin", "via": "none"}


@dataclass
class Security:
    """Authentication, the roles' schemas and the access log (federation/auth.py,
    federation/policy_schemas.py, federation/access_log.py)."""

    authenticator: Authenticator
    policy: Policy
    schemas: RoleSchemas
    access_log: AccessLog | None = None


class GraphQLEndpoint:
    """Executes GraphQL requests against the current snapshot, with a result cache.

    With `security`, each request is authenticated, runs against its role's schema with the
    role's access in the context, and is recorded in the access log; without it, `schema`
    serves everyone as `actor(request)` says (tests and benchmarks of the bare serving layer).
    """

    def __init__(
        self,
        schema: strawberry.Schema | None,
        server: ServerConfig,
        reader: StoreReader,
        actor: Callable[[Request], dict[str, Any]] = default_actor,
        *,
        security: Security | None = None,
    ) -> None:
        if schema is None and security is None:
            raise ValueError("GraphQLEndpoint needs a schema or a Security")
        self.schema = install_extensions(schema, server) if schema is not None else None
        self.server = server
        self.reader = reader
        self.actor = actor
        self.security = security
        self._touched: LRUCache[str, tuple[list[str], list[str]]] = LRUCache(1024)
        self._touched_lock = threading.Lock()  # cachetools caches are not thread-safe
        self.ide_html = get_graphql_ide_html("graphiql") if server.graphiql else None
        self.cache: LRUCache[tuple[Any, ...], tuple[bytes, str, int]] | None = (
            LRUCache(server.cache_size) if server.cache_size > 0 else None
        )
        self._cache_snapshot: str | None = None
        self._cache_lock = threading.Lock()
        self._stale: tuple[str, dict[str, list[tuple[Any, ...]]]] | None = None
        self._stale_lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None

    # ------------------------------------------------------------------ HTTP
    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        request_id: str = request.state.request_id
        if request.method == "GET" and "query" not in request.query_params:
            accept = request.headers.get("accept", "")
            if "text/html" in accept:
                if self.ide_html is None:
                    return ORJSONResponse(error_body("GraphiQL is disabled", "NOT_FOUND"), 404)
                return HTMLResponse(self.ide_html)
        media_type = _media_type(request)
        op_type = "unknown"
        audit = Audit(request_id)
        try:
            params = await read_params(request)
            audit.params = params
            actor = self._authenticate(request)
            audit.actor = actor
            op_type = operation_type(params.query, params.operation_name, self.server.max_tokens)
            audit.op_type = op_type
            if request.method == "GET" and op_type not in ("query", "unknown"):
                raise RequestError(f"a {op_type} must be sent with POST, not GET", status=405)
            snapshot = self.reader.current()
            if snapshot is None:
                status, outcome = 503, "not_ready"
                audit.outcome = "NOT_READY"
                response = ORJSONResponse(error_body(NOT_READY, "NOT_READY"), 503)
            else:
                status, outcome, response = await self._answer(
                    request, params, snapshot, op_type, request_id, actor, audit
                )
        except AuthenticationError as exc:
            status, outcome = 401, "unauthenticated"
            audit.outcome = "UNAUTHENTICATED"
            response = ORJSONResponse(error_body(str(exc), "UNAUTHENTICATED"), 401)
            response.headers["www-authenticate"] = 'Bearer error="invalid_token"'
        except RequestError as exc:
            status, outcome = exc.status, "bad_request"
            audit.outcome = "BAD_USER_INPUT"
            response = ORJSONResponse(error_body(exc.message, "BAD_USER_INPUT"), exc.status)
        if status >= 400:
            code = {503: "NOT_READY", 401: "UNAUTHENTICATED"}.get(status, "BAD_USER_INPUT")
            metrics.ERRORS.labels(code=code).inc()
        response.headers["content-type"] = media_type
        if self.security is not None and self.security.access_log is not None:
            audit.duration_ms = (time.perf_counter() - started) * 1000
            # queued before the response goes out: a full queue slows the request down
            await self.security.access_log.submit(partial(self._describe, audit))
        metrics.REQUESTS.labels(operation_type=op_type, status=outcome).inc()
        metrics.REQUEST_SECONDS.observe(time.perf_counter() - started)
        return response

    async def _answer(
        self,
        request: Request,
        params: GraphQLParams,
        snapshot: Snapshot,
        op_type: str,
        request_id: str,
        actor: dict[str, Any],
        audit: Audit,
    ) -> tuple[int, str, Response]:
        access = self._access(actor)
        key = None
        # the access log changes with every request: never served from the cache
        if self.cache is not None and op_type == "query" and "access_log" not in params.query:
            variables = orjson.dumps(params.variables, option=orjson.OPT_SORT_KEYS)
            if access is not None:  # the role and the actor values its row filters read
                actor_key = orjson.dumps(access.cache_key(actor), default=str)
            else:
                actor_key = orjson.dumps(actor, option=orjson.OPT_SORT_KEYS, default=str)
            key = (snapshot.id, result_key(actor_key, params.query, variables, params.operation_name))
            cached = self._cache_get(snapshot.id, key)
            if cached is not None:
                metrics.CACHE_HITS.inc()
                audit.outcome, audit.rows = "ok", cached[2]
                return 200, "ok", Response(cached[0])
            metrics.CACHE_MISSES.inc()
        allowed = _GET_OPS if request.method == "GET" else _POST_OPS
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(WORKER_THREADS)
        try:
            body = await anyio.to_thread.run_sync(
                self._execute, params, snapshot, actor, access, allowed, request_id, limiter=self._limiter
            )
        except InvalidOperationTypeError:
            raise RequestError("only queries may be sent with GET: use POST", 405) from None
        except (CannotGetOperationTypeError, MissingQueryError) as exc:
            raise RequestError(str(exc) or "no operation to run") from None
        for code in iter_codes(body):
            metrics.ERRORS.labels(code=code).inc()
        content = dumps(body)
        audit.rows = count_rows(body.get("data"))
        if "errors" in body:
            audit.outcome = next(iter_codes(body), "INTERNAL")
            return 200, "error", Response(content)
        audit.outcome = "ok"
        if key is not None:
            self._cache_put(snapshot.id, key, (content, op_type, audit.rows))
        return 200, "ok", Response(content)

    # ------------------------------------------------------------------ security
    def _authenticate(self, request: Request) -> dict[str, Any]:
        if self.security is None:
            return self.actor(request)
        return self.security.authenticator.authenticate(request.headers)

    def _access(self, actor: dict[str, Any]) -> RoleAccess | None:
        if self.security is None:
            return None
        access = self.security.policy.role(actor["role"])
        if access is None:  # the authenticator only lets existing roles through
            raise AuthenticationError(f"role {actor['role']!r} does not exist")
        return access

    def _schema_for(self, access: RoleAccess | None) -> strawberry.Schema:
        if access is None or self.security is None:
            assert self.schema is not None
            return self.schema
        return self.security.schemas.schema(access)

    def _describe(self, audit: Audit) -> dict[str, Any]:
        """The request's access log record (made on the access log's writer thread)."""
        assert self.security is not None
        actor = audit.actor or {}
        types: list[str] = []
        fields: list[str] = []
        params = audit.params
        access = self.security.policy.role(actor.get("role", ""))
        if params is not None and access is not None:
            with self._touched_lock:
                found = self._touched.get(params.query)
            if found is None:  # what was asked, hidden fields included (against the full schema)
                schemas = self.security.schemas
                found = touched_fields(schemas.full(), params.query, schemas.kinds)
                with self._touched_lock:
                    self._touched[params.query] = found
            types, fields = found
        return {
            "request_id": audit.request_id,
            "role": actor.get("role") or "(unauthenticated)",
            "subject": actor.get("subject") or actor.get("email"),
            "via": actor.get("via"),
            "operation_name": operation_name(params.query, params.operation_name) if params else None,
            "operation_type": audit.op_type,
            "types": types,
            "fields": fields,
            "rows": audit.rows,
            "outcome": audit.outcome,
            "duration_ms": round(audit.duration_ms, 3),
        }

    # ------------------------------------------------------------------ execution (thread)
    def _execute(
        self,
        params: GraphQLParams,
        snapshot: Snapshot,
        actor: dict[str, Any],
        access: RoleAccess | None,
        allowed: frozenset[OperationType],
        request_id: str,
    ) -> dict[str, Any]:
        ctx = AuthorizedContext(snapshot=snapshot, server=self.server, actor=actor, access=access)
        result = self._schema_for(access).execute_sync(
            params.query,
            variable_values=params.variables,
            context_value=ctx,
            operation_name=params.operation_name,
            allowed_operation_types=allowed,
        )
        body: dict[str, Any] = {}
        result_errors = result.errors
        if result_errors and result.data is None and access is not None and self.security is not None:
            # refused before execution: if it names what the role may not read, say so
            forbidden = self.security.schemas.forbidden(access, params.query, params.variables)
            if forbidden is not None:
                result_errors = [forbidden]
        errors = shape_errors(result_errors, request_id) if result_errors else []
        if result.data is not None or any("path" in e for e in errors):
            body["data"] = result.data
        if errors:
            body["errors"] = errors
        if ctx.touched:
            self._warn_stale(ctx)
        extensions = dict(result.extensions or {})
        if ctx.warnings:
            extensions["warnings"] = ctx.warnings
        if extensions:
            body["extensions"] = extensions
        return body

    def _warn_stale(self, ctx: RequestContext) -> None:
        # the source's name and error are what `sources` shows: only for roles that may read it
        access = getattr(ctx, "access", None)
        detailed = access is None or access.allowed("sources")
        for table in sorted(ctx.touched):
            for name, error, last_success in self._stale_sources(ctx.snapshot).get(table, ()):
                since = last_success.isoformat() if last_success else "never (no good data)"
                if detailed:
                    ctx.warn(
                        "SOURCE_UNAVAILABLE",
                        f"{name} is stale: {error or 'its last sync failed'}; "
                        f"serving its last good data from {since}",
                        source=name,
                    )
                else:
                    ctx.warn(
                        "SOURCE_UNAVAILABLE",
                        f"a source of `{table}` is unavailable; serving its last good data from {since}",
                    )

    def _stale_sources(self, snapshot: Snapshot) -> dict[str, list[tuple[Any, ...]]]:
        """table → [(source, error, last_success_at)] of the stale sources feeding it."""
        cached = self._stale
        if cached is not None and cached[0] == snapshot.id:
            return cached[1]
        with self._stale_lock:
            if self._stale is not None and self._stale[0] == snapshot.id:
                return self._stale[1]
            rows = snapshot.query(
                "SELECT DISTINCT rs.entity, s.name, s.error, s.last_success_at "
                "FROM source_status s JOIN (SELECT DISTINCT entity, source FROM record_sources)"
                " rs ON rs.source = s.name WHERE s.stale ORDER BY rs.entity, s.name"
            )
            by_table: dict[str, list[tuple[Any, ...]]] = {}
            for entity, *rest in rows:
                by_table.setdefault(entity, []).append(tuple(rest))
            self._stale = (snapshot.id, by_table)
            return by_table

    # ------------------------------------------------------------------ result cache
    def _cache_get(self, snapshot_id: str, key: tuple[Any, ...]) -> tuple[bytes, str, int] | None:
        assert self.cache is not None
        with self._cache_lock:
            if snapshot_id != self._cache_snapshot:
                self.cache.clear()  # a new snapshot: every entry is dead
                self._cache_snapshot = snapshot_id
                return None
            return self.cache.get(key)

    def _cache_put(self, snapshot_id: str, key: tuple[Any, ...], value: tuple[bytes, str, int]) -> None:
        assert self.cache is not None
        with self._cache_lock:
            if snapshot_id == self._cache_snapshot:
                self.cache[key] = value


@dataclass
class Audit:
    """What the access log records of one request, filled in as the request goes."""

    request_id: str
    actor: dict[str, Any] | None = None
    params: GraphQLParams | None = None
    op_type: str = "unknown"
    rows: int = 0
    outcome: str = "INTERNAL"
    duration_ms: float = 0.0


def result_key(actor: bytes, query: str, variables: bytes, operation_name: str | None) -> bytes:
    """What a cached result depends on, as a SHA-256: each key costs 32 bytes in the cache
    however long the document or its variables (each part length-prefixed, so no two
    different requests run together into the same bytes)."""
    digest = hashlib.sha256()
    for part in (actor, query.encode(), variables, orjson.dumps(operation_name)):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.digest()


def count_rows(data: Any) -> int:
    """Objects returned inside lists at any depth: list rows, `nodes`, groups, array
    relationships (to-one objects and `_by_pk` results are not counted)."""
    if not isinstance(data, dict):
        return 0
    total = 0
    stack: list[Any] = list(data.values())
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            total += sum(1 for item in node if isinstance(item, dict))
            stack.extend(item for item in node if isinstance(item, dict | list))
        elif isinstance(node, dict):
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
    return total


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if _GRAPHQL_RESPONSE in accept and "application/json" not in accept:
        return _GRAPHQL_RESPONSE
    return "application/json"
