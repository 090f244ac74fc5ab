"""The Starlette app: /graphql (GraphiQL in the browser), /healthz, /readyz, /metrics.

The GraphQL endpoint itself is `federation.serving.endpoint.GraphQLEndpoint`. `create_app`
builds the app over a store; `serving_app` is what `assetgraph serve` runs in each serving
process: the same app, whose start-up starts the process's sync scheduler (one process of
those sharing a store syncs; the others follow the snapshots it publishes) and whose
shutdown stops it and writes out the access log. `worker_app` builds it in a uvicorn worker
process from the environment that `serve --workers N` sets.
/metrics names the
sources and which is down, so it is not public: `server.metrics.token` serves it on this port to
that bearer token only, `server.metrics.port` serves it alone on another port
(`create_metrics_app`); with neither it is off. CORS allows only `server.cors_origins`.
"""

from __future__ import annotations

import gc
import hmac
import os
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation.access.auth import Authenticator
from federation.access.policy import RoleAccess, compile_policy
from federation.config.settings import CONFIG_ENV, Config, MetricsConfig, load_config
from federation.model import TABLES
from federation.pipeline import metrics
from federation.pipeline.scheduler import SyncScheduler
from federation.pipeline.store import StoreReader
from federation.serving import sync_mutation
from federation.serving.access_log import AccessLog
from federation.serving.access_log import root_fields as access_log_fields
from federation.serving.endpoint import GraphQLEndpoint, Security
from federation.serving.graphiql import ASSET_PREFIX, graphiql_asset
from federation.serving.http import ORJSONResponse, error_body, install_extensions
from federation.serving.logs import REQUEST_ID
from federation.serving.process import LOG_LEVEL_ENV, configure_logging
from federation.serving.ticket_hook import ticket_hook
from federation.workflow import open_workflow_store
from federation.workflow.delivery import WebhookDeliverer
from federation.workflow.sync_events import SyncEvents
from federation.workflow.ticketing import Ticketing, TicketOpener
from federation.writes import Writer
from federation.writes.desk import Desk
from schema import ticket_fields, webhook_fields
from schema.catalog import catalog_field
from schema.desk_fields import desk_fields
from schema.request_fields import RequestFields
from schema.roles import RoleSchemas
from schema.workflow_lists import changes_field, checkouts_field


