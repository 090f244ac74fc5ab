"""The `roles:` section compiled into one `RoleAccess` per role (schema/policy.py).

Inheritance is a union: a role reads every field any of its ancestors reads, the rows any of
them sees (filters ORed; a type granted without a filter is granted whole), aggregates where
any of them may, and holds every action and root capability they hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from federation.config.roles import CAPABILITIES, RoleConfig, json_key_grant, variable_attribute
from federation.model import TABLES, Table
from schema.policy import RoleAccess, TableAccess, all_fields

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
            name: TableAccess(fields=all_fields(t), aggregations=True, actions=frozenset({"*"}))
            for name, t in tables.items()
        },
        capabilities=frozenset(CAPABILITIES),
        models=tables,
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


def _variables(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_variables(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_variables(v) for v in node)) if node else set()
    name = variable_attribute(node)
    return {name} if name else set()


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
                fields |= all_fields(model)
                continue
            for entry in p.columns:
                grant = json_key_grant(entry)
                if grant is None:
                    fields.add(entry)
                else:
                    keys.setdefault(grant[0], set()).add(grant[1])
        json_keys = {c: frozenset(k) for c, k in keys.items() if c not in fields}
        fields |= set(json_keys)
        filters = [p.filter for p in policies]
        row_filter: dict[str, Any] | None
        if any(f is None for f in filters):
            row_filter = None
        elif len(filters) == 1:
            row_filter = filters[0]
        else:
            row_filter = {"_or": filters}
        variables |= _variables(row_filter)
        access[table] = TableAccess(
            fields=frozenset(fields),
            json_keys=json_keys,
            filter=row_filter,
            aggregations=any(p.allow_aggregations for p in policies),
            count_only=not any(p.allow_aggregations is True for p in policies),
            actions=frozenset(a for p in policies for a in p.actions),
        )
    capabilities = frozenset(c for c in CAPABILITIES for config in configs if getattr(config, c))
    return RoleAccess(
        role=name,
        tables=access,
        capabilities=capabilities,
        variables=frozenset(variables),
        models=tables,
    )


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
