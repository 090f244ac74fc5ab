"""The /graphql endpoint: GraphiQL, request parsing, execution in a thread pool, result cache.

Every request reads the snapshot that `StoreReader.current()` returns when it starts, so one
response never mixes two snapshots. Execution is synchronous (DuckDB calls block) and runs in a
bounded thread pool, each thread with its own DuckDB cursor (`Snapshot.cursor()`).
"""

from __future__ import annotations

import logging
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
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from federation.access.auth import AuthenticationError, Authenticator, RateLimitedError
from federation.access.policy import Policy, RoleAccess, unrestricted
from federation.config.settings import ServerConfig
from federation.pipeline import metrics
from federation.pipeline.store import Snapshot, StoreReader
from federation.serving.access_log import AccessLog
from federation.serving.audit import Audit
from federation.serving.documents import digest, documents_for, operation_name_of, operation_of, result_key
from federation.serving.graphiql import graphiql_html, graphiql_response
from federation.serving.http import (
    GraphQLParams,
    ORJSONResponse,
    RequestError,
    clip,
    dumps,
    error_body,
    install_extensions,
    iter_codes,
    read_params,
    shape_errors,
)
from federation.serving.http import (
    media_type as http_media_type,
)
from federation.workflow.ticketing import Ticketing
from federation.writes import Writer
from schema.context import RequestContext
from schema.mutations import record_forbidden, visible
from schema.roles import RoleSchemas, touched_fields

log = logging.getLogger("assetgraph.graphql")

#: threads executing GraphQL (each keeps one DuckDB cursor per snapshot)
WORKER_THREADS = max(4, (os.cpu_count() or 2) * 4)
#: threads checking API keys (scrypt: ~16 MiB and ~50-130 ms of a core each; it releases the
#: GIL, so one thread leaves the other core to the event loop)
API_KEY_THREADS = 1
#: threads parsing documents (pure Python: more would only contend for the GIL)
PARSE_THREADS = 1
#: HTTP status → `extensions.code` counted in the errors metric
_STATUS_CODES = {401: "UNAUTHENTICATED", 429: "RATE_LIMITED", 500: "INTERNAL", 503: "NOT_READY"}
NOT_READY = "no data yet: the first sync has not finished"
_POST_OPS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_GET_OPS = frozenset({OperationType.QUERY})


