"""Check-out and check-in for the service desk, without edit rights:

    checkout_asset(asset: AssetRef!, to_person: uuid, to_location: uuid, expected_checkin: timestamptz,
                   note: String): checkouts
    checkin_asset(asset: AssetRef!, to_location: uuid, condition: String, note: String): checkouts
    checkout_assets(scans: [String!]!, to_person: uuid, to_location: uuid, …): [checkout_result!]!
    checkin_assets(scans: [String!]!, to_location: uuid, condition: String, note: String): [checkout_result!]!
    log_maintenance(asset: AssetRef!, kind: String!, notes, cost, started_at, done_at, ticket): maintenance
    close_maintenance(id: uuid!, done_at, notes, cost): maintenance

They need the `checkout` / `checkin` (`maintain`) action on assets, not `update`: the desk
sets the status and holder through them and nothing else. The asset, and the person or location it goes to,
must be rows the role sees. A bulk call answers per scan (ok, or the code and reason) and
publishes its writes as one snapshot.

No `from __future__ import annotations` here: the types are built at run time.
"""

from collections.abc import Callable
from dataclasses import fields as record_fields
from datetime import datetime
from typing import Any

import strawberry

from federation.access.errors import ForbiddenError, UserInputError
from federation.access.policy import RoleAccess
from federation.model import TABLES
from federation.model.where import Compare
from federation.pipeline.store import Snapshot
from federation.workflow import Checkout, Maintenance
from federation.writes import Caller, WriteError, Written
from federation.writes.desk import Desk
from schema.authorize import authorize_action
from schema.auxiliary import CheckoutRecord, MaintenanceRecord
from schema.context import RequestContext
from schema.mutations import MutationError, caller_of, guard_of, record_forbidden, visible, visible_ids
from schema.scalars import Numeric, Timestamptz, Uuid

UNSET: Any = strawberry.UNSET
#: the most scans one bulk call takes
MAX_SCANS = 500


@strawberry.input(name="AssetRef", description="An asset named by exactly one of these.")
class AssetRef:
    id: Uuid | None = None
    asset_tag: str | None = None
    serial_number: str | None = None
    scan: str | None = strawberry.field(
        default=None,
        description="The raw text of a barcode or QR code: a tag, a serial, or a URL ending in one.",
    )


@strawberry.type(
    name="checkout_result", description="What happened to one scan of a bulk check-out or check-in."
)
class CheckoutResult:
    scan: str
    ok: bool
    asset_id: str | None = None
    checkout: CheckoutRecord | None = None
    code: str | None = None
    reason: str | None = None


def _record(loan: Checkout) -> CheckoutRecord:
    return CheckoutRecord(**{f.name: getattr(loan, f.name) for f in record_fields(loan)})


def _moved(ctx: RequestContext, snapshot_path: Any, snapshot_id: str | None) -> None:
    if snapshot_path is not None:
        ctx.snapshot = Snapshot(snapshot_id or "", snapshot_path)


def _found(ctx: RequestContext, desk: Desk, refs: list[dict[str, Any]]) -> list[str | WriteError]:
    """The asset each ref names, if the role sees it (one that it does not is as if absent)."""
    found = desk.find_many(ctx.snapshot, refs)
    seen = visible_ids(ctx, "assets", [f for f in found if isinstance(f, str)])
    out: list[str | WriteError] = []
    for ref, asset_id in zip(refs, found, strict=True):
        if isinstance(asset_id, str) and asset_id not in seen:
            shown = next((str(v) for v in ref.values() if v), asset_id)
            asset_id = WriteError("BAD_USER_INPUT", f"no asset has {shown!r}", asset=shown)
        out.append(asset_id)
    return out


def _find(ctx: RequestContext, desk: Desk, ref: dict[str, Any]) -> str:
    (asset_id,) = _found(ctx, desk, [ref])
    if isinstance(asset_id, WriteError):
        raise asset_id
    return asset_id


def _target(ctx: RequestContext, to_person: str | None, to_location: str | None) -> None:
    for table, value, name in (("people", to_person, "to_person"), ("locations", to_location, "to_location")):
        if value is not None and not visible(ctx, table, value):
            raise WriteError("BAD_USER_INPUT", f"{name}: no {table} row with id {value}", field=name)


def _door(ctx: RequestContext, action: str, root: str) -> None:
    """`authorize_action`; a FORBIDDEN refusal is kept in the change history too."""
    try:
        authorize_action(ctx, "assets", action, root)
    except ForbiddenError as exc:
        record_forbidden(ctx, "assets", [], [{}], exc.message)
        raise


