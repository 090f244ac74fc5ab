"""The service desk's check-out and check-in: a scan in, the asset's status and holder
written to the sources that own them, the loan kept in the gateway's own store.

    desk = Desk(writer)
    asset_id = desk.find(snapshot, {"scan": "https://assets.example.com/hardware/A-00042"})
    loan = desk.checkout(snapshot, asset_id, caller, to_person_id=person_id)

Rules: only an `in_stock` asset is checked out, to one person or one location, never to a
person whose employment is `terminated`; only a checked-out asset is checked in. The loan is
opened first (the store allows one open loan per asset: of two desks checking out one asset,
one gets CONFLICT there), then the source is written, conditional on it still holding the
status the desk saw; a refused write takes the loan back, so none is left behind. A `guard`
(schema/mutations.py `guard_of`) refuses first what the caller's role may not write: a
check-out that would move the asset out of the role's own filter, as `update` refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from federation.model.where import Compare
from federation.pipeline.store import Snapshot
from federation.workflow import Checkout, Maintenance, WorkflowConflict, WorkflowError
from federation.workflow.ticketing import Ticketing
from federation.workflow.tickets import maintenance_order
from federation.writes.errors import WriteError
from federation.writes.history import Caller
from federation.writes.scans import find_assets
from federation.writes.writer import Writer, Written

#: (asset id, the values the desk would write) → raises WriteError where the caller may not
#: write them (schema/mutations.py: a row may not leave the role's own filter)
Guard = Callable[[str, Mapping[str, Any]], None]


def _guarded(guard: Guard | None, asset_id: str, values: Mapping[str, Any]) -> None:
    if guard is not None:
        guard(asset_id, values)


class Desk:
    def __init__(self, writer: Writer, ticketing: Ticketing | None = None) -> None:
        self.writer = writer
        if writer.workflow is None:
            raise ValueError("check-out and check-in need the workflow store")
        self.store = writer.workflow
        #: opens a ServiceNow ticket for each repair it opens (config `tickets:`), when set
        self.ticketing = ticketing

    # ------------------------------------------------------------------ finding the asset
    def find(self, snapshot: Snapshot, ref: Mapping[str, Any]) -> str:
        """The id of the asset an `AssetRef` names: exactly one of `id`, `asset_tag`,
        `serial_number`, `scan` (a scan also matches a source's own record id, as Snipe-IT's
        QR codes carry)."""
        (found,) = self.find_many(snapshot, [ref])
        if isinstance(found, WriteError):
            raise found
        return found

    def find_many(self, snapshot: Snapshot, refs: Sequence[Mapping[str, Any]]) -> list[str | WriteError]:
        """`find` of each ref: its asset id, or why not (scans.py)."""
        return find_assets(snapshot, refs)

    # ------------------------------------------------------------------ check-out / in
    def checkout(
        self, snapshot: Snapshot, asset_id: str, caller: Caller, **how: Any
    ) -> tuple[Checkout, Written]:
        """One asset checked out (`checkout_many` of one; its refusal raised)."""
        (done,) = self.checkout_many(snapshot, [asset_id], caller, **how)
        if isinstance(done, WriteError):
            raise done
        return done

    def checkout_many(
        self,
        snapshot: Snapshot,
        asset_ids: Sequence[str],
        caller: Caller,
        *,
        to_person_id: str | None = None,
        to_location_id: str | None = None,
        expected_checkin: datetime | None = None,
        note: str | None = None,
        guard: Guard | None = None,
    ) -> list[tuple[Checkout, Written] | WriteError]:
        """Check each asset out, each on its own: the answer per asset is its loan and write,
        or why not. The source writes go in one call of the writer (one snapshot)."""
        values: dict[str, Any] = {"status": "in_use"}
        if to_person_id is not None:
            values["assigned_to_id"] = to_person_id
        else:
            values["location_id"] = to_location_id
        facts = self._assets(snapshot, asset_ids)
        held = self.store.open_checkouts(list(dict.fromkeys(asset_ids)))
        target = _Once(
            lambda: (
                self._person_may_receive(snapshot, to_person_id)
                if to_person_id is not None
                else self._location(snapshot, to_location_id or "")
            )
        )

        def lend(asset_id: str) -> Checkout:
            if (to_person_id is None) == (to_location_id is None):
                raise WriteError(
                    "BAD_USER_INPUT", "check out to one person (to_person) or one location (to_location)"
                )
            tag, status = _fact(facts, asset_id)
            if status != "in_stock":
                raise WriteError(
                    "BAD_USER_INPUT",
                    f"asset {tag or asset_id} is {status or 'of unknown status'}: only an asset in stock "
                    "can be checked out",
                    asset=tag or asset_id,
                    status=status,
                )
            target()
            _guarded(guard, asset_id, values)
            out = held.get(asset_id)
            if out is not None:
                raise WriteError(
                    "CONFLICT",
                    f"asset {tag or asset_id} is already checked out "
                    f"(since {out.checked_out_at:%Y-%m-%d %H:%M} UTC)",
                    asset=tag or asset_id,
                )
            # the loan first: the store holds one open loan per asset, so of two desks checking
            # out one asset one gets CONFLICT here; the source write (conditional on the source
            # still holding `in_stock`) follows, and a refused one takes the loan back
            try:
                loan = self.store.open_checkout(
                    asset_id, actor=caller.actor, to_person_id=to_person_id, to_location_id=to_location_id,
                    expected_checkin=expected_checkin, note=note, asset_tag=tag,
                )  # fmt: skip
            except WorkflowError as exc:
                raise _refusal(exc) from None
            held[asset_id] = loan
            return loan

        return self._loans(snapshot, asset_ids, caller, lend, lambda _: values, "asset.checked_out")

    def checkin(
        self, snapshot: Snapshot, asset_id: str, caller: Caller, **how: Any
    ) -> tuple[Checkout, Written]:
        """One asset checked in (`checkin_many` of one; its refusal raised)."""
        (done,) = self.checkin_many(snapshot, [asset_id], caller, **how)
        if isinstance(done, WriteError):
            raise done
        return done

    def checkin_many(
        self,
        snapshot: Snapshot,
        asset_ids: Sequence[str],
        caller: Caller,
        *,
        to_location_id: str | None = None,
        condition: str | None = None,
        note: str | None = None,
        guard: Guard | None = None,
    ) -> list[tuple[Checkout, Written] | WriteError]:
        """Check each asset in, each on its own (as `checkout_many`)."""
        facts = self._assets(snapshot, asset_ids)
        held: dict[str, Checkout | None] = dict(self.store.open_checkouts(list(dict.fromkeys(asset_ids))))
        place = _Once(
            lambda: self._location(snapshot, to_location_id) if to_location_id is not None else None
        )

        def values_of(loan: Checkout) -> dict[str, Any]:
            values: dict[str, Any] = {"status": "in_stock"}
            if loan.to_person_id is not None:  # lent to a location: no holder to clear
                values["assigned_to_id"] = None
            if to_location_id is not None:
                values["location_id"] = to_location_id
            return values

        def take_back(asset_id: str) -> Checkout:
            tag, _ = _fact(facts, asset_id)
            place()
            current = held.get(asset_id)
            if current is None:
                raise WriteError(
                    "BAD_USER_INPUT",
                    f"asset {tag or asset_id} is not checked out: nothing to check in",
                    asset=tag,
                )
            _guarded(guard, asset_id, values_of(current))
            try:
                loan = self.store.close_checkout(
                    asset_id,
                    actor=caller.actor,
                    to_location_id=to_location_id,
                    condition=condition,
                    note=note,
                )
            except WorkflowError as exc:
                raise _refusal(exc) from None
            held[asset_id] = None
            return loan

        return self._loans(snapshot, asset_ids, caller, take_back, values_of, "asset.checked_in")

    def _loans(
        self,
        snapshot: Snapshot,
        asset_ids: Sequence[str],
        caller: Caller,
        act: Callable[[str], Checkout],
        values_of: Callable[[Checkout], Mapping[str, Any]],
        event: str,
    ) -> list[tuple[Checkout, Written] | WriteError]:
        """`act` on each asset in the loans store (open or close its loan: WriteError where it
        may not), then the source writes of those it took, in one call of the writer; a loan
        whose write is refused is taken back (discarded, or reopened), the others announced."""
        out: list[tuple[Checkout, Written] | WriteError | None] = [None] * len(asset_ids)
        taken: dict[int, Checkout] = {}
        for i, asset_id in enumerate(asset_ids):
            try:
                taken[i] = act(asset_id)
            except WriteError as exc:
                out[i] = exc
        back = self.store.discard_checkout if event == "asset.checked_out" else self.store.reopen_checkout
        try:
            writes = [[(loan.asset_id, values_of(loan))] for loan in taken.values()]
            written = self.writer.each(snapshot, "assets", writes, caller) if writes else []
        except BaseException:
            for loan in taken.values():
                back(loan.id)
            raise
        events = []
        for (i, loan), done in zip(taken.items(), written, strict=True):
            if isinstance(done, WriteError):
                back(loan.id)
                out[i] = done
            else:
                events.append(_loan_event(loan, caller))
                out[i] = (loan, done)
        self.store.emit_many(event, events)
        return [o for o in out if o is not None]

    # ------------------------------------------------------------------ maintenance
    def log_maintenance(
        self,
        snapshot: Snapshot,
        asset_id: str,
        caller: Caller,
        *,
        kind: str,
        notes: str | None = None,
        cost: float | None = None,
        started_at: datetime | None = None,
        done_at: datetime | None = None,
        ticket: str | None = None,
        guard: Guard | None = None,
    ) -> tuple[Maintenance, Written | None]:
        """Log a repair, upgrade or inspection. Without `done_at` the record is open and the
        asset goes `in_repair` at its owning source (its status kept to give back on close);
        with `done_at` it is history only and nothing else changes."""
        tag, status = self._asset(snapshot, asset_id)
        opening = done_at is None
        if opening:
            found = self.store.maintenance_of([asset_id]).get(asset_id, [])
            if any(m.status == "open" for m in found):
                message = f"asset {tag or asset_id} already has open maintenance; close it first"
                raise WriteError("CONFLICT", message, asset=tag or asset_id)
            if status != "in_repair":
                _guarded(guard, asset_id, {"status": "in_repair"})
        # the record first (the store validates it: a blank kind, a negative cost), then the
        # source; a refused source write takes the record back
        try:
            record = self.store.log_maintenance(
                asset_id, kind=kind, actor=caller.actor, notes=notes, cost=cost, started_at=started_at,
                done_at=done_at, ticket=ticket, previous_status=status if opening else None,
            )  # fmt: skip
        except WorkflowError as exc:
            raise _refusal(exc) from None
        written = None
        if opening and status != "in_repair":
            try:
                written = self.writer.update(snapshot, "assets", [asset_id], {"status": "in_repair"}, caller)
            except BaseException:
                self.store.discard_maintenance(record.id)
                raise
        if opening and ticket is None:
            record = self._ticket(record, tag)
        if opening:
            self.store.emit("maintenance.opened", _maintenance_event(record, caller))
        return record, written

    def _ticket(self, record: Maintenance, tag: str | None) -> Maintenance:
        """Queue the ServiceNow ticket of a repair just opened and make the first attempt (a
        ServiceNow that is down leaves it pending, tried again later); the record as it now is."""
        if self.ticketing is None or not self.ticketing.tickets.opens_for("maintenance"):
            return record
        self.store.queue_ticket(
            "maintenance", record.id, maintenance_order(self.ticketing.tickets, record, tag)
        )
        self.ticketing.open_now("maintenance", record.id)
        found = self.store.query("maintenance", where=Compare("id", "_eq", record.id), limit=1)
        return found[0] if found else record

    def close_maintenance(
        self,
        snapshot: Snapshot,
        record_id: str,
        caller: Caller,
        *,
        done_at: datetime | None = None,
        notes: str | None = None,
        cost: float | None = None,
        guard: Guard | None = None,
    ) -> tuple[Maintenance, Written | None]:
        """Close an open record; the asset gets back the status it had when it was opened
        (unless someone changed it meanwhile: then it is left as it is)."""
        try:
            records = self.store.query("maintenance", where=Compare("id", "_eq", record_id), limit=1)
        except WorkflowError as exc:
            raise _refusal(exc) from None
        if not records:
            raise WriteError("BAD_USER_INPUT", f"no maintenance record {record_id}")
        opened = records[0]
        # the status back first: if the source refuses, the record stays open to try again
        written = None
        if opened.status == "open":
            _, status = self._asset(snapshot, opened.asset_id)
            if status == "in_repair" and opened.previous_status and opened.previous_status != "in_repair":
                values = {"status": opened.previous_status}
                _guarded(guard, opened.asset_id, values)
                written = self.writer.update(snapshot, "assets", [opened.asset_id], values, caller)
        try:
            record = self.store.close_maintenance(
                record_id, actor=caller.actor, done_at=done_at, notes=notes, cost=cost
            )
        except WorkflowError as exc:
            raise _refusal(exc) from None
        if opened.status == "open":
            self.store.emit("maintenance.closed", _maintenance_event(record, caller))
        return record, written

    # ------------------------------------------------------------------ facts
    @staticmethod
    def _assets(snapshot: Snapshot, asset_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """id → (asset tag, status), for those the snapshot holds."""
        rows = snapshot.query(
            "SELECT id, asset_tag, status FROM assets WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [list(dict.fromkeys(asset_ids))],
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    @staticmethod
    def _asset(snapshot: Snapshot, asset_id: str) -> tuple[str | None, str | None]:
        rows = snapshot.query("SELECT asset_tag, status FROM assets WHERE id = ?", [asset_id])
        if not rows:
            raise WriteError("BAD_USER_INPUT", f"no asset with id {asset_id}", asset=asset_id)
        return rows[0][0], rows[0][1]

    @staticmethod
    def _person_may_receive(snapshot: Snapshot, person_id: str) -> None:
        rows = snapshot.query("SELECT email, employment_status FROM people WHERE id = ?", [person_id])
        if not rows:
            raise WriteError("BAD_USER_INPUT", f"to_person: no person with id {person_id}", field="to_person")
        email, employment = rows[0]
        if employment == "terminated":
            raise WriteError(
                "BAD_USER_INPUT",
                f"{email or person_id} has left (employment_status terminated): they cannot receive an asset",
                field="to_person",
            )

    @staticmethod
    def _location(snapshot: Snapshot, location_id: str) -> None:
        if not snapshot.query("SELECT 1 FROM locations WHERE id = ?", [location_id]):
            raise WriteError(
                "BAD_USER_INPUT", f"to_location: no location with id {location_id}", field="to_location"
            )


def _fact(facts: Mapping[str, tuple[str | None, str | None]], asset_id: str) -> tuple[str | None, str | None]:
    if asset_id not in facts:
        raise WriteError("BAD_USER_INPUT", f"no asset with id {asset_id}", asset=asset_id)
    return facts[asset_id]


class _Once:
    """A check asked of every item of a bulk but run once: its error, if any, given to each."""

    def __init__(self, check: Callable[[], object]) -> None:
        self.check = check
        self.done = False
        self.error: WriteError | None = None

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            try:
                self.check()
            except WriteError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error


def _refusal(exc: WorkflowError) -> WriteError:
    return WriteError("CONFLICT" if isinstance(exc, WorkflowConflict) else "BAD_USER_INPUT", str(exc))


def _loan_event(loan: Checkout, caller: Caller) -> dict[str, Any]:
    """A check-out or check-in as its webhook event carries it."""
    keys = ("id", "asset_id", "asset_tag", "to_person_id", "to_location_id", "checked_out_at",
            "expected_checkin", "checked_in_at", "checkin_location_id", "condition")  # fmt: skip
    return {**{key: getattr(loan, key) for key in keys}, "actor": caller.actor, "role": caller.role}


def _maintenance_event(record: Maintenance, caller: Caller) -> dict[str, Any]:
    keys = ("id", "asset_id", "kind", "notes", "cost", "started_at", "done_at", "ticket", "status",
            "ticket_status")  # fmt: skip
    return {**{key: getattr(record, key) for key in keys}, "actor": caller.actor, "role": caller.role}
