"""The Starlette app: /graphql (GraphiQL in the browser), /healthz, /readyz, /metrics.

The GraphQL endpoint itself is `federation.serving.endpoint.GraphQLEndpoint`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
from federation.access.policy import compile_policy
from federation.config.settings import Config
from federation.pipeline import metrics
from federation.pipeline.store import StoreReader
from federation.serving import sync_mutation
from federation.serving.access_log import AccessLog
from federation.serving.access_log import root_fields as access_log_fields
from federation.serving.endpoint import GraphQLEndpoint, Security
from federation.serving.http import ORJSONResponse, install_extensions
from federation.serving.logs import REQUEST_ID
from schema.roles import RoleSchemas


class RequestIdMiddleware:
    """A uuid4 hex per request: `request.state.request_id` and the X-Request-Id header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
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
    return Security(
        authenticator=Authenticator(settings.auth, policy, config.base_dir),
        policy=policy,
        schemas=RoleSchemas(
            policy,
            install=lambda schema: install_extensions(schema, settings.server),
            root_fields=access_log_fields(access_log),
            mutation_fields=sync_mutation.mutation_fields(config),
        ),
        access_log=access_log,
    )


def create_app(
    config: Config,
    reader: StoreReader,
    schema: strawberry.Schema | None = None,
    *,
    actor: Callable[[Request], dict[str, Any]] | None = None,
    lifespan: Any = None,
) -> Starlette:
    """The serving app. Without `schema`, requests are authenticated and each role gets its
    own schema (config `auth:` and `roles:`); a given `schema` (tests, benchmarks of the bare
    serving layer) needs `actor`, who every caller is, and serves it everything."""
    security = make_security(config, reader) if schema is None else None
    graphql = GraphQLEndpoint(schema, config.settings.server, reader, actor, security=security)
    snapshot_age = _snapshot_published_at(reader)

    async def healthz(request: Request) -> Response:
        return ORJSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        snapshot = reader.current()
        if snapshot is None:
            return ORJSONResponse({"status": "starting"}, 503)
        return ORJSONResponse({"status": "ready", "snapshot": snapshot.id})

    async def metrics_endpoint(request: Request) -> Response:
        metrics.SNAPSHOT_AGE.set(await anyio.to_thread.run_sync(snapshot_age))
        body, content_type = metrics.render()
        return Response(body, headers={"content-type": content_type})

    routes = [
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        Route("/graphql/", graphql.handle, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["X-Request-Id"],
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.graphql = graphql
    return app
