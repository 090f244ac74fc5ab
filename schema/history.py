"""`history` and `maintenance` on an asset, filled in after the statement ran.

Both live in the gateway's own SQL store, not in the snapshot, so the compiled statement
leaves `[id]` where each object's list goes (schema/compile.py); this module walks the root
field's JSON along the selection, reads the rows of every id found in one query per kind,
and puts them in place, newest first. The object itself is one the role sees, or it would
not be in the answer; of its history the role sees the changes of fields it may read.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson

from federation.model import Table
from schema.context import RequestContext
from schema.selection import Selected
from schema.view import View

#: the most history rows shown per object
MAX_ROWS = 100


def selects_history(view: View, table: Table, sel: Selected, *, aggregate: bool = False) -> bool:
    return any(True for _ in _root_slots(view, table, sel, None, aggregate))


#: the object fields filled from the workflow store
FILLED = ("history", "maintenance")


def fill_history(
    ctx: RequestContext, view: View, table: Table, sel: Selected, text: str, *, aggregate: bool = False
) -> str:
    """The root field's JSON `text` with every `history` filled in (`aggregate`: the root
    field is `T_aggregate`, whose `nodes` hold the objects)."""
    value = orjson.loads(text)
    slots = list(_root_slots(view, table, sel, value, aggregate))
    if not slots:
        return text
    ctx.cacheable = False  # the workflow store changes without a new snapshot
    store = ctx.writer.workflow if ctx.writer is not None else None
    wanted: dict[tuple[str, str], set[str]] = {}
    for owner, obj, key, field in slots:
        placeholder = obj.get(key) or []
        obj[key] = placeholder
        if placeholder and isinstance(placeholder[0], str):
            wanted.setdefault((field.name, owner.name), set()).add(placeholder[0])
    found: dict[tuple[str, str, str], list[Any]] = {}
    if store is not None:
        for (kind, name), ids in wanted.items():
            if kind == "history":
                rows = store.history_of(name, sorted(ids), limit=MAX_ROWS)
            else:
                rows = {k: sorted(v, key=lambda m: m.started_at, reverse=True)[:MAX_ROWS]
                        for k, v in store.maintenance_of(sorted(ids)).items()}  # fmt: skip
            for entity_id, items in rows.items():
                found[(kind, name, entity_id)] = items
    for owner, obj, key, field in slots:
        placeholder = obj[key]
        entity_id = placeholder[0] if placeholder and isinstance(placeholder[0], str) else None
        items = found.get((field.name, owner.name, entity_id or ""), [])
        if field.name == "history":
            items = [r for r in items if _readable(ctx, owner.name, r.field)]
        obj[key] = [_row(r, field) for r in items]
        ctx.rows += len(items)
    return orjson.dumps(value).decode()


def _readable(ctx: RequestContext, table: str, field: str) -> bool:
    access = ctx.access
    return access is not None and access.can_read(table, field) and access.json_keys(table, field) is None


def _row(change: Any, field: Selected) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub in field.fields:
        if sub.name == "__typename":
            out[sub.key] = sub.type_name
        else:
            value = getattr(change, sub.name)
            if hasattr(value, "isoformat"):
                value = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, Decimal):
                value = float(value)
            out[sub.key] = value
    return out


def _root_slots(
    view: View, table: Table, sel: Selected, value: Any, aggregate: bool
) -> Iterator[tuple[Table, dict[str, Any], str, Selected]]:
    if not aggregate:
        yield from _slots(view, table, sel.fields, value)
        return
    for part in sel.fields:
        if part.name == "nodes":
            nodes = value.get(part.key) if isinstance(value, dict) else None
            if value is None or nodes is not None:
                yield from _slots(view, table, part.fields, nodes)


def _slots(
    view: View, table: Table, fields: list[Selected], value: Any
) -> Iterator[tuple[Table, dict[str, Any], str, Selected]]:
    """(table, object, response key, selection) of every `history` below `fields`; with
    `value` None, only whether there is one (objects are then not walked)."""
    objects = value if isinstance(value, list) else [value]
    relations = {r.name: r for r in table.relations}
    for sel in fields:
        if sel.name in FILLED and sel.name in table.extras:
            if value is None:
                yield table, {}, sel.key, sel
                continue
            for obj in objects:
                if isinstance(obj, dict):
                    yield table, obj, sel.key, sel
        elif sel.name in relations:
            target = view.tables[relations[sel.name].target]
            children = (
                [obj.get(sel.key) for obj in objects if isinstance(obj, dict)]
                if value is not None
                else [None]
            )
            for child in children:
                if value is None or child is not None:
                    yield from _slots(view, target, sel.fields, child)
        elif sel.name.endswith("_aggregate") and sel.name.removesuffix("_aggregate") in relations:
            target = view.tables[relations[sel.name.removesuffix("_aggregate")].target]
            for part in sel.fields:
                if part.name != "nodes":
                    continue
                nodes = [(obj.get(sel.key) or {}).get(part.key) for obj in objects if isinstance(obj, dict)]
                for child in nodes if value is not None else [None]:
                    if value is None or child is not None:
                        yield from _slots(view, target, part.fields, child)
