"""The stages of a write call, each run once for all the call's entities.

    done = run(sources, snapshot, table, [Unit([(asset_id, {"status": "in_use"})]), …], keys)

A call holds one or more units; a unit is all or nothing (an `update_T` is one unit of all
its rows; a bulk check-out is one unit per scan, and one scan's refusal leaves the others
be). Every stage runs over all the units still standing before the next starts: one `load`
of the entities, one `fetch_many` per source, one `map_records` per source and set of
fields for the records as fetched and one for them as read back. Only the writes themselves
go record by record (each conditional at its source), unit by unit: a source that refuses
one has that unit's earlier writes undone (`undo`), and the other units go on.

A unit refused at any stage keeps its error (`Unit.error`, said `about` the entity and
columns it concerns, as a unit of one entity would say it alone) and takes no further part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.base import Connector, SourceError, StreamConfig, WriteRefused
from federation.config.settings import Config
from federation.model import Table
from federation.pipeline.patches import Patch
from federation.pipeline.store import Snapshot
from federation.writes.errors import Code, WriteError
from federation.writes.references import Keys, changed, reference_of
from federation.writes.routing import Holding, Route, field_of, load, route
from federation.writes.values import UnreadableRecord, map_records, same
from transforms.context import TransformContext
from transforms.reverse import NotReversible, to_source

#: WriteRefused.kind → the error code the caller sees
_CODES: dict[str, Code] = {
    "invalid": "BAD_USER_INPUT",
    "forbidden": "FORBIDDEN",
    "not_found": "CONFLICT",
    "conflict": "CONFLICT",
}


class Sources(Protocol):
    """What the stages need of the writer (writer.py)."""

    config: Config
    ctx: TransformContext

    def connector(self, source: str) -> Connector: ...

    def can_write(self, source: str, entity: str, name: str) -> str | None: ...


@dataclass
class Step:
    """The write of one record at one source."""

    holding: Holding
    route: Route
    stream: StreamConfig
    #: column → new value (model form); the mapped fields' values (a reference's key, not
    #: its id); and the raw columns they become at the source
    columns: dict[str, Any]
    unified: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    #: the record as fetched before writing (raw), and what the write read back
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] | None = None
    #: columns sent with the value the caller's snapshot shows: written only where the
    #: source no longer holds it (then it is a CONFLICT, as for any other column)
    unchanged: set[str] = field(default_factory=set)
    #: what the fetch found: the record, None (gone), or the source's failure
    fetched: dict[str, Any] | SourceError | None = None


@dataclass
class Unit:
    """Writes that stand or fall together: (entity id, column → model value) each."""

    writes: list[tuple[str, Mapping[str, Any]]]
    steps: list[Step] = field(default_factory=list)
    error: WriteError | None = None
    #: the holdings of its entities found in the snapshot (for the history of a refusal)
    holdings: dict[str, Holding] = field(default_factory=dict)
    patches: list[Patch] = field(default_factory=list)

    @property
    def entity_ids(self) -> list[str]:
        return [entity_id for entity_id, _ in self.writes]


def refusal(exc: SourceError, source: str, prefix: str, undone: str | None) -> WriteError:
    """A source's refusal (or absence) as the caller's error; `undone`: what was rolled back."""
    code: Code = _CODES[exc.kind] if isinstance(exc, WriteRefused) else "SOURCE_UNAVAILABLE"
    extra: dict[str, Any] = {"source": source}
    if isinstance(exc, WriteRefused) and exc.fields:
        extra["fields"] = exc.fields
    verb = "refused the write" if isinstance(exc, WriteRefused) else "could not be written"
    message = f"{prefix}source `{source}` {verb}: {exc}"
    if undone:
        message += "; " + undone
    return WriteError(code, message, **extra)


def run(sources: Sources, snapshot: Snapshot, table: Table, units: Sequence[Unit], keys: Keys) -> None:
    """Plan, fetch, check, write and read back every unit; each ends with its `steps` (those
    that wrote something, with their patches in `patches`) or its `error`."""
    columns = list(dict.fromkeys(c for u in units for _, values in u.writes for c in values))
    ids = list(dict.fromkeys(i for u in units for i in u.entity_ids))
    holdings = load(snapshot, table.name, ids, columns)
    for unit in units:
        unit.holdings = {i: holdings[i] for i in unit.entity_ids if i in holdings}
        _stage(unit, lambda u: _plan(sources, keys, table, u, holdings))
    _fetch(sources, table, [u for u in units if u.error is None])
    mapped = _mapped(sources, table, [s for u in units if u.error is None for s in u.steps], "fetched")
    memo: dict[tuple[Any, ...], dict[str, Any] | Exception] = {}
    for unit in units:
        _stage(unit, lambda u: _check(sources, keys, table, u, mapped, memo))
    for unit in units:
        _stage(unit, lambda u: _apply(sources, table, u))
    live = [s for u in units if u.error is None for s in u.steps]
    read_back = _mapped(sources, table, live, "after")
    for unit in units:
        if unit.error is None:
            unit.patches = [_patch(keys, table, step, read_back.get(id(step))) for step in unit.steps]


def _stage(unit: Unit, stage: Any) -> None:
    if unit.error is None:
        try:
            stage(unit)
        except WriteError as exc:
            unit.error = exc


# ----------------------------------------------------------------------------- plan
def _plan(sources: Sources, keys: Keys, table: Table, unit: Unit, holdings: Mapping[str, Holding]) -> None:
    for entity_id, values in unit.writes:
        holding = holdings.get(entity_id)
        if holding is None:
            raise WriteError("CONFLICT", f"{table.name} {entity_id} is no longer in the graph").about(
                entity_id
            )
        holding.final(table.name)
        try:
            unit.steps += _steps(sources, keys, table, holding, values)
        except WriteError as exc:
            raise exc.about(entity_id) from None


def _steps(
    sources: Sources, keys: Keys, table: Table, holding: Holding, values: Mapping[str, Any]
) -> list[Step]:
    by_route: dict[Route, dict[str, Any]] = {}
    held: dict[Route, set[str]] = {}
    types = {c.name: c.type for c in table.columns}
    for column, value in values.items():
        # the value the snapshot shows (clients send whole records): written only if the
        # source no longer holds it; where no writable source owns it, nothing to ask
        unchanged = same(value, holding.row.get(column), types[column])
        try:
            target = route(sources.config, table, holding, column, sources.can_write)
        except WriteError:
            if unchanged:
                continue
            raise
        by_route.setdefault(target, {})[column] = value
        if unchanged:
            held.setdefault(target, set()).add(column)
    steps = []
    for target, columns in by_route.items():
        stream = sources.config.source(target.source).entities[table.name]
        unified = {field_of(table, c): _unified(keys, table, c, v) for c, v in columns.items()}
        steps.append(Step(holding, target, stream, columns, unified, unchanged=held.get(target, set())))
    return steps


def _unified(keys: Keys, table: Table, column: str, value: Any) -> Any:
    """A column's value as the mapping's field takes it: a reference's key, not its id."""
    ref = reference_of(table, column)
    if ref is None or value is None:
        return value
    key = keys.key(ref, value)
    if key is None:
        raise WriteError("BAD_USER_INPUT", f"`{column}`: no {ref.target} with id {value}", field=column)
    return key


