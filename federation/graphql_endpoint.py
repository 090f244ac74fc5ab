"""The /graphql endpoint: GraphiQL, request parsing, execution in a thread pool, result cache.

Every request reads the snapshot that `StoreReader.current()` returns when it starts, so one
response never mixes two snapshots. Execution is synchronous (DuckDB calls block) and runs in a
bounded thread pool, each thread with its own DuckDB cursor (`Snapshot.cursor()`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
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

from federation import metrics
from federation.config import ServerConfig
from federation.graphql_http import (
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
from federation.store import Snapshot, StoreReader
from schema.context import RequestContext

#: threads executing GraphQL (each keeps one DuckDB cursor per snapshot)
WORKER_THREADS = max(4, (os.cpu_count() or 2) * 4)
NOT_READY = "no data yet: the first sync has not finished"
_POST_OPS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_GET_OPS = frozenset({OperationType.QUERY})
_GRAPHQL_RESPONSE = "application/graphql-response+json"


def default_actor(request: Request) -> dict[str, Any]:
    """Who is asking. Until authentication lands, everyone is admin."""
    return {"role": "admin"}


class GraphQLEndpoint:
    """Executes GraphQL requests against the current snapshot, with a result cache."""

    def __init__(
        self,
        schema: strawberry.Schema,
        server: ServerConfig,
        reader: StoreReader,
        actor: Callable[[Request], dict[str, Any]] = default_actor,
    ) -> None:
        self.schema = install_extensions(schema, server)
        self.server = server
        self.reader = reader
        self.actor = actor
        self.ide_html = get_graphql_ide_html("graphiql") if server.graphiql else None
        self.cache: LRUCache[tuple[Any, ...], tuple[bytes, str]] | None = (
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
        try:
            params = await read_params(request)
            op_type = operation_type(params.query, params.operation_name, self.server.max_tokens)
            if request.method == "GET" and op_type not in ("query", "unknown"):
                raise RequestError(f"a {op_type} must be sent with POST, not GET", status=405)
            snapshot = self.reader.current()
            if snapshot is None:
                status, outcome = 503, "not_ready"
                response = ORJSONResponse(error_body(NOT_READY, "NOT_READY"), 503)
            else:
                status, outcome, response = await self._answer(request, params, snapshot, op_type, request_id)
        except RequestError as exc:
            status, outcome = exc.status, "bad_request"
            response = ORJSONResponse(error_body(exc.message, "BAD_USER_INPUT"), exc.status)
        if status >= 400:
            metrics.ERRORS.labels(code="NOT_READY" if status == 503 else "BAD_USER_INPUT").inc()
        response.headers["content-type"] = media_type
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
    ) -> tuple[int, str, Response]:
        actor = self.actor(request)
        key = None
        if self.cache is not None and op_type == "query":
            variables = orjson.dumps(params.variables, option=orjson.OPT_SORT_KEYS)
            actor_key = orjson.dumps(actor, option=orjson.OPT_SORT_KEYS, default=str)
            key = (snapshot.id, actor_key, params.query, variables, params.operation_name)
            cached = self._cache_get(snapshot.id, key)
            if cached is not None:
                metrics.CACHE_HITS.inc()
                return 200, "ok", Response(cached[0])
            metrics.CACHE_MISSES.inc()
        allowed = _GET_OPS if request.method == "GET" else _POST_OPS
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(WORKER_THREADS)
        try:
            body = await anyio.to_thread.run_sync(
                self._execute, params, snapshot, actor, allowed, request_id, limiter=self._limiter
            )
        except InvalidOperationTypeError:
            raise RequestError("only queries may be sent with GET: use POST", 405) from None
        except (CannotGetOperationTypeError, MissingQueryError) as exc:
            raise RequestError(str(exc) or "no operation to run") from None
        for code in iter_codes(body):
            metrics.ERRORS.labels(code=code).inc()
        content = dumps(body)
        if "errors" in body:
            return 200, "error", Response(content)
        if key is not None:
            self._cache_put(snapshot.id, key, (content, op_type))
        return 200, "ok", Response(content)

    # ------------------------------------------------------------------ execution (thread)
    def _execute(
        self,
        params: GraphQLParams,
        snapshot: Snapshot,
        actor: dict[str, Any],
        allowed: frozenset[OperationType],
        request_id: str,
    ) -> dict[str, Any]:
        ctx = RequestContext(snapshot=snapshot, server=self.server, actor=actor)
        result = self.schema.execute_sync(
            params.query,
            variable_values=params.variables,
            context_value=ctx,
            operation_name=params.operation_name,
            allowed_operation_types=allowed,
        )
        body: dict[str, Any] = {}
        errors = shape_errors(result.errors, request_id) if result.errors else []
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
        for table in sorted(ctx.touched):
            for name, error, last_success in self._stale_sources(ctx.snapshot).get(table, ()):
                since = last_success.isoformat() if last_success else "never (no good data)"
                ctx.warn(
                    "SOURCE_UNAVAILABLE",
                    f"{name} is stale: {error or 'its last sync failed'}; "
                    f"serving its last good data from {since}",
                    source=name,
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
    def _cache_get(self, snapshot_id: str, key: tuple[Any, ...]) -> tuple[bytes, str] | None:
        assert self.cache is not None
        with self._cache_lock:
            if snapshot_id != self._cache_snapshot:
                self.cache.clear()  # a new snapshot: every entry is dead
                self._cache_snapshot = snapshot_id
                return None
            return self.cache.get(key)

    def _cache_put(self, snapshot_id: str, key: tuple[Any, ...], value: tuple[bytes, str]) -> None:
        assert self.cache is not None
        with self._cache_lock:
            if snapshot_id == self._cache_snapshot:
                self.cache[key] = value


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if _GRAPHQL_RESPONSE in accept and "application/json" not in accept:
        return _GRAPHQL_RESPONSE
    return "application/json"