@dataclass
class Security:
    """Authentication, the roles' schemas and the access log (federation/auth.py,
    federation/policy_schemas.py, federation/access_log.py)."""

    authenticator: Authenticator
    policy: Policy
    schemas: RoleSchemas
    access_log: AccessLog | None = None
    #: writes mutations back to the sources (None: read-only)
    writer: Writer | None = None
    #: opens the ServiceNow tickets of requests and repairs (config `tickets:`; None: none)
    ticketing: Ticketing | None = None


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
        actor: Callable[[Request], dict[str, Any]] | None = None,
        *,
        security: Security | None = None,
    ) -> None:
        if security is None and (schema is None or actor is None):
            raise ValueError("GraphQLEndpoint needs a Security, or a schema and who its callers are")
        self.schema = install_extensions(schema, server) if schema is not None else None
        self.server = server
        self.reader = reader
        self.actor = actor
        self.security = security
        self._touched: LRUCache[bytes, tuple[list[str], list[str]]] = LRUCache(1024)
        self._touched_lock = threading.Lock()  # cachetools caches are not thread-safe
        self.ide_html = graphiql_html() if server.graphiql else None
        self.documents = documents_for(server.max_tokens)
        self._auth_limiter: anyio.CapacityLimiter | None = None
        self._parse_limiter: anyio.CapacityLimiter | None = None
        self.cache: LRUCache[tuple[str, bytes], tuple[bytes, str, int, frozenset[str]]] | None = (
            LRUCache(server.cache_size) if server.cache_size > 0 else None
        )
        self._cache_snapshot: str | None = None
        self._cache_lock = threading.Lock()
        self._stale: tuple[str, dict[str, list[tuple[Any, ...]]]] | None = None
        self._stale_lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None

    async def warm_up(self) -> None:
        """Make the thread limiters and start a worker thread before the first request: anyio
        imports its backend the first time (~0.2 s on the event loop, which every request
        then waiting would pay)."""
        self._parse_limiter = self._parse_limiter or anyio.CapacityLimiter(PARSE_THREADS)
        self._auth_limiter = self._auth_limiter or anyio.CapacityLimiter(API_KEY_THREADS)
        self._limiter = self._limiter or anyio.CapacityLimiter(WORKER_THREADS)
        await anyio.to_thread.run_sync(lambda: None, limiter=self._parse_limiter)

    # ------------------------------------------------------------------ HTTP
    async def handle(self, request: Request) -> Response:
        """Every request gets a response with a code, a metric and (with `security`) an
        access-log row, whatever happens to it: an unforeseen exception is answered 500
        INTERNAL with the request id, and logged once with it."""
        started = time.perf_counter()
        request_id: str = request.state.request_id
        if request.method == "GET" and "query" not in request.query_params:
            accept = request.headers.get("accept", "")
            if "text/html" in accept:
                if self.ide_html is None:
                    return ORJSONResponse(error_body("GraphiQL is disabled", "NOT_FOUND"), 404)
                return graphiql_response(self.ide_html)
        media_type = http_media_type(request)
        audit = Audit(request_id)
        try:
            status, outcome, response = await self._intake(request, audit)
        except Exception:  # the one place that catches everything: see the docstring
            log.exception("request %s: unexpected error", request_id)
            status, outcome = 500, "error"
            audit.outcome = "INTERNAL"
            response = ORJSONResponse(error_body("internal error", "INTERNAL", request_id=request_id), status)
        if status >= 400:
            metrics.ERRORS.labels(code=_STATUS_CODES.get(status, "BAD_USER_INPUT")).inc()
        response.headers["content-type"] = media_type
        await self._log_access(audit, started)
        metrics.REQUESTS.labels(operation_type=audit.op_type, status=outcome).inc()
        metrics.REQUEST_SECONDS.observe(time.perf_counter() - started)
        return response

    async def _intake(self, request: Request, audit: Audit) -> tuple[int, str, Response]:
        """Read, parse (off the event loop), authenticate, then answer: (status, outcome, response).
        The document is parsed before the credential is checked so that the access log names
        the operation of a refused request without parsing it again."""
        try:
            params = await read_params(request, self.server)
            audit.params = params
            if self._parse_limiter is None:
                self._parse_limiter = anyio.CapacityLimiter(PARSE_THREADS)
            op_type, syntax_error = await anyio.to_thread.run_sync(
                self._prepare, params, audit, limiter=self._parse_limiter
            )
            actor = await self.authenticate(request)
            audit.actor = actor
            audit.op_type = op_type
            if syntax_error is not None:  # answered here: nothing to execute, nothing to cache
                body = {"errors": shape_errors([syntax_error], audit.request_id)}
                for code in iter_codes(body):
                    metrics.ERRORS.labels(code=code).inc()
                audit.outcome = next(iter_codes(body), "BAD_USER_INPUT")
                return 200, "error", ORJSONResponse(body)
            if request.method == "GET" and op_type not in ("query", "unknown"):
                raise RequestError(f"a {op_type} must be sent with POST, not GET", status=405)
            snapshot = self.reader.current()
            if snapshot is None:
                audit.outcome = "NOT_READY"
                return 503, "not_ready", ORJSONResponse(error_body(NOT_READY, "NOT_READY"), 503)
            return await self._answer(request, params, snapshot, op_type, audit.request_id, actor, audit)
        except RateLimitedError as exc:
            audit.outcome = "RATE_LIMITED"
            response = ORJSONResponse(error_body(str(exc), "RATE_LIMITED"), 429)
            response.headers["retry-after"] = str(int(exc.retry_after) + 1)
            return 429, "rate_limited", response
        except AuthenticationError as exc:
            audit.outcome = "UNAUTHENTICATED"
            response = ORJSONResponse(error_body(str(exc), "UNAUTHENTICATED"), 401)
            response.headers["www-authenticate"] = 'Bearer error="invalid_token"'
            return 401, "unauthenticated", response
        except RequestError as exc:
            audit.outcome = "BAD_USER_INPUT"
            response = ORJSONResponse(error_body(exc.message, "BAD_USER_INPUT"), exc.status)
            if exc.status in (413, 414):  # the rest of the body is not wanted: stop the sender
                response.headers["connection"] = "close"
            return exc.status, "bad_request", response

    def _prepare(self, params: GraphQLParams, audit: Audit) -> tuple[str, GraphQLError | None]:
        """(operation type, the syntax error if the document does not parse). Runs in a
        thread: parsing a large document must not stall the event loop."""
        audit.key = digest(params.query)
        try:
            audit.document = self.documents.parse(params.query, audit.key)
        except GraphQLError as exc:
            return "unknown", exc
        return operation_of(audit.document, params.operation_name), None

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
            # a fixed-size key: the texts themselves would be held as long as the entry lives
            key = (snapshot.id, result_key(actor_key, audit.key, variables, params.operation_name))
            cached = self._cache_get(snapshot.id, key)
            if cached is not None:
                metrics.CACHE_HITS.inc()
                audit.outcome, audit.rows, audit.reads = "ok", cached[2], cached[3]
                return 200, "ok", Response(cached[0])
            metrics.CACHE_MISSES.inc()
        allowed = _GET_OPS if request.method == "GET" else _POST_OPS
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(WORKER_THREADS)
        try:
            body, rows, reads, cacheable = await anyio.to_thread.run_sync(
                self._execute, params, audit, snapshot, actor, access, allowed, limiter=self._limiter
            )
        except InvalidOperationTypeError:
            raise RequestError("only queries may be sent with GET: use POST", 405) from None
        except (CannotGetOperationTypeError, MissingQueryError) as exc:
            raise RequestError(str(exc) or "no operation to run") from None
        for code in iter_codes(body):
            metrics.ERRORS.labels(code=code).inc()
        content = dumps(body)
        audit.rows, audit.reads = rows, reads
        if "errors" in body:
            audit.outcome = next(iter_codes(body), "INTERNAL")
            return 200, "error", Response(content)
        audit.outcome = "ok"
        if key is not None and cacheable:
            self._cache_put(snapshot.id, key, (content, op_type, audit.rows, reads))
        return 200, "ok", Response(content)

    async def answer_as(
        self, request: Request, actor: dict[str, Any], params: GraphQLParams
    ) -> tuple[int, Any]:
        """(HTTP status, body) of a mutation the gateway wrote (a REST hook's) run for `actor`
        as /graphql runs one: the same door, execution and access-log row."""
        audit = Audit(
            request.state.request_id, actor=actor, params=params, op_type="mutation", key=digest(params.query)
        )
        audit.document, started = self.documents.parse(params.query, audit.key), time.perf_counter()
        snapshot = self.reader.current()
        if snapshot is None:
            audit.outcome = "NOT_READY"
            status, body = 503, error_body(NOT_READY, "NOT_READY")
        else:
            status, _, response = await self._answer(
                request, params, snapshot, "mutation", audit.request_id, actor, audit
            )
            body = orjson.loads(bytes(response.body))
        await self._log_access(audit, started)
        return status, body

    async def _log_access(self, audit: Audit, started: float) -> None:
        """Queue the request's access-log row (with `security` and an access log), its
        duration counted from `started` (`time.perf_counter()`). Queued before the response
        goes out: a full queue slows the request down."""
        if self.security is not None and self.security.access_log is not None:
            audit.duration_ms = (time.perf_counter() - started) * 1000
            await self.security.access_log.submit(partial(self._describe, audit))

    # ------------------------------------------------------------------ security
    async def authenticate(self, request: Request) -> dict[str, Any]:
        """The actor; an API key not verified yet (scrypt) is checked in a thread."""
        if self.security is None:
            assert self.actor is not None
            return self.actor(request)
        authenticator = self.security.authenticator
        client = request.client.host if request.client is not None else None
        if not authenticator.costly(request.headers):
            return authenticator.authenticate(request.headers, client)
        if self._auth_limiter is None:
            self._auth_limiter = anyio.CapacityLimiter(API_KEY_THREADS)
        return await anyio.to_thread.run_sync(
            authenticator.authenticate, request.headers, client, limiter=self._auth_limiter
        )

    def _access(self, actor: dict[str, Any]) -> RoleAccess | None:
        if self.security is None:  # one fixed schema: its callers read it all, as told
            return unrestricted(actor["role"])
        access = self.security.policy.role(actor["role"])
        if access is None:  # the authenticator only lets existing roles through
            raise AuthenticationError(f"role {actor['role']!r} does not exist")
        return access

    def _schema_for(self, access: RoleAccess | None) -> strawberry.Schema:
        if self.security is None:
            assert self.schema is not None
            return self.schema
        assert access is not None
        return self.security.schemas.schema(access)

    def _describe(self, audit: Audit) -> dict[str, Any]:
        """The request's access log record (made on the access log's writer thread)."""
        assert self.security is not None
        actor = audit.actor or {}
        types: list[str] = []
        fields: list[str] = []
        name: str | None = None
        params = audit.params
        access = self.security.policy.role(actor.get("role", ""))
        document = audit.document  # None: refused before it was parsed, or not GraphQL
        if params is not None:
            name = operation_name_of(document, params.operation_name) if document else params.operation_name
        if audit.reads:  # what the executed root fields asked for, variables included
            types = sorted(r for r in audit.reads if "." not in r)
            fields = sorted(r for r in audit.reads if "." in r)
        elif params is not None and document is not None and access is not None:  # refused early
            with self._touched_lock:
                found = self._touched.get(audit.key)
            if found is None:  # what was asked, hidden fields included (against the full schema)
                schemas = self.security.schemas
                try:
                    found = touched_fields(schemas.full(), document, schemas.kinds)
                except Exception:  # the row is written without them rather than lost
                    log.exception("request %s: cannot list the fields it touched", audit.request_id)
                    found = ([], [])
                with self._touched_lock:
                    self._touched[audit.key] = found
            types, fields = found
        return {
            "request_id": audit.request_id,
            "role": clip(actor.get("role")) or "(unauthenticated)",
            "subject": clip(actor.get("subject") or actor.get("email")),
            "via": clip(actor.get("via")),
            "operation_name": clip(name),
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
        audit: Audit,
        snapshot: Snapshot,
        actor: dict[str, Any],
        access: RoleAccess | None,
        allowed: frozenset[OperationType],
    ) -> tuple[dict[str, Any], int, frozenset[str], bool]:
        request_id = audit.request_id
        ctx = RequestContext(
            snapshot=snapshot,
            server=self.server,
            actor=actor,
            access=access,
            writer=self.security.writer if self.security is not None else None,
            request_id=request_id,
            document=audit.document,
            document_key=audit.key,
        )
        result = self._schema_for(access).execute_sync(
            params.query,
            variable_values=params.variables,
            context_value=ctx,
            operation_name=params.operation_name,
            allowed_operation_types=allowed,
        )
        body: dict[str, Any] = {}
        result_errors = result.errors
        document = audit.document
        if result_errors and result.data is None and access is not None and self.security is not None:
            # refused before execution: if it names what the role may not read, say so
            forbidden = None
            if document is not None:
                forbidden = self.security.schemas.forbidden(access, document, params.variables)
            if forbidden is not None and document is not None:
                result_errors = [forbidden]
                asked = self.security.schemas.asked_writes(document, params.variables)
                for table, columns, entity_id in asked:  # a write refused: kept in the history
                    ids = [entity_id] if entity_id and visible(ctx, table, entity_id) else []
                    record_forbidden(ctx, table, ids, [dict.fromkeys(columns)], forbidden.message)
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
        return body, ctx.rows, frozenset(ctx.reads), ctx.cacheable

    def _warn_stale(self, ctx: RequestContext) -> None:
        # the source's name and error are what `sources` shows: only for roles that may read it
        access = getattr(ctx, "access", None)
        detailed = access is not None and access.allowed("sources")
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
    def _cache_get(
        self, snapshot_id: str, key: tuple[Any, ...]
    ) -> tuple[bytes, str, int, frozenset[str]] | None:
        assert self.cache is not None
        with self._cache_lock:
            if snapshot_id != self._cache_snapshot:
                self.cache.clear()  # a new snapshot: every entry is dead
                self._cache_snapshot = snapshot_id
                return None
            return self.cache.get(key)

    def _cache_put(
        self, snapshot_id: str, key: tuple[Any, ...], value: tuple[bytes, str, int, frozenset[str]]
    ) -> None:
        assert self.cache is not None
        with self._cache_lock:
            if snapshot_id == self._cache_snapshot:
                self.cache[key] = value