# ----------------------------------------------------------------------------- fetch and check
def _fetch(sources: Sources, table: Table, units: Sequence[Unit]) -> None:
    """Every step's record, one `fetch_many` per source."""
    by_source: dict[str, list[Step]] = {}
    for unit in units:
        for step in unit.steps:
            by_source.setdefault(step.route.source, []).append(step)
    for source, steps in by_source.items():
        try:
            found = sources.connector(source).fetch_many(table.name, [s.route.record_id for s in steps])
        except SourceError as exc:
            for step in steps:
                step.fetched = exc
            continue
        for step in steps:
            step.fetched = found.get(step.route.record_id)


def _mapped(
    sources: Sources, table: Table, steps: Sequence[Step], which: str
) -> dict[int, dict[str, Any] | UnreadableRecord]:
    """id(step) → its record (`fetched` or `after`) mapped forward (the fields it writes),
    one `map_records` per source and set of fields."""
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[Step, dict[str, Any]]]] = {}
    for step in steps:
        record = getattr(step, which)
        if isinstance(record, dict) and record:
            groups.setdefault((step.route.source, tuple(sorted(step.unified))), []).append((step, record))
    out: dict[int, dict[str, Any] | UnreadableRecord] = {}
    for (source, fields), members in groups.items():
        stream = members[0][0].stream
        results = map_records(
            [r for _, r in members], table.name, stream, sources.ctx, source=source, fields=fields
        )
        out |= {id(step): result for (step, _), result in zip(members, results, strict=True)}
    return out


def _check(
    sources: Sources,
    keys: Keys,
    table: Table,
    unit: Unit,
    mapped: Mapping[int, dict[str, Any] | UnreadableRecord],
    memo: dict[tuple[Any, ...], dict[str, Any] | Exception],
) -> None:
    for step in unit.steps:
        try:
            _check_step(sources, keys, table, step, mapped.get(id(step)), memo)
        except WriteError as exc:
            raise exc.about(step.holding.entity_id, step.columns) from None
    unit.steps = [s for s in unit.steps if s.columns]  # all held already at the source


