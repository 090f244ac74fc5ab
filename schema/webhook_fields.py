"""The webhook deliveries, for roles with the `webhooks` capability: the list (the dead
letters are `status: "failed"`) and the replay of failed ones.

    webhook_deliveries(status: String, subscription: String, limit: Int = 100, offset: Int = 0)
    replay_webhook_deliveries(ids: [String!]!): [webhook_delivery!]!

No `from __future__ import annotations` here: strawberry reads the resolvers' annotations.
"""

from typing import Any

import orjson
import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import RoleAccess
from federation.workflow import WorkflowStore
from federation.workflow.outbox import ReplayRefused
from federation.workflow.tables import DELIVERY_STATUSES
from schema.authorize import authorize_capability
from schema.scalars import Jsonb, Timestamptz

#: the most deliveries one query lists
MAX_ROWS = 1000


@strawberry.type(
    name="webhook_delivery",
    description="One event sent (or to send) to one webhook subscription; `failed` ones are the "
    "dead letters, which `replay_webhook_deliveries` sends again.",
)
class WebhookDelivery:
    id: str
    subscription: str
    event: str
    payload: Jsonb
    status: str
    attempts: int
    created_at: Timestamptz
    next_attempt_at: Timestamptz
    delivered_at: Timestamptz | None
    last_status: int | None
    last_error: str | None


def _delivery(row: dict[str, Any]) -> WebhookDelivery:
    names = WebhookDelivery.__annotations__
    values = {k: v for k, v in row.items() if k in names and k != "payload"}
    return WebhookDelivery(payload=orjson.loads(row["payload"]), **values)


def root_fields(store: WorkflowStore) -> Any:
    """access → {"webhook_deliveries": field} for roles holding `webhooks`."""

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        if not access.allowed("webhooks"):
            return {}

        def webhook_deliveries(
            info: strawberry.Info,
            status: str | None = None,
            subscription: str | None = None,
            limit: int | None = 100,
            offset: int | None = 0,
        ) -> list[WebhookDelivery]:
            authorize_capability(info.context, info.path.key, "webhooks")
            info.context.cacheable = False  # the store changes without a new snapshot
            if status is not None and status not in DELIVERY_STATUSES:
                raise UserInputError(f"status: {status!r}; expected one of {', '.join(DELIVERY_STATUSES)}")
            limit = 100 if limit is None else limit
            offset = offset or 0
            if not 0 <= limit <= MAX_ROWS or offset < 0:
                raise UserInputError(f"limit: 0 to {MAX_ROWS}; offset: 0 or more")
            rows = store.deliveries(status=status, subscription=subscription, limit=limit, offset=offset)
            info.context.rows += len(rows)
            return [_delivery(row) for row in rows]

        return {
            "webhook_deliveries": strawberry.field(
                resolver=webhook_deliveries,
                name="webhook_deliveries",
                description='Webhook deliveries, oldest first; `status: "failed"` lists the dead letters.',
            )
        }

    return fields_for


def mutation_fields(store: WorkflowStore) -> Any:
    """access → {"replay_webhook_deliveries": field} for roles holding `webhooks`."""

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        if not access.allowed("webhooks"):
            return {}

        def replay_webhook_deliveries(info: strawberry.Info, ids: list[str]) -> list[WebhookDelivery]:
            authorize_capability(info.context, info.path.key, "webhooks")
            if not ids or len(ids) > MAX_ROWS:
                raise UserInputError(f"ids: name 1 to {MAX_ROWS} deliveries")
            try:
                return [_delivery(row) for row in store.replay(ids)]
            except ReplayRefused as exc:
                raise UserInputError(str(exc)) from None

        return {
            "replay_webhook_deliveries": strawberry.field(
                resolver=replay_webhook_deliveries,
                name="replay_webhook_deliveries",
                description="Send failed (or pending) deliveries again now, with a fresh count of attempts.",
            )
        }

    return fields_for