class RequestIdMiddleware:
    """A random 128-bit hex id per request: `request.state.request_id` and the X-Request-Id
    header. It finds a request in the logs and is no secret: drawn from `random` (seeded from
    the OS in each process), not `os.urandom`, whose system call per request would hand the
    GIL to another thread and leave the event loop waiting to take it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{random.getrandbits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = REQUEST_ID.set(request_id)  # log lines written while answering carry it
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class NoSniffMiddleware:
    """`X-Content-Type-Options: nosniff` on every response: a browser takes each body for
    the type it is sent as (a JSON error echoing input is never run as HTML or script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-content-type-options"]
                message["headers"] = [*headers, (b"x-content-type-options", b"nosniff")]
            await send(message)

        await self.app(scope, receive, send_nosniff)


# ----------------------------------------------------------------------------- probes


def _snapshot_published_at(reader: StoreReader) -> Callable[[], float]:
    """Seconds since the current snapshot was published (NaN before the first)."""
    seen: list[tuple[str, datetime]] = []  # (snapshot id, published at); replaced whole

    def age() -> float:
        snapshot = reader.current()
        if snapshot is None:
            return float("nan")
        known = seen[0] if seen else None
        if known is None or known[0] != snapshot.id:
            rows = snapshot.query("SELECT max(published_at) FROM publish_info")
            known = (snapshot.id, rows[0][0] if rows and rows[0][0] else datetime.now(UTC))
            seen[:] = [known]
        return (datetime.now(UTC) - known[1]).total_seconds()

    return age


def make_security(config: Config, reader: StoreReader) -> Security:
    """Authentication, per-role schemas and the access log, from the config."""
    settings = config.settings
    anonymous = settings.auth.anonymous_role if settings.auth else "anonymous"
    policy = compile_policy(settings.roles, anonymous=anonymous)
    access_log = AccessLog(reader.root)
    workflow = open_workflow_store(config)
    writer = Writer(config, workflow)
    log_fields = access_log_fields(access_log)
    ticketing = Ticketing(config, workflow) if settings.tickets is not None else None
    if ticketing is not None:  # a transition's ticket update: the first attempt at once
        workflow.on_ticket_update = ticketing.update_now
    desk = Desk(writer, ticketing)
    request_fields = RequestFields(settings.forms, workflow, desk, ticketing)
    webhook_roots = webhook_fields.root_fields(workflow)
    ticket_roots = ticket_fields.root_fields(workflow)

    def root_fields(access: RoleAccess) -> dict[str, Any]:
        """The access log and the change history, for the roles granted them."""
        out = dict(log_fields(access))
        if access.allowed("changes"):
            out |= changes_field(workflow)
        if access.allowed("checkout", "assets") or access.allowed("checkin", "assets"):
            out |= checkouts_field(workflow)
        out |= request_fields.root_fields(access)
        out |= webhook_roots(access)
        out |= ticket_roots(access)
        if access.catalog is not None:
            out |= catalog_field(workflow, access.catalog, access.models["assets"])
        return out

    def writes(access: RoleAccess) -> dict[str, dict[str, set[str]]]:
        """table → action → the columns this role may set that the sources can write
        (`delete`: present when the role may delete and some source can)."""
        out: dict[str, dict[str, set[str]]] = {}
        for table in access.tables:
            if table not in TABLES or TABLES[table].computed:
                continue
            actions: dict[str, set[str]] = {}
            updates = set(access.writable_columns(table, "update")) & writer.writable_columns(table)
            if updates:
                actions["update"] = updates
            inserts = set(access.writable_columns(table, "insert")) & writer.insertable_columns(table)
            if inserts:
                actions["insert"] = inserts
            if access.allowed("delete", table) and writer.deletable(table):
                actions["delete"] = set()
            if actions:
                out[table] = actions
        return out

    sync_fields, loan_fields = sync_mutation.mutation_fields(config), desk_fields(desk)
    replay_fields = webhook_fields.mutation_fields(workflow)
    retry_fields = ticket_fields.mutation_fields(workflow, ticketing)

    def mutations(access: RoleAccess) -> dict[str, Any]:
        return {
            **sync_fields(access),
            **loan_fields(access),
            **request_fields.mutation_fields(access),
            **replay_fields(access),
            **retry_fields(access),
        }

    return Security(
        authenticator=Authenticator(settings.auth, policy, config.base_dir),
        policy=policy,
        schemas=RoleSchemas(
            policy,
            install=lambda schema: install_extensions(schema, settings.server),
            root_fields=root_fields,
            mutation_fields=mutations,
            writes=writes,
        ),
        access_log=access_log,
        writer=writer,
        ticketing=ticketing,
    )


def metrics_endpoint(reader: StoreReader, token: str | None) -> Callable[[Request], Any]:
    """GET /metrics (Prometheus text); with `token`, only for `Authorization: Bearer <token>`."""
    snapshot_age = _snapshot_published_at(reader)
    expected = f"Bearer {token}".encode() if token else None

    async def endpoint(request: Request) -> Response:
        if expected is not None:
            sent = request.headers.get("authorization", "").strip().encode("utf-8", "replace")
            if not hmac.compare_digest(sent, expected):
                response = ORJSONResponse(
                    error_body(
                        "/metrics needs `Authorization: Bearer <server.metrics.token>`", "UNAUTHENTICATED"
                    ),
                    401,
                )
                response.headers["www-authenticate"] = 'Bearer realm="metrics"'
                return response
        metrics.SNAPSHOT_AGE.set(await anyio.to_thread.run_sync(snapshot_age))
        body, content_type = metrics.render()
        return Response(body, headers={"content-type": content_type})

    return endpoint


def _metrics_elsewhere(config: MetricsConfig) -> Callable[[Request], Any]:
    """GET /metrics on the GraphQL port without a token: 404, saying where it is."""
    if config.port is not None:
        message = f"/metrics is served on port {config.port} (server.metrics.port), not here"
    else:
        message = (
            "/metrics is off: set server.metrics.port (a separate port) or "
            "server.metrics.token (a bearer token) in the config"
        )

    async def endpoint(request: Request) -> Response:
        return ORJSONResponse(error_body(message, "NOT_FOUND"), 404)

    return endpoint


def create_metrics_app(config: MetricsConfig, reader: StoreReader) -> Starlette:
    """/metrics alone, for `server.metrics.port` (still asking for the token when one is set)."""
    return Starlette(routes=[Route("/metrics", metrics_endpoint(reader, config.token), methods=["GET"])])


Lifespan = Callable[[Starlette], AbstractAsyncContextManager[Any]]


def create_app(
    config: Config,
    reader: StoreReader,
    schema: strawberry.Schema | None = None,
    *,
    actor: Callable[[Request], dict[str, Any]] | None = None,
    lifespan: Lifespan | None = None,
) -> Starlette:
    """The serving app. Without `schema`, requests are authenticated and each role gets its
    own schema (config `auth:` and `roles:`); a given `schema` (tests, benchmarks of the bare
    serving layer) needs `actor`, who every caller is, and serves it everything. `lifespan`
    runs inside the app's own, which writes out the access log at shutdown."""
    security = make_security(config, reader) if schema is None else None
    server = config.settings.server
    graphql = GraphQLEndpoint(schema, server, reader, actor, security=security)

    async def healthz(request: Request) -> Response:
        return ORJSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        snapshot = reader.current()
        if snapshot is None:
            return ORJSONResponse({"status": "starting"}, 503)
        return ORJSONResponse({"status": "ready", "snapshot": snapshot.id})

    token = server.metrics.token
    serve_metrics = metrics_endpoint(reader, token) if token else _metrics_elsewhere(server.metrics)
    routes = [
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        Route("/graphql/", graphql.handle, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", serve_metrics, methods=["GET"]),
        Route(
            "/hooks/tickets",
            ticket_hook(graphql, config.settings.ticket_hook, server.max_body_bytes),
            methods=["POST"],
        ),
    ]
    if server.graphiql:
        routes.append(Route(ASSET_PREFIX + "{name}", graphiql_asset, methods=["GET"]))
    middleware = [Middleware(RequestIdMiddleware), Middleware(NoSniffMiddleware)]
    if server.cors_origins:  # none: browsers keep /graphql to pages of its own origin
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=server.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-api-key"],
                expose_headers=["X-Request-Id"],
            )
        )

    @asynccontextmanager
    async def app_lifespan(app: Starlette) -> AsyncIterator[None]:
        await graphql.warm_up()
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            if security is not None and security.access_log is not None:
                await anyio.to_thread.run_sync(security.access_log.close)

    app = Starlette(routes=routes, middleware=middleware, lifespan=app_lifespan)
    app.state.graphql = graphql
    return app