def desk_fields(desk: Desk) -> Callable[[RoleAccess], dict[str, Any]]:
    """access → its check-out/check-in mutation fields (RoleSchemas.mutation_fields)."""

    def checkout_many(
        ctx: RequestContext,
        refs: list[dict[str, Any]],
        caller: Caller,
        to_person: str | None,
        to_location: str | None,
        expected_checkin: datetime | None,
        note: str | None,
    ) -> list[Checkout | WriteError]:
        def lend(asset_ids: list[str]) -> list[tuple[Checkout, Written] | WriteError]:
            return desk.checkout_many(
                ctx.snapshot, asset_ids, caller, to_person_id=to_person, to_location_id=to_location,
                expected_checkin=expected_checkin, note=note, guard=guard_of(ctx, TABLES["assets"]),
            )  # fmt: skip

        return _each(ctx, refs, lambda: _target(ctx, to_person, to_location), lend)

    def checkin_many(
        ctx: RequestContext,
        refs: list[dict[str, Any]],
        caller: Caller,
        to_location: str | None,
        condition: str | None,
        note: str | None,
    ) -> list[Checkout | WriteError]:
        def take_back(asset_ids: list[str]) -> list[tuple[Checkout, Written] | WriteError]:
            return desk.checkin_many(
                ctx.snapshot, asset_ids, caller, to_location_id=to_location, condition=condition, note=note,
                guard=guard_of(ctx, TABLES["assets"]),
            )  # fmt: skip

        return _each(ctx, refs, lambda: _target(ctx, None, to_location), take_back)

    def _each(
        ctx: RequestContext,
        refs: list[dict[str, Any]],
        target: Callable[[], None],
        act: Callable[[list[str]], list[tuple[Checkout, Written] | WriteError]],
    ) -> list[Checkout | WriteError]:
        """Each asset found (or why not), the target checked once, the desk's call on those
        found; the loan or the refusal per ref, in order. The snapshot moves to the one the
        writes made."""
        found = _found(ctx, desk, refs)
        ids = [f for f in found if isinstance(f, str)]
        try:
            target()
            done = iter(act(ids) if ids else [])
        except WriteError as exc:
            done = iter([exc] * len(ids))
        out: list[Checkout | WriteError] = []
        moved: Written | None = None
        for f in found:
            result = f if isinstance(f, WriteError) else next(done)
            if isinstance(result, WriteError):
                out.append(result)
                continue
            loan, moved = result
            out.append(loan)
        if moved is not None:
            _moved(ctx, moved.snapshot_path, moved.snapshot_id)
        return out

    def one(results: list[Checkout | WriteError]) -> Checkout:
        (result,) = results
        if isinstance(result, WriteError):
            raise MutationError(result)
        return result

    def bulk(
        scans: list[str], many: Callable[[list[dict[str, Any]]], list[Checkout | WriteError]]
    ) -> list[CheckoutResult]:
        if len(scans) > MAX_SCANS:
            raise UserInputError(f"at most {MAX_SCANS} scans per call (got {len(scans)})")
        out = []
        for scan, result in zip(scans, many([{"scan": scan} for scan in scans]), strict=True):
            if isinstance(result, WriteError):
                out.append(CheckoutResult(scan=scan, ok=False, code=result.code, reason=result.message))
            else:
                out.append(
                    CheckoutResult(scan=scan, ok=True, asset_id=result.asset_id, checkout=_record(result))
                )
        return out

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if access.allowed("checkout", "assets"):

            def checkout_asset(
                info: strawberry.Info,
                asset: AssetRef,
                to_person: Uuid | None = None,
                to_location: Uuid | None = None,
                expected_checkin: Timestamptz | None = None,
                note: str | None = None,
            ) -> CheckoutRecord:
                ctx: RequestContext = info.context
                _door(ctx, "checkout", info.path.key)
                loan = one(
                    checkout_many(
                        ctx, [vars(asset)], caller_of(ctx), to_person, to_location, expected_checkin, note
                    )
                )
                return _record(loan)

            def checkout_assets(
                info: strawberry.Info,
                scans: list[str],
                to_person: Uuid | None = None,
                to_location: Uuid | None = None,
                expected_checkin: Timestamptz | None = None,
                note: str | None = None,
            ) -> list[CheckoutResult]:
                ctx: RequestContext = info.context
                _door(ctx, "checkout", info.path.key)
                caller = caller_of(ctx)
                return bulk(
                    scans,
                    lambda refs: checkout_many(
                        ctx, refs, caller, to_person, to_location, expected_checkin, note
                    ),
                )

            out["checkout_asset"] = strawberry.field(
                resolver=checkout_asset,
                name="checkout_asset",
                description="Check an asset in stock out to a person or a location.",
            )
            out["checkout_assets"] = strawberry.field(
                resolver=checkout_assets,
                name="checkout_assets",
                description="Check out every scanned asset; the answer says, per scan, ok or why not.",
            )
        if access.allowed("checkin", "assets"):

            def checkin_asset(
                info: strawberry.Info,
                asset: AssetRef,
                to_location: Uuid | None = None,
                condition: str | None = None,
                note: str | None = None,
            ) -> CheckoutRecord:
                ctx: RequestContext = info.context
                _door(ctx, "checkin", info.path.key)
                loan = one(checkin_many(ctx, [vars(asset)], caller_of(ctx), to_location, condition, note))
                return _record(loan)

            def checkin_assets(
                info: strawberry.Info,
                scans: list[str],
                to_location: Uuid | None = None,
                condition: str | None = None,
                note: str | None = None,
            ) -> list[CheckoutResult]:
                ctx: RequestContext = info.context
                _door(ctx, "checkin", info.path.key)
                caller = caller_of(ctx)
                return bulk(scans, lambda refs: checkin_many(ctx, refs, caller, to_location, condition, note))

            out["checkin_asset"] = strawberry.field(
                resolver=checkin_asset,
                name="checkin_asset",
                description="Check a checked-out asset back in (to a location, in a condition).",
            )
            out["checkin_assets"] = strawberry.field(
                resolver=checkin_assets,
                name="checkin_assets",
                description="Check in every scanned asset; the answer says, per scan, ok or why not.",
            )
        if access.allowed("maintain", "assets"):
            out |= maintenance_fields()
        return out

    def maintenance_fields() -> dict[str, Any]:
        def log_maintenance(
            info: strawberry.Info,
            asset: AssetRef,
            kind: str,
            notes: str | None = None,
            cost: Numeric | None = None,
            started_at: Timestamptz | None = None,
            done_at: Timestamptz | None = None,
            ticket: str | None = None,
        ) -> MaintenanceRecord:
            ctx: RequestContext = info.context
            _door(ctx, "maintain", info.path.key)
            try:
                asset_id = _find(ctx, desk, vars(asset))
                record, written = desk.log_maintenance(
                    ctx.snapshot, asset_id, caller_of(ctx), kind=kind, notes=notes, cost=cost,
                    started_at=started_at, done_at=done_at, ticket=ticket,
                    guard=guard_of(ctx, TABLES["assets"]),
                )  # fmt: skip
            except WriteError as exc:
                raise MutationError(exc) from None
            if written is not None:
                _moved(ctx, written.snapshot_path, written.snapshot_id)
            return _maintenance(record)

        def close_maintenance(
            info: strawberry.Info,
            id: Uuid,
            done_at: Timestamptz | None = None,
            notes: str | None = None,
            cost: Numeric | None = None,
        ) -> MaintenanceRecord:
            ctx: RequestContext = info.context
            _door(ctx, "maintain", info.path.key)
            found = [m for ms in desk.store.maintenance_of(visible_assets(ctx, id)).values() for m in ms]
            if not any(m.id == id for m in found):
                raise UserInputError(f"no maintenance record {id} on an asset your role sees")
            try:
                record, written = desk.close_maintenance(
                    ctx.snapshot, id, caller_of(ctx), done_at=done_at, notes=notes, cost=cost,
                    guard=guard_of(ctx, TABLES["assets"]),
                )  # fmt: skip
            except WriteError as exc:
                raise MutationError(exc) from None
            if written is not None:
                _moved(ctx, written.snapshot_path, written.snapshot_id)
            return _maintenance(record)

        return {
            "log_maintenance": strawberry.field(
                resolver=log_maintenance,
                name="log_maintenance",
                description="Log a repair, upgrade or inspection; open (no done_at), it sets the asset "
                "in_repair at its source until closed.",
            ),
            "close_maintenance": strawberry.field(
                resolver=close_maintenance,
                name="close_maintenance",
                description="Close an open maintenance record: the asset gets its status back.",
            ),
        }

    def visible_assets(ctx: RequestContext, record_id: str) -> list[str]:
        """The asset of maintenance record `record_id`, if the role sees it (else none)."""
        rows = desk.store.query("maintenance", where=Compare("id", "_eq", record_id), limit=1)
        return [r.asset_id for r in rows if visible(ctx, "assets", r.asset_id)]

    return fields_for


def _maintenance(record: Maintenance) -> MaintenanceRecord:
    values = {f.name: getattr(record, f.name) for f in record_fields(record)}
    values["cost"] = float(values["cost"]) if values["cost"] is not None else None
    return MaintenanceRecord(**values)
