"""Request forms and the request workflow over GraphQL:

    request_form(item: request_item!): jsonb        # {form, title, item, schema, ui_schema}
    requests(where: requests_bool_exp, order_by: [requests_order_by!], limit: Int, offset: Int): [requests!]!
    submit_request(item: request_item!, answers: jsonb!): requests
    approve_request(id: uuid!, note: String): requests
    reject_request(id: uuid!, reason: String!): requests
    cancel_request(id: uuid!, reason: String): requests
    fulfil_request(id: uuid!, asset: AssetRef, note: String): requests

`schema` is JSON Schema draft 2020-12 (conditions as `if`/`then`), `ui_schema` a
react-jsonschema-form uiSchema. The answers are checked against that same schema on the
server; problems come back as BAD_USER_INPUT with `extensions.fields: [{field, message}]`.
Each root field passes the door `authorize_requests` (the `request`, `approve` or `fulfil`
action on assets); a role sees the requests it made and those waiting on it or its role.
`fulfil_request` with an asset (or for a request naming one) checks it out to the requester
through the desk (federation/writes/desk.py), in the source that owns it.

No `from __future__ import annotations` here: the types are built at run time.
"""

from collections.abc import Callable, Mapping
from dataclasses import fields as record_fields
from typing import Any

import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import RoleAccess
from federation.config.forms import FormConfig
from federation.model import TABLES
from federation.pipeline.store import Snapshot
from federation.workflow import Request, WorkflowError, WorkflowStore
from federation.workflow.forms import (
    answer_errors,
    approvals,
    json_schema,
    pick_form,
    ui_schema,
    with_defaults,
)
from federation.workflow.requests import visibility, visible_to, waiting_on
from federation.workflow.ticketing import Ticketing
from federation.workflow.tickets import request_order
from federation.writes import WriteError
from federation.writes.desk import Desk
from schema.authorize import authorize_requests
from schema.auxiliary import Change
from schema.context import RequestContext
from schema.desk_fields import AssetRef
from schema.mutations import MutationError, caller_of, guard_of, visible
from schema.request_items import requester, resolve_item
from schema.scalars import Jsonb, Timestamptz, Uuid
from schema.selection import root_selection
from schema.workflow_lists import _inputs, _rows, actor_of

UNSET: Any = strawberry.UNSET
#: the transitions each mutation makes, and the actions that may reach its resolver
TRANSITIONS = {
    "approve_request": ("approve", ("approve", "request")),
    "reject_request": ("reject", ("approve", "request")),
    "cancel_request": ("cancel", ("request",)),
    "fulfil_request": ("fulfil", ("fulfil",)),
}


@strawberry.input(
    name="request_item",
    description="What is requested: an asset (asset_id), or a catalog entry by category, manufacturer "
    "and/or model.",
)
class RequestItem:
    asset_id: Uuid | None = None
    category: str | None = None
    manufacturer: str | None = None
    model: str | None = None


@strawberry.type(name="requests", description="A request of an item through a form, and where it stands.")
class RequestRecord:
    id: str
    form: str
    item: Jsonb
    item_asset_id: str | None
    answers: Jsonb
    state: str
    requester: str
    requester_role: str
    requester_person_id: str | None
    steps: Jsonb
    step: int
    waiting_on_email: str | None
    waiting_on_role: str | None
    submitted_at: Timestamptz
    updated_at: Timestamptz
    reason: str | None
    fulfilled_by: str | None
    fulfilled_at: Timestamptz | None
    asset_id: str | None
    checkout_id: str | None
    ticket: str | None = strawberry.field(description="The ServiceNow ticket's number (REQ…), once opened.")
    ticket_sys_id: str | None = strawberry.field(description="The ticket's sys_id in ServiceNow.")
    ticket_status: str | None = strawberry.field(
        description="pending (being opened, or waiting to try again), opened or failed; null: no ticket."
    )
    ticket_error: str | None = strawberry.field(description="Why the last attempt to open the ticket failed.")
    ticket_state: str | None = strawberry.field(
        description="The ticket's state as ServiceNow last answered an update (closed_complete…)."
    )
    ticket_update: str | None = strawberry.field(
        description="The latest update of the ticket (the request approved, fulfilled, rejected or "
        "cancelled): pending (waiting to be sent, or for the ticket to open), sent or failed; null: none."
    )
    ticket_update_error: str | None = strawberry.field(
        description="Why the latest update of the ticket is not sent yet (ServiceNow's reason)."
    )
    history: list[Change] = strawberry.field(description="Every transition of the request, oldest first.")


def _error(exc: WorkflowError | WriteError) -> MutationError:
    if isinstance(exc, WriteError):
        return MutationError(exc)
    return MutationError(WriteError(exc.code, str(exc)))  # type: ignore[arg-type]