# ----------------------------------------------------------------------------- serve


def serving_app(config: Config) -> Starlette:
    """The app of one `assetgraph serve` process: it answers from the published snapshot at
    once (ready as soon as one exists) while its scheduler syncs in the background."""

    @asynccontextmanager
    async def syncing(app: Starlette) -> AsyncIterator[None]:
        # what start-up built (schemas, config, imported modules) lives as long as the
        # process: keep it out of the collector's full passes, which would walk it each time.
        # A request makes many short-lived objects (its record waits a while in the access
        # log's queue): a larger young generation lets them die before they are promoted,
        # so the full passes that pause every request come seldom. Not too large: what a
        # request leaves is mostly cyclic garbage (tokens, AST, errors), and a young pass over
        # 50,000 objects paused the loop 50-90 ms (/healthz p99 66 ms under bench_attack's
        # parsed phases); over 10,000 it takes ~10 ms (p99 18 ms)
        security = app.state.graphql.security
        if security is not None:  # every role's schema now, not on its first request
            for access in security.policy.roles.values():
                security.schemas.schema(access)
            security.schemas.full()  # the FORBIDDEN check's (~1 s of a core when first asked)
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        deliverer, events = None, None
        writer = security.writer if security is not None else None
        if writer is not None and writer.workflow is not None and config.settings.webhooks:
            store = writer.workflow
            deliverer = WebhookDeliverer(store, config.settings.webhooks)
            store.on_event = deliverer.wake
            events = SyncEvents(store, reader)
            deliverer.start()
        # the retries of the ServiceNow tickets the first attempt could not open
        ticketing = security.ticketing if security is not None else None
        opener = TicketOpener(ticketing) if ticketing is not None else None
        if opener is not None:
            opener.start()
        scheduler = SyncScheduler(config, on_report=events)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.stop()
            await anyio.to_thread.run_sync(scheduler.join, 30.0)
            for thread in (deliverer, opener):
                if thread is not None:
                    thread.stop()
                    await anyio.to_thread.run_sync(thread.join, 30.0)
            metrics.process_exited(os.getpid())

    reader = StoreReader(config.resolve(config.settings.store.path))
    return create_app(config, reader, lifespan=syncing)


def worker_app() -> Starlette:
    """`serving_app` in a uvicorn worker process (an app factory): the config and log level
    come from the environment that `assetgraph serve --workers N` set."""
    configure_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    return serving_app(load_config(os.environ[CONFIG_ENV]))