def _check_step(
    sources: Sources,
    keys: Keys,
    table: Table,
    step: Step,
    now: dict[str, Any] | UnreadableRecord | None,
    memo: dict[tuple[Any, ...], dict[str, Any] | Exception],
) -> None:
    """Refuse with CONFLICT where the record no longer holds what the caller saw."""
    source, record_id = step.route.source, step.route.record_id
    if isinstance(step.fetched, SourceError):
        raise WriteError("SOURCE_UNAVAILABLE", f"source `{source}`: {step.fetched}", source=source)
    if step.fetched is None:
        raise WriteError(
            "CONFLICT",
            f"record {record_id} of source `{source}` is gone since the graph was published",
            source=source,
            record_id=record_id,
        )
    step.before = step.fetched
    if isinstance(now, UnreadableRecord) or now is None:
        raise WriteError(
            "CONFLICT", f"record {record_id} of source `{source}` now reads as invalid: {now}", source=source
        )
    for column in step.columns:
        differs = changed(keys, table, column, step.holding.row.get(column), now)
        if differs is not None:
            seen, held = differs
            raise WriteError(
                "CONFLICT",
                f"`{column}` changed at source `{source}` since the graph you read was published: "
                f"you saw {seen!r}, it now holds {held!r}; read it again and retry",
                field=column,
                seen=seen,
                current=held,
                source=source,
            )
    for column in step.unchanged:  # the source holds what the caller sends: nothing to write
        step.columns.pop(column, None)
        step.unified.pop(field_of(table, column), None)
    if not step.columns:
        return
    raw = _to_source(sources, table, step, memo)
    if isinstance(raw, NotReversible):
        raise WriteError("BAD_USER_INPUT", str(raw), field=raw.field, source=source)
    if isinstance(raw, Exception):
        raise WriteError("BAD_USER_INPUT", f"source `{source}`: {raw}", source=source)
    step.raw = dict(raw)


def _to_source(
    sources: Sources, table: Table, step: Step, memo: dict[tuple[Any, ...], dict[str, Any] | Exception]
) -> dict[str, Any] | Exception:
    """`to_source` of the step's values, once per distinct input in the call: its result
    depends on the values and, of the record held, only on the cells the fields written
    read (a vocabulary's current word, a currency column)."""
    read: list[str] = []
    for name in step.unified:
        mapping = step.stream.fields.get(name) or step.stream.fields.get(name.removesuffix("_currency"))
        if mapping is not None:
            read += [*mapping.value_columns, *([mapping.currency_column] if mapping.currency_column else [])]
    held = tuple((c, repr(step.before.get(c))) for c in sorted(set(read)))
    key = (step.route.source, json.dumps(step.unified, sort_keys=True, default=repr), held)
    if key not in memo:
        try:
            memo[key] = to_source(step.stream, table.name, step.unified, sources.ctx, current=step.before)
        except (NotReversible, ValueError) as exc:
            memo[key] = exc
    return memo[key]


# ----------------------------------------------------------------------------- write
def _apply(sources: Sources, table: Table, unit: Unit) -> None:
    done: list[Step] = []
    for step in unit.steps:
        source = step.route.source
        expected = {c: step.before.get(c) for c in step.raw}
        try:
            step.after = sources.connector(source).update(
                table.name, step.route.record_id, step.raw, expected
            )
        except (WriteRefused, SourceError) as exc:
            error = refusal(exc, source, "", undo(sources, table, done) if done else None)
            raise error.about(step.holding.entity_id, step.columns) from None
        done.append(step)


def undo(sources: Sources, table: Table, done: list[Step]) -> str:
    """Write back what the earlier sources held; say what was undone (or could not be)."""
    failed = []
    for step in reversed(done):
        old = {c: step.before.get(c) for c in step.raw}
        try:
            sources.connector(step.route.source).update(table.name, step.route.record_id, old, None)
        except SourceError as exc:
            failed.append(f"`{step.route.source}` ({exc})")
    names = ", ".join(f"`{s.route.source}`" for s in done)
    if failed:
        return f"the write to {names} could NOT be undone at {', '.join(failed)}: check those records"
    return f"the write already made to {names} was undone"


# ----------------------------------------------------------------------------- after the write
def _patch(keys: Keys, table: Table, step: Step, now: dict[str, Any] | UnreadableRecord | None) -> Patch:
    """The step's columns as the source read them back (what the graph now serves)."""
    back = now if isinstance(now, dict) else {}
    values: dict[str, Any] = {}
    for column, sent in step.columns.items():
        ref = reference_of(table, column)
        if ref is None:
            values[column] = back.get(column, sent)
            continue
        key = back.get(f"{ref.name}_key")
        sent_key = keys.key(ref, sent) if sent is not None else None
        if key is None or (sent_key or "").casefold() == key.casefold():
            values[column] = sent if key is not None else None
        else:
            values[column] = keys.id(ref, key)
    step.columns = values
    source = step.route.source
    return Patch(Patch.now(), source, table.name, step.holding.entity_id, step.route.record_id, values)
