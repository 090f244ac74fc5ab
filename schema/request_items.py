"""What a request is for, read from the caller's snapshot: an asset the role sees, or a
catalog entry (category / manufacturer / model) of which the role sees at least one asset;
and the requester in `people` with their manager.

The item's facts (its cost, say) are read whatever the role may read, because a form's
conditions and approval thresholds depend on them; they decide which fields are asked and
which steps apply, and are never returned as such.
"""

from __future__ import annotations

from typing import Any

from federation.access.errors import UserInputError
from federation.workflow.forms import Item
from schema.authorize import require_access
from schema.context import RequestContext
from schema.mutations import visible
from schema.sql import Sql, quote
from schema.where_sql import scope

#: catalog entry keys, in the order a message names them
ENTRY_KEYS = ("category", "manufacturer", "model")
_FACTS = "category, manufacturer, model, cost, status"


def resolve_item(ctx: RequestContext, given: dict[str, Any]) -> tuple[Item, str | None]:
    """(the item, the asset id when one was named) for a `request_item` input."""
    given = {k: v for k, v in given.items() if v not in (None, "")}
    asset_id = given.pop("asset_id", None)
    if asset_id is not None:
        if given:
            raise UserInputError(
                "item: name an asset_id or a catalog entry (category, manufacturer, model), not both"
            )
        if not visible(ctx, "assets", str(asset_id)):
            raise UserInputError(f"item.asset_id: no asset {asset_id}", field="item.asset_id")
        rows = ctx.snapshot.query(f"SELECT {_FACTS} FROM assets WHERE id = ?", [str(asset_id)])
        facts = dict(zip(("category", "manufacturer", "model", "cost", "status"), rows[0], strict=True))
        return Item({"asset_id": str(asset_id)}, _plain(facts)), str(asset_id)
    if not given:
        raise UserInputError(
            "item: name an asset_id, or a catalog entry by category, manufacturer and/or model"
        )
    access = require_access(ctx, "item")
    for key in given:
        access.ensure_readable("assets", key)  # a role that cannot read `model` cannot search by it
    sql = Sql(ctx, dict(access.models))
    from_sql, condition = scope("assets", "t", sql)
    match = " AND ".join(f"lower(t.{quote(k)}) = lower({sql.bind(str(v))})" for k, v in given.items())
    _, seen = sql.run(f"SELECT 1 FROM {from_sql} WHERE ({condition}) AND {match} LIMIT 1")
    if not seen:
        shown = ", ".join(f"{k} {given[k]!r}" for k in ENTRY_KEYS if k in given)
        raise UserInputError(f"item: no asset with {shown} that you may request", field="item")
    where = " AND ".join(f"lower({quote(k)}) = lower(?)" for k in given)
    (cost,) = ctx.snapshot.query(
        f"SELECT max(cost) FROM assets WHERE {where}", [str(v) for v in given.values()]
    )[0]
    facts = {k: given.get(k) for k in ENTRY_KEYS} | {"cost": cost, "status": None}
    return Item({k: given[k] for k in ENTRY_KEYS if k in given}, _plain(facts)), None


def _plain(facts: dict[str, Any]) -> dict[str, Any]:
    """Numbers as floats (DuckDB gives Decimal), for conditions."""
    return {k: (float(v) if k == "cost" and v is not None else v) for k, v in facts.items()}


def requester(ctx: RequestContext, email: str) -> tuple[str | None, str | None]:
    """(the requester's person id, their manager's email) in the snapshot, or Nones."""
    rows = ctx.snapshot.query(
        "SELECT p.id, m.email FROM people AS p LEFT JOIN people AS m ON m.id = p.manager_id "
        "WHERE lower(p.email) = lower(?) ORDER BY p.id LIMIT 1",
        [email],
    )
    if not rows:
        return None, None
    person, manager = rows[0]
    return str(person), (str(manager).lower() if manager else None)
