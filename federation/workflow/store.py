"""The gateway's own store of workflow state (history, check-outs, maintenance, requests),
as the GraphQL layer uses it.

`open_workflow_store(config)` connects, brings the database to the code's schema (or refuses
a newer one) and returns a `WorkflowStore`. Each method runs in its own transaction; to put
several steps in one (open maintenance and record the history rows it causes), use
`store.transaction()` with the functions of history.py, checkouts.py and maintenance.py.
Safe to share between the threads of a pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

import federation.workflow.checkouts as checkouts
import federation.workflow.history as history
import federation.workflow.maintenance as maintenance
import federation.workflow.outbox as outbox
import federation.workflow.requests as requests
import federation.workflow.ticket_updates as ticket_updates
import federation.workflow.tickets as tickets
from federation.config.settings import Config
from federation.config.tickets import TicketsConfig
from federation.config.webhooks import WebhookConfig
from federation.model.where import Compare, Node
from federation.workflow.database import (
    WorkflowStoreError,
    create_store_engine,
    reading,
    safe_url,
    store_url,
    writing,
)
from federation.workflow.migrate import upgrade
from federation.workflow.records import (
    Change,
    Checkout,
    Maintenance,
    Request,
    WorkflowError,
    require_uuid,
)
from federation.workflow.requests import Actor

_ROW_TYPES: dict[str, type[Change] | type[Checkout] | type[Maintenance] | type[Request]] = {
    "changes": Change,
    "checkouts": Checkout,
    "maintenance": Maintenance,
    "requests": Request,
}


class WorkflowStore:
    def __init__(
        self,
        engine: sa.Engine,
        revision: str,
        webhooks: Sequence[WebhookConfig] = (),
        tickets: TicketsConfig | None = None,
    ) -> None:
        self.engine = engine
        #: the schema revision the database is at (the code's head)
        self.revision = revision
        #: the subscriptions events are queued for (config `webhooks:`)
        self.webhooks = tuple(webhooks)
        #: called after an event was queued (the deliverer's wake-up)
        self.on_event: Callable[[], None] | None = None
        #: what the tickets of records are told as they move on (config `tickets:`)
        self.ticket_config = tickets
        #: called with (entity, id) after an update of its ticket was queued (the first attempt)
        self.on_ticket_update: Callable[[str, str], None] | None = None

    @property
    def url(self) -> str:
        """The database, password hidden."""
        return safe_url(self.engine.url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction: committed when the block ends, rolled back on an error."""
        with writing(self.engine) as conn:
            yield conn

    # ------------------------------------------------------------------------- events

    def emit(self, event: str, data: Mapping[str, Any]) -> list[str]:
        """Queue `event` for every webhook that wants it (outbox.py); the deliveries' ids."""
        if not self.webhooks:
            return []
        with self.transaction() as conn:
            ids = outbox.enqueue(conn, self.webhooks, event, data)
        self._queued(ids)
        return ids

    def emit_many(self, event: str, datas: Sequence[Mapping[str, Any]]) -> list[str]:
        """`emit` of each, in one transaction (a bulk check-out's events)."""
        if not self.webhooks or not datas:
            return []
        ids: list[str] = []
        with self.transaction() as conn:
            for data in datas:
                ids += outbox.enqueue(conn, self.webhooks, event, data)
        self._queued(ids)
        return ids

    def _queued(self, ids: Sequence[str]) -> None:
        if ids and self.on_event is not None:
            self.on_event()

    def deliveries(
        self,
        *,
        subscription: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return outbox.deliveries(
                conn, subscription=subscription, status=status, limit=limit, offset=offset
            )

    def replay(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Failed deliveries sent again now (outbox.replay; ReplayRefused names what is not)."""
        with self.transaction() as conn:
            replayed = outbox.replay(conn, ids, datetime.now(UTC))
        self._queued(ids)
        return replayed

    # ------------------------------------------------------------------------- tickets

    def queue_ticket(self, entity: str, entity_id: str, order: tickets.TicketOrder) -> str:
        """Queue the ServiceNow ticket of a record (tickets.py); its id."""
        with self.transaction() as conn:
            return tickets.enqueue(conn, entity, entity_id, order)

    def tickets(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        ids: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return tickets.tickets(conn, status=status, limit=limit, offset=offset, ids=ids)

    def retry_tickets(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Failed (or pending) tickets tried again now (tickets.retry; RetryRefused names
        what is not); a bad id is a WorkflowError."""
        wanted = [require_uuid("ids", i) for i in ids]
        with self.transaction() as conn:
            updated = ticket_updates.retry(conn, wanted, datetime.now(UTC))
            rest = [i for i in wanted if i not in updated]
            if rest:
                tickets.retry(conn, rest, datetime.now(UTC))
            return tickets.tickets(conn, ids=wanted)

    def ticket_updates(self, ticket_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        with reading(self.engine) as conn:
            return ticket_updates.updates_of(conn, ticket_ids)

    def _ticket_moved(self, entity: str, entity_id: str | None) -> None:
        if entity_id is not None and self.on_ticket_update is not None:
            self.on_ticket_update(entity, entity_id)

    # ------------------------------------------------------------------------- history

    def record_changes(self, changes: Iterable[Change], *, at: datetime | None = None) -> list[Change]:
        """Record `changes`; a refused-as-conflict field also queues `write.conflict`, in the
        same transaction."""
        ids: list[str] = []
        with self.transaction() as conn:
            recorded = history.record_changes(conn, changes, at=at)
            for change in recorded:
                if change.outcome == "conflict" and self.webhooks:
                    ids += outbox.enqueue(conn, self.webhooks, "write.conflict", _conflict(change))
        self._queued(ids)
        return recorded

    def record_change(self, change: Change) -> Change:
        return self.record_changes([change])[0]

    def query(
        self,
        table: str,
        *,
        where: Node | None = None,
        order_by: Sequence[tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """Rows of `changes`, `checkouts` or `maintenance` as records; `where` is a parsed
        tree (`where.parse(exp, table, tables=WORKFLOW_TABLES)`), the role's filter included."""
        stmt = history.select_rows(table, where=where, order_by=order_by, limit=limit, offset=offset)
        with reading(self.engine) as conn:
            return [_ROW_TYPES[table].from_row(row) for row in conn.execute(stmt)]

    def count(self, table: str, *, where: Node | None = None) -> int:
        with reading(self.engine) as conn:
            return int(conn.execute(history.count_rows(table, where=where)).scalar_one())

    def changes(
        self,
        *,
        where: Node | None = None,
        order_by: Sequence[tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Change]:
        return self.query("changes", where=where, order_by=order_by, limit=limit, offset=offset)

    def history(self, entity: str, entity_id: str, *, limit: int | None = None) -> list[Change]:
        """The changes of one object, newest first."""
        return self.history_of(entity, [entity_id], limit=limit).popitem()[1]

    def history_of(
        self, entity: str, entity_ids: Sequence[str], *, limit: int | None = None
    ) -> dict[str, list[Change]]:
        with reading(self.engine) as conn:
            return history.history_of(conn, entity, entity_ids, limit=limit)

    # ------------------------------------------------------------------------- check-outs

    def open_checkout(
        self,
        asset_id: str,
        *,
        actor: str,
        to_person_id: str | None = None,
        to_location_id: str | None = None,
        expected_checkin: datetime | None = None,
        note: str | None = None,
        asset_tag: str | None = None,
        at: datetime | None = None,
    ) -> Checkout:
        """Check an asset out to a person or a location; `WorkflowConflict` if it is out."""
        with self.transaction() as conn:
            return checkouts.open_checkout(
                conn,
                asset_id=asset_id,
                actor=actor,
                to_person_id=to_person_id,
                to_location_id=to_location_id,
                expected_checkin=expected_checkin,
                note=note,
                asset_tag=asset_tag,
                at=at,
            )

    def close_checkout(
        self,
        asset_id: str,
        *,
        actor: str,
        to_location_id: str | None = None,
        condition: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> Checkout:
        """Check an asset back in; `WorkflowConflict` if it is not out."""
        with self.transaction() as conn:
            return checkouts.close_checkout(
                conn,
                asset_id=asset_id,
                actor=actor,
                to_location_id=to_location_id,
                condition=condition,
                note=note,
                at=at,
            )

    def discard_checkout(self, checkout_id: str) -> None:
        """Remove an open check-out whose source write was refused (it never happened)."""
        with self.transaction() as conn:
            checkouts.discard_checkout(conn, checkout_id)

    def reopen_checkout(self, checkout_id: str) -> None:
        """Undo a check-in whose source write was refused (the asset is still out)."""
        with self.transaction() as conn:
            checkouts.reopen_checkout(conn, checkout_id)

    def open_checkouts(self, asset_ids: Sequence[str]) -> dict[str, Checkout]:
        with reading(self.engine) as conn:
            return checkouts.open_checkouts(conn, asset_ids)

    def overdue(self, now: datetime | None = None, *, limit: int | None = None) -> list[Checkout]:
        with reading(self.engine) as conn:
            return checkouts.overdue(conn, now, limit=limit)

    # ------------------------------------------------------------------------- maintenance

    def log_maintenance(
        self,
        asset_id: str,
        *,
        kind: str,
        actor: str,
        notes: str | None = None,
        cost: Decimal | float | int | str | None = None,
        started_at: datetime | None = None,
        done_at: datetime | None = None,
        ticket: str | None = None,
        previous_status: str | None = None,
    ) -> Maintenance:
        """Open a maintenance record (closed at once with `done_at`); `WorkflowConflict` if
        the asset already has an open one."""
        with self.transaction() as conn:
            return maintenance.log_maintenance(
                conn,
                asset_id=asset_id,
                kind=kind,
                actor=actor,
                notes=notes,
                cost=cost,
                started_at=started_at,
                done_at=done_at,
                ticket=ticket,
                previous_status=previous_status,
            )

    def close_maintenance(
        self,
        maintenance_id: str,
        *,
        actor: str,
        done_at: datetime | None = None,
        notes: str | None = None,
        cost: Decimal | float | int | str | None = None,
    ) -> Maintenance:
        with self.transaction() as conn:
            record = maintenance.close_maintenance(
                conn, maintenance_id=maintenance_id, actor=actor, done_at=done_at, notes=notes, cost=cost
            )
            facts = {"actor": actor, "notes": record.notes, "kind": record.kind}
            moved = ticket_updates.enqueue(
                conn, self.ticket_config, "maintenance", record.id, "closed", facts
            )
        if moved is None:
            return record
        self._ticket_moved("maintenance", record.id)
        found = self.query("maintenance", where=Compare("id", "_eq", record.id), limit=1)
        return found[0] if found else record

    def discard_maintenance(self, maintenance_id: str) -> None:
        """Remove an open record whose source write was refused (the repair never started)."""
        with self.transaction() as conn:
            maintenance.discard_maintenance(conn, maintenance_id)

    def maintenance_of(self, asset_ids: Sequence[str]) -> dict[str, list[Maintenance]]:
        with reading(self.engine) as conn:
            return maintenance.maintenance_of(conn, asset_ids)

    # ------------------------------------------------------------------------- requests

    def submit_request(self, *, ticket: tickets.TicketOrder | None = None, **kwargs: Any) -> Request:
        """A new request and its history (see requests.submit for the arguments), its
        `request.submitted` event and its ticket to open (`ticket`), in one transaction."""
        with self.transaction() as conn:
            request = requests.submit(conn, **kwargs)
            ids = outbox.enqueue(conn, self.webhooks, "request.submitted", _request(request))
            if ticket is not None:
                tickets.enqueue(conn, "requests", request.id, ticket)
                request = requests.get(conn, request.id) or request
        self._queued(ids)
        return request

    def request(self, request_id: str) -> Request | None:
        with reading(self.engine) as conn:
            return requests.get(conn, request_id)

    def transition_request(self, request_id: str, actor: Actor, action: str, **kwargs: Any) -> Request:
        """approve, reject, cancel or fulfil a request as `actor`; a refusal (WorkflowError)
        on a request the actor sees is recorded in the history before it is raised."""
        failure: WorkflowError | None = None
        ids: list[str] = []
        moved: str | None = None
        with self.transaction() as conn:
            try:
                with conn.begin_nested():
                    request, before = requests.transition(conn, request_id, actor, action, **kwargs)
                    if before != request.state:  # an approval step may not
                        event = f"request.{request.state}"
                        ids = outbox.enqueue(conn, self.webhooks, event, _request(request))
                        facts = {"actor": actor.email, "reason": kwargs.get("reason")}
                        moved = ticket_updates.enqueue(
                            conn, self.ticket_config, "requests", request.id, request.state, facts
                        )
            except WorkflowError as exc:
                failure = exc
                requests.refusal(conn, request_id, actor, action, exc)
        if failure is not None:
            raise failure
        self._queued(ids)
        if moved is not None:
            self._ticket_moved("requests", request.id)
            request = self.request(request.id) or request
        return request


def _request(request: Request) -> dict[str, Any]:
    """A request as its webhook events carry it."""
    keys = ("id", "form", "item", "state", "requester", "step", "waiting_on_email", "waiting_on_role",
            "reason", "asset_id", "checkout_id", "submitted_at", "updated_at")  # fmt: skip
    return {key: getattr(request, key) for key in keys}


def _conflict(change: Change) -> dict[str, Any]:
    keys = ("entity", "entity_id", "field", "before", "after", "source", "reason", "actor", "role", "at")
    return {key: getattr(change, key, None) for key in keys}


def open_store(
    url: str | URL, webhooks: Sequence[WebhookConfig] = (), tickets: TicketsConfig | None = None
) -> WorkflowStore:
    """Connect to `url`, upgrade it to the code's schema, and return the store."""
    engine = create_store_engine(url)
    try:
        revision = upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return WorkflowStore(engine, revision, webhooks, tickets)


def open_workflow_store(config: Config) -> WorkflowStore:
    """The store `workflow.url` names (default: workflow.sqlite in the store folder), upgraded,
    queueing events for the config's `webhooks`; `WorkflowStoreError` when it cannot be
    reached or is newer than this code."""
    return open_store(store_url(config), config.settings.webhooks, config.settings.tickets)


__all__ = ["WorkflowStore", "WorkflowStoreError", "open_store", "open_workflow_store"]
