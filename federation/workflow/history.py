"""The change history: every mutation, accepted or refused, one row per field; and the
queries over any workflow table (`where`, `order_by`, `limit`, `offset`).

Functions take an open connection so a caller can put several in one transaction (the
maintenance record and the history rows it causes, say); WorkflowStore wraps each in its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from federation.model.where import Node
from federation.workflow.filters import order_by_to_sqlalchemy, where_to_sqlalchemy
from federation.workflow.records import (
    Change,
    WorkflowError,
    jsonable,
    optional_uuid,
    require_text,
    require_utc,
    require_uuid,
)
from federation.workflow.tables import CHANGES, OUTCOMES, TABLES

#: the newest first, as auditors read a log
DEFAULT_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "changes": (("at", "desc"), ("id", "desc")),
    "checkouts": (("checked_out_at", "desc"),),
    "maintenance": (("started_at", "desc"),),
    "requests": (("submitted_at", "desc"), ("id", "asc")),
}


def _valid(change: Change, index: int) -> dict[str, Any]:
    where = f"changes[{index}]"
    for name in ("entity", "entity_id", "field", "actor", "role"):
        require_text(f"{where}.{name}", getattr(change, name), required=True)
    for name in ("source", "record_id", "reason", "request_id"):
        require_text(f"{where}.{name}", getattr(change, name))
    if change.outcome not in OUTCOMES:
        raise WorkflowError(f"{where}.outcome: {change.outcome!r}; expected one of {', '.join(OUTCOMES)}")
    if change.outcome != "accepted" and not change.reason:
        raise WorkflowError(f"{where}.reason: a {change.outcome} change needs the reason")
    try:
        before, after = jsonable(change.before), jsonable(change.after)
    except TypeError as exc:
        raise WorkflowError(f"{where}: {exc}") from None
    row = {
        name: getattr(change, name)
        for name in (c.name for c in CHANGES.columns)
        if name not in ("id", "at", "before", "after")
    }
    return row | {
        "entity_id": require_uuid(f"{where}.entity_id", change.entity_id),
        "request_id": optional_uuid(f"{where}.request_id", change.request_id),
        "before": before,
        "after": after,
    }


def record_changes(
    conn: sa.Connection, changes: Iterable[Change], *, at: datetime | None = None
) -> list[Change]:
    """Store `changes` (all or none); they share one time, `at` (default: now, UTC) unless a
    change carries its own. Returns them with `id` and `at` set."""
    now = require_utc("at", at) or datetime.now(UTC)
    given = list(changes)
    rows = [
        _valid(change, i) | {"at": require_utc(f"changes[{i}].at", change.at) or now}
        for i, change in enumerate(given)
    ]
    if not rows:
        return []
    # ids matched to rows by position: SQLAlchemy batches the INSERT where the database returns
    # ids in row order (PostgreSQL: one statement) and sends it row by row where not (SQLite)
    inserted = conn.execute(CHANGES.insert().returning(CHANGES.c.id, sort_by_parameter_order=True), rows)
    return [
        replace(
            change,
            id=new_id,
            at=row["at"],
            entity_id=row["entity_id"],
            request_id=row["request_id"],
            before=row["before"],
            after=row["after"],
        )
        for change, row, new_id in zip(given, rows, inserted.scalars(), strict=True)
    ]


def select_rows(
    table: str,
    *,
    where: Node | None = None,
    order_by: Sequence[tuple[str, str]] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> sa.Select[Any]:
    """The statement for a list query over a workflow table."""
    if table not in TABLES:
        raise WorkflowError(f"unknown workflow table {table!r}; expected one of {', '.join(TABLES)}")
    if limit is not None and limit < 0:
        raise WorkflowError(f"limit: expected 0 or more, got {limit}")
    if offset < 0:
        raise WorkflowError(f"offset: expected 0 or more, got {offset}")
    t = TABLES[table]
    order = DEFAULT_ORDER[table] if order_by is None else order_by
    stmt = sa.select(t).where(where_to_sqlalchemy(where, t)).order_by(*order_by_to_sqlalchemy(order, t))
    return stmt.limit(limit).offset(offset) if limit is not None else stmt.offset(offset)


def count_rows(table: str, *, where: Node | None = None) -> sa.Select[Any]:
    t = TABLES[table]
    return sa.select(sa.func.count()).select_from(t).where(where_to_sqlalchemy(where, t))


def history_of(
    conn: sa.Connection, entity: str, entity_ids: Sequence[str], *, limit: int | None = None
) -> dict[str, list[Change]]:
    """The changes of each object, newest first (one statement for all of them); `limit`
    keeps that many per object."""
    try:
        ids = sorted({str(UUID(i)) for i in entity_ids})
    except (TypeError, ValueError):
        raise WorkflowError(f"{entity} ids: expected UUIDs, got {list(entity_ids)[:5]!r}") from None
    out: dict[str, list[Change]] = {i: [] for i in ids}
    if not ids:
        return out
    condition = sa.and_(CHANGES.c.entity == entity, CHANGES.c.entity_id.in_(ids))
    if limit is None:
        stmt = sa.select(CHANGES).where(condition).order_by(CHANGES.c.entity_id, *_newest(CHANGES))
    else:
        rank = sa.func.row_number().over(partition_by=CHANGES.c.entity_id, order_by=_newest(CHANGES))
        ranked = sa.select(CHANGES, rank.label("rank")).where(condition).subquery()
        stmt = (
            sa.select(*(ranked.c[c.name] for c in CHANGES.columns))
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.entity_id, *_newest(ranked))
        )
    for row in conn.execute(stmt):
        out[row.entity_id].append(Change.from_row(row))
    return out


def _newest(t: sa.Table | sa.Subquery) -> tuple[sa.UnaryExpression[Any], ...]:
    return (t.c.at.desc(), t.c.id.desc())
