"""Types and root fields over the auxiliary published tables: where each asset value came
from (`sources`, `provenance`, `conflicts` on `assets`), the sync state of each source
(`sources`), quarantined records (`quarantine`) and identity ambiguities (`ambiguities`)."""

from __future__ import annotations

from typing import Any

import orjson
import strawberry

from schema.authorize import authorize_capability
from schema.fetch import Limits
from schema.scalars import Jsonb, Timestamptz
from schema.sql import Sql
from schema.view import View
from schema.where_sql import scope


@strawberry.type(name="asset_source", description="A source record merged into the asset.")
class AssetSource:
    source: str
    record_id: str
    fetched_at: Timestamptz | None


@strawberry.type(name="asset_provenance", description="Which source gave a field its value.")
class AssetProvenance:
    field: str
    source: str
    record_id: str | None
    value: Jsonb | None
    fetched_at: Timestamptz | None


@strawberry.type(name="asset_conflict_value", description="One source's value of a field.")
class AssetConflictValue:
    source: str
    record_id: str | None
    value: Jsonb | None


@strawberry.type(name="asset_conflict", description="A field on which sources disagree.")
class AssetConflict:
    field: str
    values: list[AssetConflictValue]


@strawberry.type(name="source_status", description="Sync state of one configured source.")
class SourceStatus:
    name: str
    kind: str | None
    status: str | None
    last_sync_at: Timestamptz | None
    last_success_at: Timestamptz | None
    record_count: int | None
    stale: bool | None
    error: str | None


@strawberry.type(name="quarantine_record", description="A source record that was not loaded.")
class QuarantineRecord:
    source: str
    entity: str | None
    record_id: str | None
    reason: str | None
    raw: Jsonb | None
    quarantined_at: Timestamptz | None


@strawberry.type(name="ambiguity", description="A record that matched several entities.")
class Ambiguity:
    entity: str | None
    source: str | None
    record_id: str | None
    rule: str | None
    candidate_ids: list[str] | None
    reason: str | None


def _select(
    info: Any,
    view: View,
    table: str,
    columns: list[str],
    filters: dict[str, Any],
    order: str,
    limits: Limits | None = None,
    *,
    capability: str,
) -> list[dict[str, Any]]:
    ctx = info.context
    authorize_capability(ctx, info.path.key, capability)
    sql = Sql(ctx, view.tables)
    alias = sql.alias()
    from_sql, scope_sql = scope(table, alias, sql)
    conds = [scope_sql] + [
        f"{alias}.{column} = {sql.bind(value)}" for column, value in filters.items() if value is not None
    ]
    text = f"SELECT {', '.join(columns)} FROM {from_sql} WHERE {' AND '.join(conds)} ORDER BY {order}"
    if limits is not None:
        if limits.fetch is not None:
            text += f" LIMIT {int(limits.fetch)}"
        if limits.offset:
            text += f" OFFSET {int(limits.offset)}"
    names, found = sql.run(text)
    rows = [dict(zip(names, r, strict=True)) for r in found]
    if limits is not None and limits.cut and limits.limit is not None and len(rows) > limits.limit:
        del rows[limits.limit :]
        limits.warn(ctx, table)
    return rows


def root_fields(view: View) -> dict[str, Any]:
    """The auxiliary root fields this view may use, as strawberry fields."""
    fields: dict[str, Any] = {}

    if "sources" in view.fields:

        def sources(info: strawberry.Info) -> list[SourceStatus]:
            columns = [
                "name",
                "kind",
                "status",
                "last_sync_at",
                "last_success_at",
                "record_count",
                "stale",
                "error",
            ]
            return _select(info, view, "source_status", columns, {}, "name", capability="sources")  # type: ignore[return-value]

        fields["sources"] = strawberry.field(
            resolver=sources, name="sources", description="Sync state of every source."
        )

    if "quarantine" in view.fields:

        def quarantine(
            info: strawberry.Info,
            source: str | None = None,
            limit: int | None = None,
            offset: int | None = None,
        ) -> list[QuarantineRecord]:
            ctx = info.context
            limits = Limits(ctx, {"limit": limit, "offset": offset}, default=ctx.server.default_limit)
            columns = ["source", "entity", "record_id", "reason", "raw", "quarantined_at"]
            rows = _select(
                info,
                view,
                "quarantine",
                columns,
                {"source": source},
                "quarantined_at DESC, source, record_id",
                limits,
                capability="quarantine",
            )
            for row in rows:
                if isinstance(row["raw"], str):
                    row["raw"] = orjson.loads(row["raw"])
            return rows  # type: ignore[return-value]

        fields["quarantine"] = strawberry.field(
            resolver=quarantine, name="quarantine", description="Records that could not be loaded."
        )

    if "ambiguities" in view.fields:

        def ambiguities(
            info: strawberry.Info,
            entity: str | None = None,
            source: str | None = None,
            limit: int | None = None,
            offset: int | None = None,
        ) -> list[Ambiguity]:
            ctx = info.context
            limits = Limits(ctx, {"limit": limit, "offset": offset}, default=ctx.server.default_limit)
            columns = ["entity", "source", "record_id", "rule", "candidate_ids", "reason"]
            return _select(
                info,
                view,
                "ambiguities",
                columns,  # type: ignore[return-value]
                {"entity": entity, "source": source},
                "entity, source, record_id",
                limits,
                capability="ambiguities",
            )

        fields["ambiguities"] = strawberry.field(
            resolver=ambiguities,
            name="ambiguities",
            description="Records that matched more than one entity.",
        )
    return fields
