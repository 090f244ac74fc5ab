"""The requestable catalog: one root field per role that holds a catalog grant.

    catalog(category: String, where: catalog_bool_exp, order_by: [catalog_order_by!],
            limit: Int, offset: Int): [catalog_entry!]!

An entry is a model (category, manufacturer, model) of which the role sees at least one
asset in its catalog (config `roles.R.catalog`: the categories, the price band), with its
availability: `in_stock` (the entry's assets in stock), `expected_returns` (open check-outs
of them with an expected check-in) and `next_return` (the earliest of those dates); with
`prices`, `price_min` / `price_max`; and `assets`, the entry's assets with the columns the
grant lists. Every count is over the assets the role sees (its `assets` row filter, through
`scope()`), within the catalog's categories and band: a row the role cannot see is not
counted.

One DuckDB statement answers the field: the open loans (from the workflow store) go in as
two bound lists, joined to the scoped assets, grouped per model, filtered, sorted and paged
there. The door is `authorize_catalog`; it refuses a query naming a price or an asset field
the grant does not show (FORBIDDEN), as the role's schema, which leaves them out, does.

No `from __future__ import annotations` here: the types are built at run time.
"""

from typing import Any

import orjson
import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import CatalogAccess
from federation.model import Column, Table
from federation.model.where import And, Compare, Node, WhereError, walk
from federation.model.where import parse as parse_where
from federation.workflow import WorkflowStore
from schema.authorize import CATALOG_PRICES, authorize_catalog
from schema.compile import Limits, json_value
from schema.context import RequestContext
from schema.inputs import COLUMN_SCALARS, ORDER_SQL, TableInputs
from schema.ordering import enum_value
from schema.selection import Selected, root_selection
from schema.sql import Sql, quote
from schema.where_sql import compile_where, scope

UNSET: Any = strawberry.UNSET

CATALOG = Table(
    name="catalog",
    description="A model the role may request, with its availability.",
    columns=(
        Column("category", "string", "The model's category.", mapped=False),
        Column("manufacturer", "string", mapped=False),
        Column("model", "string", mapped=False),
        Column("in_stock", "int", "Assets of this model in stock.", mapped=False),
        Column("expected_returns", "int", "Open check-outs of this model with an expected check-in.", False),
        Column("next_return", "timestamptz", "The earliest expected check-in of those.", mapped=False),
        Column("price_min", "numeric", "The lowest cost of its assets (base currency).", mapped=False),
        Column("price_max", "numeric", "The highest cost of its assets (base currency).", mapped=False),
    ),
    sort_keys=("category", "manufacturer", "model"),
)
_MODELS = {"catalog": CATALOG}
_ASSETS_ORDER = "CASE WHEN s.status = 'in_stock' THEN 0 ELSE 1 END, s.asset_tag NULLS LAST, s.id"


def entry_columns(grant: CatalogAccess) -> list[str]:
    return [c for c in CATALOG.column_names if grant.prices or c not in CATALOG_PRICES]


def _type(name: str, description: str, fields: dict[str, tuple[Any, str]]) -> Any:
    cls = type(name, (), {"__annotations__": {}})
    for field, (type_, text) in fields.items():
        cls.__annotations__[field] = type_
        setattr(cls, field, strawberry.field(name=field, description=text or None))
    return strawberry.type(cls, name=name, description=description)


def _types(grant: CatalogAccess, assets: Table) -> Any:
    """The role's `catalog_asset` and `catalog_entry` types: only what the grant shows."""
    asset_fields = {"id": (str, "")}
    for column in assets.columns:
        if column.name in grant.columns and column.name != "id":
            asset_fields[column.name] = (COLUMN_SCALARS[column.type][1] | None, column.description)
    asset = _type("catalog_asset", "An asset of a catalog entry, as the role sees it.", asset_fields)
    fields: dict[str, tuple[Any, str]] = {}
    for name in entry_columns(grant):
        column = CATALOG.column(name)
        required = name in ("in_stock", "expected_returns")
        scalar = COLUMN_SCALARS[column.type][1]
        fields[name] = (scalar if required else scalar | None, column.description)
    fields["assets"] = (list[asset], "The entry's assets you may see, those in stock first.")
    return _type("catalog_entry", CATALOG.description, fields)


def _named(sel: Selected, where: Node | None, order: list[tuple[str, str]]) -> set[str]:
    """Every catalog field the query names: selected, filtered on, sorted on."""
    out: set[str] = set()
    for field in sel.fields:
        if field.name.startswith("__"):
            continue
        out.add(field.name)
        if field.name == "assets":
            out |= {f"assets.{f.name}" for f in field.fields if not f.name.startswith("__")}
    if where is not None:
        out |= {item.column for _, item in walk(where, "catalog") if isinstance(item, Compare)}
    return out | {column for column, _ in order}


def _order(order_by: Any) -> list[tuple[str, str]]:
    out = []
    for item in order_by or []:
        for column, direction in (item or {}).items():
            if direction is not None:
                out.append((column, ORDER_SQL[enum_value(direction)]))
    return out


def _loans(store: WorkflowStore) -> tuple[list[str], list[str]]:
    """(asset ids, expected check-ins in ISO 8601) of the open loans due back."""
    due = And((Compare("checked_in_at", "_is_null", True), Compare("expected_checkin", "_is_null", False)))
    loans = store.query("checkouts", where=due, order_by=[("id", "asc")])
    return [str(loan.asset_id) for loan in loans], [loan.expected_checkin.isoformat() for loan in loans]