class RequestFields:
    """The request roots and mutations over one workflow store, for RoleSchemas."""

    def __init__(
        self,
        forms: Mapping[str, FormConfig],
        store: WorkflowStore,
        desk: Desk | None,
        ticketing: Ticketing | None = None,
    ) -> None:
        self.forms = forms
        self.store = store
        self.desk = desk
        #: opens each request's ServiceNow ticket (config `tickets:`), when there is one
        self.ticketing = ticketing

    # ------------------------------------------------------------------ helpers

    def records(self, rows: list[Request] | list[dict[str, Any]]) -> list[RequestRecord]:
        values = [
            r if isinstance(r, dict) else {f.name: getattr(r, f.name) for f in record_fields(r)} for r in rows
        ]
        history = self.store.history_of("requests", [v["id"] for v in values])
        return [
            RequestRecord(**v, history=[Change(**vars(c)) for c in reversed(history.get(v["id"], []))])
            for v in values
        ]

    def form_for(self, ctx: RequestContext, item: RequestItem) -> tuple[str, FormConfig, Any, str | None]:
        found, asset_id = resolve_item(ctx, vars(item))
        picked = pick_form(self.forms, found)
        if picked is None:
            raise UserInputError("item: there is no request form for this item", field="item")
        return picked[0], picked[1], found, asset_id

    # ------------------------------------------------------------------ queries

    def root_fields(self, access: RoleAccess) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not any(access.allowed(a, "assets") for a in ("request", "approve", "fulfil")):
            return out
        inputs = _inputs("requests")
        bool_exp, order_by = inputs.bool_exp, inputs.order_by
        fields = self

        def requests(
            info: strawberry.Info,
            where: bool_exp | None = UNSET,
            order_by: list[order_by] | None = UNSET,
            limit: int | None = UNSET,
            offset: int | None = UNSET,
        ) -> list[RequestRecord]:
            ctx: RequestContext = info.context
            access = authorize_requests(ctx, info.path.key)
            args = root_selection(info).args
            order = [("submitted_at", "desc"), ("id", "asc")]
            rows = _rows(fields.store, ctx, "requests", args, visibility(actor_of(ctx, access)), order)
            return fields.records(rows)

        out["requests"] = strawberry.field(
            resolver=requests,
            name="requests",
            description="The requests you made and those waiting on you (or your role), newest first.",
        )
        if access.allowed("request", "assets"):

            def request_form(info: strawberry.Info, item: RequestItem) -> Jsonb:
                ctx: RequestContext = info.context
                authorize_requests(ctx, info.path.key, ("request",))
                name, form, found, _ = fields.form_for(ctx, item)
                return {  # type: ignore[return-value]
                    "form": name,
                    "title": form.title,
                    "item": found.descriptor,
                    "schema": json_schema(name, form, found),
                    "ui_schema": ui_schema(form, found),
                }

            out["request_form"] = strawberry.field(
                resolver=request_form,
                name="request_form",
                description="The form to request this item: `schema` (JSON Schema 2020-12) and `ui_schema`.",
            )
        return out

    # ------------------------------------------------------------------ mutations

    def mutation_fields(self, access: RoleAccess) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fields = self
        if access.allowed("request", "assets"):

            def submit_request(info: strawberry.Info, item: RequestItem, answers: Jsonb) -> RequestRecord:
                ctx: RequestContext = info.context
                access = authorize_requests(ctx, info.path.key, ("request",))
                return fields.records([fields.submit(ctx, access, item, answers)])[0]

            out["submit_request"] = strawberry.field(
                resolver=submit_request,
                name="submit_request",
                description="Request an item: the answers are checked against its form's schema.",
            )
        for name, (action, actions) in TRANSITIONS.items():
            if any(access.allowed(a, "assets") for a in actions):
                out[name] = self._transition_field(name, action, actions)
        return out

    def submit(self, ctx: RequestContext, access: RoleAccess, item: RequestItem, answers: Any) -> Request:
        actor = actor_of(ctx, access)
        if not actor.email:
            raise UserInputError("a request needs your email: your token carries no `email` claim")
        name, form, found, asset_id = self.form_for(ctx, item)
        schema = json_schema(name, form, found)
        given = with_defaults(form, found, answers) if isinstance(answers, dict) else answers
        problems = answer_errors(form, found, schema, given)
        if problems:
            raise UserInputError(
                f"the answers to form `{name}` have {len(problems)} problem(s): see extensions.fields",
                fields=problems,
            )
        person, manager = requester(ctx, actor.email)
        steps = []
        for step in approvals(form, found, given):
            if step.get("approver") == "manager":
                if manager is None:
                    raise UserInputError(
                        "this request needs your manager's approval, and no manager is on record for "
                        f"{actor.email} (people.manager); ask the service desk"
                    )
                step = {**step, "email": manager}
            steps.append(step)
        tickets = self.ticketing.tickets if self.ticketing is not None else None
        order = None
        if tickets is not None and tickets.opens_for("requests", form):
            order = request_order(tickets, form, {"answers": given, "requester": actor.email}, found.facts)
        request = self.store.submit_request(
            form=name, item=found.descriptor, item_asset_id=asset_id, answers=given, requester=actor,
            person_id=person, approvals=steps, fulfil_role=form.fulfil.role if form.fulfil else None,
            ticket=order,
        )  # fmt: skip
        if order is not None and self.ticketing is not None:
            # the first attempt now, so the answer usually carries the number; a ServiceNow
            # that is down leaves the ticket pending (with why), tried again in the background
            self.ticketing.open_now("requests", request.id)
            request = self.store.request(request.id) or request
        return request

    def _transition_field(self, name: str, action: str, actions: tuple[str, ...]) -> Any:
        fields = self

        def act(ctx: RequestContext, key: str, id: str, reason: str | None, **extra: Any) -> RequestRecord:
            access = authorize_requests(ctx, key, actions)
            try:
                done = fields.store.transition_request(
                    id, actor_of(ctx, access), action, reason=reason, **extra
                )
            except WorkflowError as exc:
                raise _error(exc) from None
            return fields.records([done])[0]

        if action == "fulfil":

            def fulfil_request(
                info: strawberry.Info, id: Uuid, asset: AssetRef | None = None, note: str | None = None
            ) -> RequestRecord:
                ctx: RequestContext = info.context
                authorize_requests(ctx, info.path.key, actions)
                extra = fields.hand_out(ctx, id, vars(asset) if asset is not None else None)
                try:
                    return act(ctx, info.path.key, id, note, **extra)
                except MutationError:
                    fields.take_back(ctx, id, extra)  # the request moved on meanwhile
                    raise

            resolver: Callable[..., RequestRecord] = fulfil_request
        elif action == "reject":

            def reject_request(info: strawberry.Info, id: Uuid, reason: str) -> RequestRecord:
                return act(info.context, info.path.key, id, reason)

            resolver = reject_request
        elif action == "approve":

            def approve_request(info: strawberry.Info, id: Uuid, note: str | None = None) -> RequestRecord:
                return act(info.context, info.path.key, id, note)

            resolver = approve_request
        else:

            def cancel_request(info: strawberry.Info, id: Uuid, reason: str | None = None) -> RequestRecord:
                return act(info.context, info.path.key, id, reason)

            resolver = cancel_request
        return strawberry.field(resolver=resolver, name=name, description=_DESCRIPTIONS[name])

    def hand_out(self, ctx: RequestContext, request_id: str, ref: dict[str, Any] | None) -> dict[str, Any]:
        """Check the asset out to the requester (when one is named here or by the request);
        returns the asset and check-out ids for the request. Nothing when none is named."""
        access = authorize_requests(ctx, "fulfil_request", ("fulfil",))
        try:
            found = self.store.request(request_id)
        except WorkflowError:
            return {}
        actor = actor_of(ctx, access)
        # not the fulfiller's to hand out: the transition refuses it (and records why)
        if (
            found is None
            or not visible_to(found, actor)
            or not waiting_on(found, actor)
            or found.state != "approved"
        ):
            return {}
        if ref is None and found.item_asset_id is None:
            return {}
        if self.desk is None:
            raise UserInputError("this server does not check assets out (no workflow desk)")
        if found.requester_person_id is None:
            raise UserInputError(
                f"the requester {found.requester} is not in `people`: check the asset out by hand"
            )
        try:
            asset_id = self.desk.find(ctx.snapshot, ref) if ref is not None else str(found.item_asset_id)
            if not visible(ctx, "assets", asset_id):
                raise WriteError("BAD_USER_INPUT", "asset: no such asset", field="asset")
            loan, written = self.desk.checkout(
                ctx.snapshot, asset_id, caller_of(ctx), to_person_id=found.requester_person_id,
                note=f"request {found.id}", guard=guard_of(ctx, TABLES["assets"]),
            )  # fmt: skip
        except WriteError as exc:
            raise _error(exc) from None
        if written.snapshot_path is not None:
            ctx.snapshot = Snapshot(written.snapshot_id or "", written.snapshot_path)
        return {"asset_id": asset_id, "checkout_id": loan.id}

    def take_back(self, ctx: RequestContext, request_id: str, handed: dict[str, Any]) -> None:
        """Check in an asset handed out for a request that then could not be fulfilled."""
        if not handed or self.desk is None:
            return
        try:
            _, written = self.desk.checkin(
                ctx.snapshot, handed["asset_id"], caller_of(ctx), note=f"request {request_id} not fulfilled"
            )
        except WriteError:
            return  # the refusal of the request is the error to report; the loan stays visible
        if written.snapshot_path is not None:
            ctx.snapshot = Snapshot(written.snapshot_id or "", written.snapshot_path)


_DESCRIPTIONS = {
    "approve_request": "Approve the step of a request that is waiting on you (or your role).",
    "reject_request": "Reject a request waiting on you (or your role), saying why.",
    "cancel_request": "Cancel your own request, before it is fulfilled.",
    "fulfil_request": "Fulfil an approved request; with an asset (or one the request names), check it "
    "out to the requester.",
}
