"""POST /hooks/tickets: a ticketing tool reports an incident against an asset, and a
maintenance record opens (the asset goes in repair at its owning source), through the same
door, mutation and access log as /graphql's `log_maintenance`.

    POST /hooks/tickets
    X-API-Key: ak_…                      (or Authorization: Bearer …, or a Standard Webhooks
                                          signature with config `ticket_hook.secret`)
    {"asset": {"asset_tag": "A-00042"}, "ticket": "INC0012345", "notes": "screen cracked"}

    201 {"maintenance": {"id": …, "asset_id": …, "kind": "repair", "ticket": "INC0012345", …}}

`asset` takes what `AssetRef` takes (`id`, `asset_tag`, `serial_number` or `scan`); `kind`
defaults to `ticket_hook.kind`. Errors answer with the GraphQL error's code and the HTTP
status that fits it (400, 401, 403, 409, 503).
"""

from __future__ import annotations

from typing import Any

import orjson
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.requests import Request
from starlette.responses import Response

from federation.access.auth import AuthenticationError, RateLimitedError
from federation.config.webhooks import TicketHookConfig
from federation.serving.endpoint import GraphQLEndpoint
from federation.serving.http import GraphQLParams, ORJSONResponse, RequestError, error_body, read_body

LOG_MAINTENANCE = """
mutation TicketHook($asset: AssetRef!, $kind: String!, $ticket: String!, $notes: String) {
  log_maintenance(asset: $asset, kind: $kind, ticket: $ticket, notes: $notes) {
    id asset_id kind ticket notes status started_at
  }
}
"""
#: an error's code → the HTTP status the hook answers with
_STATUS = {"BAD_USER_INPUT": 400, "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "CONFLICT": 409,
           "SOURCE_UNAVAILABLE": 503, "NOT_READY": 503}  # fmt: skip
_ASSET_KEYS = ("id", "asset_tag", "serial_number", "scan")


def _variables(body: bytes, kind: str) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise RequestError("the body must be a JSON object: {asset, ticket, kind?, notes?}")
    unknown = sorted(set(data) - {"asset", "ticket", "kind", "notes"})
    if unknown:
        raise RequestError(f"unknown keys: {', '.join(unknown)}; expected asset, ticket, kind, notes")
    asset = data.get("asset")
    if not isinstance(asset, dict) or len(asset) != 1 or next(iter(asset)) not in _ASSET_KEYS:
        raise RequestError(f"asset: an object with one of {', '.join(_ASSET_KEYS)}")
    if not isinstance(asset[next(iter(asset))], str):
        raise RequestError("asset: the value must be a string")
    for key in ("ticket", "kind", "notes"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise RequestError(f"{key}: expected a string")
    if not (data.get("ticket") or "").strip():
        raise RequestError("ticket: required (the incident's number in the ticketing tool)")
    return {
        "asset": asset,
        "kind": data.get("kind") or kind,
        "ticket": data["ticket"],
        "notes": data.get("notes"),
    }


def ticket_hook(graphql: GraphQLEndpoint, config: TicketHookConfig | None, max_body: int) -> Any:
    signer = Webhook(config.secret) if config is not None and config.secret else None

    async def endpoint(request: Request) -> Response:
        try:
            body = await read_body(request, max_body)
            if "webhook-signature" in request.headers and signer is not None and config is not None:
                try:
                    signer.verify(body, dict(request.headers), json_parse=False)
                except WebhookVerificationError as exc:
                    return ORJSONResponse(error_body(f"signature: {exc}", "UNAUTHENTICATED"), 401)
                actor = {"role": config.role, "subject": "ticket-hook", "via": "signature"}
            else:
                actor = await graphql.authenticate(request)
                if actor.get("via") == "anonymous":
                    message = "send an API key, a token, or a Standard Webhooks signature"
                    return ORJSONResponse(error_body(message, "UNAUTHENTICATED"), 401)
            variables = _variables(body, config.kind if config is not None else "repair")
        except RateLimitedError as exc:
            response = ORJSONResponse(error_body(str(exc), "RATE_LIMITED"), 429)
            response.headers["retry-after"] = str(int(exc.retry_after) + 1)
            return response
        except AuthenticationError as exc:
            return ORJSONResponse(error_body(str(exc), "UNAUTHENTICATED"), 401)
        except RequestError as exc:
            return ORJSONResponse(error_body(exc.message, "BAD_USER_INPUT"), exc.status)
        status, answer = await graphql.answer_as(
            request, actor, GraphQLParams(LOG_MAINTENANCE, variables, None)
        )
        errors = answer.get("errors")
        if errors:
            code = (errors[0].get("extensions") or {}).get("code", "INTERNAL")
            return ORJSONResponse({"errors": errors}, _STATUS.get(code, 500 if status == 200 else status))
        return ORJSONResponse({"maintenance": answer["data"]["log_maintenance"]}, 201)

    return endpoint