def compile_catalog(
    ctx: RequestContext,
    grant: CatalogAccess,
    sel: Selected,
    where: Node | None,
    order: list[tuple[str, str]],
    limits: Limits,
    loans: tuple[list[str], list[str]],
) -> tuple[str, dict[str, Any]]:
    """The statement answering `catalog`, and its parameters."""
    access = ctx.access
    assert access is not None  # the door passed
    sql = Sql(ctx, dict(access.models))
    from_sql, visible = scope("assets", "t", sql)
    conds = [f"({visible})", "t.model IS NOT NULL"]
    if grant.categories is not None:
        conds.append(f"lower(t.category) IN (SELECT unnest({sql.bind(sorted(grant.categories))}::VARCHAR[]))")
    if grant.price_min is not None:
        conds.append(f"t.cost >= {sql.bind(grant.price_min)}")
    if grant.price_max is not None:
        conds.append(f"t.cost <= {sql.bind(grant.price_max)}")
    if sel.args.get("category"):
        conds.append(f"lower(t.category) = lower({sql.bind(sel.args['category'])})")
    assets = access.models["assets"]
    listed = [c for c in assets.column_names if c in grant.columns]
    struct = ", ".join(f"{quote(c)} := {json_value(assets.column(c).type, f's.{quote(c)}')}" for c in listed)
    # the assets are listed only when asked for
    wanted = any(f.name == "assets" for f in sel.fields)
    listing = f"list(struct_pack({struct}) ORDER BY {_ASSETS_ORDER})" if wanted else "NULL"
    ids, dues = loans
    entry_sql = compile_where(where, CATALOG, "e", sql)
    terms = [f"e.{quote(c)} {direction}" for c, direction in order]
    terms += ["e.category NULLS LAST", "e.manufacturer NULLS LAST", "e.model"]
    page = f" LIMIT {int(limits.fetch)}" if limits.fetch is not None else ""
    page += f" OFFSET {int(limits.offset)}" if limits.offset else ""
    text = f"""
WITH loans AS (
    SELECT unnest({sql.bind(ids)}::VARCHAR[]) AS asset_id,
           CAST(unnest({sql.bind(dues)}::VARCHAR[]) AS TIMESTAMPTZ) AS due
), s AS (
    SELECT t.*, l.due FROM {from_sql} LEFT JOIN loans AS l ON l.asset_id = CAST(t.id AS VARCHAR)
    WHERE {" AND ".join(conds)}
), e AS (
    SELECT s.category, s.manufacturer, s.model,
           count(DISTINCT s.id) FILTER (WHERE s.status = 'in_stock') AS in_stock,
           count(s.due) AS expected_returns,
           min(s.due) AS next_return,
           min(s.cost) AS price_min, max(s.cost) AS price_max,
           {listing} AS assets
    FROM s GROUP BY s.category, s.manufacturer, s.model
)
SELECT e.category, e.manufacturer, e.model, e.in_stock, e.expected_returns,
       {json_value("timestamptz", "e.next_return")}, CAST(e.price_min AS DOUBLE),
       CAST(e.price_max AS DOUBLE), to_json(e.assets)::VARCHAR
FROM e WHERE {entry_sql} ORDER BY {", ".join(terms)}{page}"""
    return text, sql.params


def catalog_field(store: WorkflowStore, grant: CatalogAccess, assets: Table) -> dict[str, Any]:
    """{"catalog": field} for a role holding `grant`, for RoleSchemas.root_fields."""
    entry = _types(grant, assets)
    inputs = TableInputs(CATALOG, entry_columns(grant))
    inputs.fill(object_relations={}, filter_relations={})
    bool_exp, order_by = inputs.bool_exp, inputs.order_by

    def resolve(
        info: strawberry.Info,
        category: str | None = UNSET,
        where: bool_exp | None = UNSET,
        order_by: list[order_by] | None = UNSET,
        limit: int | None = UNSET,
        offset: int | None = UNSET,
    ) -> list[entry]:
        ctx: RequestContext = info.context
        sel = root_selection(info)
        try:
            exp = sel.args.get("where")
            node = parse_where(exp, "catalog", tables=_MODELS) if exp else None
        except WhereError as exc:
            raise UserInputError("; ".join(exc.problems)) from None
        order = _order(sel.args.get("order_by"))
        access = authorize_catalog(ctx, info.path.key, _named(sel, node, order))
        grant_now = access.catalog
        assert grant_now is not None
        limits = Limits(ctx, sel.args, default=ctx.server.default_limit)
        text, params = compile_catalog(ctx, grant_now, sel, node, order, limits, _loans(store))
        rows = ctx.snapshot.cursor().execute(text, params).fetchall()
        ctx.cacheable = False  # the loans live in the workflow store
        if limits.cut and limits.limit is not None and len(rows) > limits.limit:
            rows = rows[: limits.limit]
            ctx.warn("RESULT_TRUNCATED", limits.message(ctx, info.path.key), field=info.path.key)
        names = ["category", "manufacturer", "model", "in_stock", "expected_returns", "next_return",
                 "price_min", "price_max"]  # fmt: skip
        out = []
        for row in rows:
            item = dict(zip(names, row[:8], strict=True))
            item["assets"] = orjson.loads(row[8]) if row[8] else []
            ctx.rows += 1 + len(item["assets"])
            out.append({k: v for k, v in item.items() if k not in CATALOG_PRICES or grant_now.prices})
        return out  # type: ignore[return-value]

    return {
        "catalog": strawberry.field(
            resolver=resolve,
            name="catalog",
            description="What you may request: models with their availability and the assets you see.",
        )
    }
