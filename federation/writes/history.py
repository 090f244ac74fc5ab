"""What the change history keeps of a write: who wrote, and for a refused one, each field's
own reason.

A mutation is all or nothing, so a refusal refuses every field of it; the history says why
on the field(s) the refusal concerns (the field that conflicted, the entity a source
refused) and, on every other field, that it was not written because that one was refused.
A refusal at the door (FORBIDDEN: an action or a field the role does not hold) is kept the
same way, with only what the caller sent: no value read from the graph or a source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from federation.model import TABLES
from federation.workflow import Change
from federation.writes.errors import WriteError
from federation.writes.routing import field_of

#: the entity id of a change that names no entity (an insert refused, a door's refusal)
NO_ENTITY = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Caller:
    """Who writes, for the change history."""

    actor: str
    role: str
    request_id: str | None = None


def _concerns(entity: str, error: WriteError, entity_id: str, column: str) -> str | None:
    """None when `error` is about this field of this entity, else why it was refused anyway."""
    if error.entity_id is not None and error.entity_id != entity_id:
        return f"not done: {entity} {error.entity_id} was refused ({error.code}) in the same mutation"
    if error.columns is not None:
        table = TABLES.get(entity)
        named = set(error.columns)
        if column not in named and (table is None or field_of(table, column) not in named):
            fields = ", ".join(f"`{c}`" for c in error.columns)
            return (
                f"not written: {fields} was refused ({error.code}) in the same mutation, which is "
                "all or nothing"
            )
    return None


def refused(
    entity: str,
    fields: Iterable[tuple[str, str, Any, Any]],
    caller: Caller,
    error: WriteError,
) -> list[Change]:
    """The changes of a refused mutation: (entity id, column, before, after) each, with its
    reason: the error's own where it concerns that field, else that another field was."""
    out = []
    for entity_id, column, before, after in fields:
        other = _concerns(entity, error, entity_id, column)
        conflict = error.code == "CONFLICT" and other is None
        out.append(
            Change(
                entity=entity,
                entity_id=entity_id or NO_ENTITY,
                field=column,
                before=before,
                after=after,
                outcome="conflict" if conflict else "refused",
                actor=caller.actor,
                role=caller.role,
                reason=other or f"{error.code}: {error.message}",
                source=error.extra.get("source") if other is None else None,
                request_id=caller.request_id,
            )
        )
    return out


def forbidden(
    entity: str,
    entity_ids: Iterable[str],
    values: Mapping[str, Any],
    caller: Caller,
    reason: str,
) -> list[Change]:
    """The changes of a mutation refused FORBIDDEN at the door: one per field asked (`id` for
    a delete or an action on no field), `after` what the caller sent, nothing read."""
    ids = list(entity_ids) or [NO_ENTITY]
    asked = dict(values) or {"id": None}
    return [
        Change(
            entity=entity,
            entity_id=entity_id,
            field=column,
            before=None,
            after=value,
            outcome="refused",
            actor=caller.actor,
            role=caller.role,
            reason=f"FORBIDDEN: {reason}",
            request_id=caller.request_id,
        )
        for entity_id in ids
        for column, value in asked.items()
    ]
