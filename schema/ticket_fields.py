"""The ServiceNow tickets the gateway opens, for roles with the `tickets` capability: the queue
(`status: "failed"` lists those given up) and a retry of failed ones.

    tickets(status: String, limit: Int = 100, offset: Int = 0): [ticket!]!
    retry_tickets(ids: [uuid!]!): [ticket!]!

A ticket's `body` holds what the request or repair says (answers, notes), whoever made it:
grant `tickets` to the roles that may read those. Each record shows its own ticket too
(`ticket`, `ticket_status`, `ticket_error` on `requests` and `maintenance`), and where the
updates of its ticket stand (`ticket_state`, `ticket_update`, `ticket_update_error`). A ticket
lists its `updates` (what it was told as its record moved on); `retry_tickets` on an opened
ticket sends its failed updates again.

No `from __future__ import annotations` here: strawberry reads the resolvers' annotations.
"""

from typing import Any

import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import RoleAccess
from federation.workflow import WorkflowError, WorkflowStore
from federation.workflow.tables import TICKET_STATUSES
from federation.workflow.ticketing import Ticketing
from federation.workflow.tickets import RetryRefused
from schema.authorize import authorize_capability
from schema.scalars import Jsonb, Timestamptz, Uuid

#: the most tickets one query lists
MAX_ROWS = 1000


@strawberry.type(
    name="ticket_update",
    description="What a ticket is told when its record moves on (a PATCH of its sys_id): pending "
    "(waiting to be sent, or for the ticket to open), sent, or failed (`retry_tickets` sends it again).",
)
class TicketUpdate:
    id: str
    seq: int
    state: str = strawberry.field(description="The record's state it tells: fulfilled, rejected, closed…")
    body: Jsonb
    status: str
    attempts: int
    created_at: Timestamptz
    next_attempt_at: Timestamptz
    sent_at: Timestamptz | None
    answer: Jsonb | None = strawberry.field(description="What ServiceNow answered of the fields sent.")
    last_error: str | None


@strawberry.type(
    name="ticket",
    description="A ServiceNow ticket the gateway opens for a request or a maintenance record: pending "
    "(being opened, or waiting to try again), opened (with its number), or failed (given up: "
    "`retry_tickets` tries again).",
)
class Ticket:
    id: str
    entity: str
    entity_id: str
    source: str
    target_table: str
    body: Jsonb
    status: str
    attempts: int
    created_at: Timestamptz
    next_attempt_at: Timestamptz
    opened_at: Timestamptz | None
    number: str | None
    sys_id: str | None
    last_error: str | None
    updates: list[TicketUpdate] = strawberry.field(description="Its updates, in the order they are sent.")


def _tickets(store: WorkflowStore, rows: list[dict[str, Any]]) -> list[Ticket]:
    names = Ticket.__annotations__
    updates = store.ticket_updates([str(row["id"]) for row in rows])
    return [
        Ticket(
            **{k: (str(v) if k in ("id", "entity_id") else v) for k, v in row.items() if k in names},
            updates=[_update(u) for u in updates.get(str(row["id"]), [])],
        )
        for row in rows
    ]


def _update(row: dict[str, Any]) -> TicketUpdate:
    names = TicketUpdate.__annotations__
    return TicketUpdate(**{k: (str(v) if k == "id" else v) for k, v in row.items() if k in names})


def root_fields(store: WorkflowStore) -> Any:
    """access → {"tickets": field} for roles holding `tickets`."""

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        if not access.allowed("tickets"):
            return {}

        def tickets(
            info: strawberry.Info, status: str | None = None, limit: int | None = 100, offset: int | None = 0
        ) -> list[Ticket]:
            authorize_capability(info.context, info.path.key, "tickets")
            info.context.cacheable = False  # the store changes without a new snapshot
            if status is not None and status not in TICKET_STATUSES:
                raise UserInputError(f"status: {status!r}; expected one of {', '.join(TICKET_STATUSES)}")
            limit = 100 if limit is None else limit
            offset = offset or 0
            if not 0 <= limit <= MAX_ROWS or offset < 0:
                raise UserInputError(f"limit: 0 to {MAX_ROWS}; offset: 0 or more")
            rows = store.tickets(status=status, limit=limit, offset=offset)
            info.context.rows += len(rows)
            return _tickets(store, rows)

        return {
            "tickets": strawberry.field(
                resolver=tickets,
                name="tickets",
                description='ServiceNow tickets the gateway opens, oldest first; `status: "failed"` lists '
                "those given up.",
            )
        }

    return fields_for


def mutation_fields(store: WorkflowStore, ticketing: Ticketing | None) -> Any:
    """access → {"retry_tickets": field} for roles holding `tickets`; each ticket retried is
    attempted at once (later attempts are the serving processes' TicketOpener's)."""

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        if not access.allowed("tickets"):
            return {}

        def retry_tickets(info: strawberry.Info, ids: list[Uuid]) -> list[Ticket]:
            authorize_capability(info.context, info.path.key, "tickets")
            if not ids or len(ids) > MAX_ROWS:
                raise UserInputError(f"ids: name 1 to {MAX_ROWS} tickets")
            try:
                retried = store.retry_tickets(ids)
            except (RetryRefused, WorkflowError) as exc:
                raise UserInputError(str(exc)) from None
            if ticketing is not None:
                for row in retried:
                    ticketing.open_now(row["entity"], str(row["entity_id"]))
            return _tickets(store, store.tickets(ids=[str(row["id"]) for row in retried]))

        return {
            "retry_tickets": strawberry.field(
                resolver=retry_tickets,
                name="retry_tickets",
                description="Try failed (or pending) tickets again now, with a fresh count of attempts; "
                "an opened ticket: send its failed updates again.",
            )
        }

    return fields_for
