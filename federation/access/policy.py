"""The `roles:` section compiled into one `RoleAccess` per role: what each role may read and do.

Inheritance is a union: a role reads every field any of its ancestors reads, the rows any of
them sees (filters ORed; a type granted without a filter is granted whole), aggregates where
any of them may, and holds every action and root capability they hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from federation.access.errors import ForbiddenError
from federation.access.variables import freeze, substitute
from federation.config.roles import CAPABILITIES, CATALOG_COLUMNS, CatalogPolicy, RoleConfig, json_key_grant
from federation.model import TABLES, Table
from federation.model.where import FALSE, Node, disjoin, variables_of
from federation.model.where import parse as parse_where


@dataclass(frozen=True)
class TableAccess:
    #: readable columns, relations and extras (`id` always)
    fields: frozenset[str]
    #: JSON columns readable key by key (`attributes.ram_gb` grants): column → its readable
    #: top-level keys. A column not here is read whole (if it is in `fields`)
    json_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: row filter (the `where` tree, with actor variables); None: every row
    filter: Node | None = None
    aggregations: bool = False
    #: aggregations limited to counts (no sum/avg/min/max, no group_by)
    count_only: bool = False
    actions: frozenset[str] = frozenset()
    #: `update` / `insert` → the columns it may set (a to-one relation named in config
    #: stands for its id column: `location` → `location_id`)
    write_columns: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogAccess:
    """What a role's `catalog` shows: the categories (None: all), the price band, whether
    prices show, and the asset columns listed under an entry (`id` always)."""

    categories: frozenset[str] | None = None
    price_min: float | None = None
    price_max: float | None = None
    prices: bool = False
    columns: frozenset[str] = frozenset({"id"})


def compile_catalog(grants: list[CatalogPolicy]) -> CatalogAccess | None:
    """The union of a role's catalog grants (its own and inherited): every category any of
    them lists, the widest band, prices if any shows them."""
    if not grants:
        return None
    categories: set[str] | None = set()
    for grant in grants:
        if grant.categories == "*" or categories is None:
            categories = None
        else:
            categories |= {c.lower() for c in grant.categories}
    bands = [g.price for g in grants]
    lows = [b.min if b is not None else None for b in bands]
    highs = [b.max if b is not None else None for b in bands]
    return CatalogAccess(
        categories=frozenset(categories) if categories is not None else None,
        price_min=None if None in lows else min(lows),  # type: ignore[type-var]
        price_max=None if None in highs else max(highs),  # type: ignore[type-var]
        prices=any(g.prices for g in grants),
        columns=frozenset({"id", *(c for g in grants for c in g.columns)}),
    )


@dataclass(frozen=True)
class RoleAccess:
    role: str
    tables: Mapping[str, TableAccess]
    capabilities: frozenset[str] = frozenset()
    #: actor attributes the role's filters read (part of the result cache key)
    variables: frozenset[str] = frozenset()
    models: Mapping[str, Table] = field(default_factory=lambda: TABLES)
    #: the requestable catalog; None: no `catalog` field
    catalog: CatalogAccess | None = None

    # ------------------------------------------------------------------ questions
    def allowed(self, action: str, table: str | None = None, field: str | None = None) -> bool:
        """`read` a type or one of its fields, `aggregate` a type, a capability (`quarantine`,
        `access_log`…), or an action on a type (`checkout`…)."""
        if table is None:
            return action in self.capabilities
        access = self.tables.get(table)
        if access is None:
            return False
        if action == "read":
            return field is None or field in access.fields
        if action == "aggregate":
            return access.aggregations
        return action in access.actions or "*" in access.actions

    def writable_columns(self, table: str, action: str) -> frozenset[str]:
        """The columns `action` (`update`, `insert`) may set in `table`: none without it."""
        access = self.tables.get(table)
        if access is None or not ({action, "*"} & access.actions):
            return frozenset()
        if "*" in access.actions and action not in access.write_columns:
            return frozenset(c for c in access.fields if c in self.models[table].column_names)
        return access.write_columns.get(action, frozenset())

    def exposed(self, table: str) -> bool:
        return table in self.tables

    def can_read(self, table: str, field: str) -> bool:
        access = self.tables.get(table)
        return access is not None and field in access.fields

    def ensure_readable(self, table: str, field: str | None = None) -> None:
        if field is None and not self.exposed(table):
            raise ForbiddenError(
                f"type `{table}` is not readable by role `{self.role}`", type=table, role=self.role
            )
        if field is not None and not self.can_read(table, field):
            raise ForbiddenError(
                f"field `{field}` of `{table}` is not readable by role `{self.role}`",
                type=table,
                field=field,
                role=self.role,
            )

    # ------------------------------------------------------------------ JSON keys
    def json_keys(self, table: str, column: str) -> frozenset[str] | None:
        """The keys of JSON `column` the role may read; None: all of them (or not JSON)."""
        access = self.tables.get(table)
        return None if access is None else access.json_keys.get(column)

    def keyed_of(self, table: str) -> frozenset[str]:
        """JSON columns of `table` the role reads only key by key."""
        access = self.tables.get(table)
        return frozenset(access.json_keys) if access is not None else frozenset()

    def keyed_columns(self) -> dict[str, set[str]]:
        """table → its JSON columns readable only key by key (never sorted or grouped)."""
        return {t: set(a.json_keys) for t, a in self.tables.items() if a.json_keys}

    def ensure_json_key(self, table: str, column: str, key: Any) -> None:
        keys = self.json_keys(table, column)
        if keys is not None and key not in keys:
            name = f"{column}.{key}"
            raise ForbiddenError(
                f"field `{name}` of `{table}` is not readable by role `{self.role}`",
                type=table,
                field=name,
                role=self.role,
            )

    def ensure_whole(self, table: str, column: str) -> None:
        """Sorting, grouping, distinct_on and distinct counts use the whole JSON value, which
        would reveal keys the role may not read: refused when the role reads only some keys."""
        keys = self.json_keys(table, column)
        if keys is not None:
            raise ForbiddenError(
                f"field `{column}` of `{table}` is readable by role `{self.role}` only key by key "
                f"({', '.join(f'{column}.{k}' for k in sorted(keys))}): it cannot be sorted, "
                "grouped or used by distinct_on or count(columns:)",
                type=table,
                field=column,
                role=self.role,
            )

    def project(self, table: str, column: str, value: Any) -> Any:
        """`value` of JSON `column` with only the keys the role may read (a non-object: {})."""
        keys = self.json_keys(table, column)
        if keys is None or value is None:
            return value
        if isinstance(value, str):  # JSON text not decoded yet
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                return {}
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if k in keys}

    def ensure_aggregate(self, table: str) -> None:
        if not self.allowed("aggregate", table):
            raise ForbiddenError(
                f"aggregations over `{table}` are not allowed for role `{self.role}`",
                type=table,
                role=self.role,
            )

    # ------------------------------------------------------------------ schema
    def visible(self) -> dict[str, set[str]]:
        """`build_schema(visible=…)` for this role."""
        out: dict[str, set[str]] = {t: set(a.fields) for t, a in self.tables.items()}
        for capability in ("sources", "quarantine", "ambiguities"):
            if capability in self.capabilities:
                out[capability] = {"*"}
        if "quarantine" in self.capabilities:  # quality notes are about source records too
            out["quality"] = out["quality_summary"] = {"*"}
        return out

    def aggregations(self) -> dict[str, bool]:
        return {t: a.aggregations for t, a in self.tables.items()}

    def count_only(self) -> set[str]:
        return {t for t, a in self.tables.items() if a.aggregations and a.count_only}

    def ensure_statistics(self, table: str) -> None:
        """Sums, averages, extremes and groups need more than a count-only grant."""
        self.ensure_aggregate(table)
        if self.tables[table].count_only:
            raise ForbiddenError(
                f"only counts over `{table}` are allowed for role `{self.role}`", type=table, role=self.role
            )

    # ------------------------------------------------------------------ rows
    def row_filter(self, table: str, actor: Mapping[str, Any]) -> Node | None:
        """The table's filter with the actor's values: None (every row) or a tree (FALSE: no
        row — the table is not exposed, or the filter needs a value the actor lacks)."""
        access = self.tables.get(table)
        if access is None:
            return FALSE
        if access.filter is None:
            return None
        return substitute(access.filter, actor)

    def cache_key(self, actor: Mapping[str, Any]) -> tuple[Any, ...]:
        """What of the actor a result depends on: the role and the variables its filters read."""
        return (self.role, *((v, freeze(actor.get(v))) for v in sorted(self.variables)))


ADMIN = "admin"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Policy:
    roles: Mapping[str, RoleAccess]
    anonymous: str = ANONYMOUS

    def role(self, name: str) -> RoleAccess | None:
        return self.roles.get(name)


def unrestricted(role: str = ADMIN, tables: Mapping[str, Table] = TABLES) -> RoleAccess:
    return RoleAccess(
        role=role,
        tables={
            name: TableAccess(
                fields=frozenset(t.field_names),
                aggregations=True,
                actions=frozenset({"*"}),
            )
            for name, t in tables.items()
        },
        capabilities=frozenset(CAPABILITIES),
        models=tables,
        catalog=CatalogAccess(prices=True, columns=frozenset({"id", *CATALOG_COLUMNS})),
    )


def _ancestors(name: str, roles: Mapping[str, RoleConfig]) -> list[RoleConfig]:
    out: list[str] = []
    stack = [name]
    while stack:
        current = stack.pop()
        if current in out or current not in roles:
            continue
        out.append(current)
        stack.extend(roles[current].inherits)
    return [roles[n] for n in out]


def compile_role(
    name: str, roles: Mapping[str, RoleConfig], tables: Mapping[str, Table] = TABLES
) -> RoleAccess:
    configs = _ancestors(name, roles)
    grants: dict[str, list[Any]] = {}
    for config in configs:
        for table, policy in config.types.items():
            # "*": every type of the model, including ones added after the config was written
            for granted in tables if table == "*" else [table] if table in tables else []:
                grants.setdefault(granted, []).append(policy)
    access: dict[str, TableAccess] = {}
    variables: set[str] = set()
    for table, policies in grants.items():
        model = tables[table]
        fields: set[str] = {"id"}
        #: JSON column → keys granted one by one; a column also granted whole reads every key
        keys: dict[str, set[str]] = {}
        for p in policies:
            if p.columns == "*":
                fields |= set(model.field_names)
                continue
            for entry in p.columns:
                grant = json_key_grant(entry)
                if grant is None:
                    fields.add(entry)
                else:
                    keys.setdefault(grant[0], set()).add(grant[1])
        if not any(config.changes for config in configs):
            fields.discard("history")  # the change history needs the `changes` capability
        json_keys = {c: frozenset(k) for c, k in keys.items() if c not in fields}
        fields |= set(json_keys)
        filters = [p.filter for p in policies]
        row_filter: Node | None = None
        if all(f is not None for f in filters):
            row_filter = disjoin([parse_where(f, table, tables=tables, variables=True) for f in filters])
            variables |= variables_of(row_filter)
        access[table] = TableAccess(
            fields=frozenset(fields),
            json_keys=json_keys,
            filter=row_filter,
            aggregations=any(p.allow_aggregations for p in policies),
            count_only=not any(p.allow_aggregations is True for p in policies),
            actions=frozenset(a for p in policies for a in p.action_names()),
            write_columns=_write_columns(model, policies),
        )
    capabilities = frozenset(c for c in CAPABILITIES for config in configs if getattr(config, c))
    catalog = compile_catalog([c.catalog for c in configs if c.catalog is not None])
    if catalog is not None and "assets" in access:  # never more than the role reads of assets
        assets = access["assets"]
        catalog = CatalogAccess(
            categories=catalog.categories, price_min=catalog.price_min, price_max=catalog.price_max,
            prices=catalog.prices and "cost" in assets.fields, columns=catalog.columns & assets.fields,
        )  # fmt: skip
    return RoleAccess(
        role=name,
        tables=access,
        capabilities=capabilities,
        variables=frozenset(variables),
        models=tables,
        catalog=catalog if "assets" in access else None,
    )


def _write_columns(model: Table, policies: list[Any]) -> dict[str, frozenset[str]]:
    """update/insert → the columns the policies let it set: the named fields, else the
    policy's readable columns (a to-one relation stands for its id column; `id` and
    relations to many are never set)."""
    objects = {r.name: r.local for r in model.relations if r.kind == "object"}
    out: dict[str, set[str]] = {}
    for p in policies:
        for action in ("update", "insert"):
            if action not in p.action_names():
                continue
            named = p.action_columns(action)
            if named is None:
                named = list(model.field_names) if p.columns == "*" else list(p.columns)
            columns = {objects.get(c, c) for c in named}
            out.setdefault(action, set()).update(c for c in columns if c in model.column_names and c != "id")
    return {a: frozenset(c) for a, c in out.items()}


def compile_policy(
    roles: Mapping[str, RoleConfig] | None,
    *,
    anonymous: str = ANONYMOUS,
    tables: Mapping[str, Table] = TABLES,
) -> Policy:
    """Every role's access. Without a `roles:` section: `admin` reads everything and the
    anonymous role nothing."""
    if roles is None:
        compiled = {ADMIN: unrestricted(ADMIN, tables)}
    else:
        compiled = {name: compile_role(name, roles, tables) for name in roles}
    if anonymous not in compiled:
        compiled[anonymous] = RoleAccess(role=anonymous, tables={}, models=tables)
    return Policy(compiled, anonymous)
