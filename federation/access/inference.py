"""What a role can work out from what it is granted: the warnings of `assetgraph validate`.

A role refused a field can still compute it when it reads something made from it:

- a field, or a key of a JSON column, filled from the same source column as a field the role
  may not read (`attributes: {columns: [Cost]}` beside `cost: Cost`);
- a field or key that the source mapping declares `derived_from` a hidden field: finance's
  `Depreciation` column is cost / 3, so `derived_from: {Depreciation: cost}`, and a role that
  reads `attributes.depreciation` but not `cost` gets `cost` back by multiplying;
- `provenance` (the source and record id behind each readable value) or `conflicts` (which
  sources hold a value) without `sources`: together they rebuild the asset's `sources`.

These are warnings, not errors: a policy may mean it. The fix is in the policy (grant the
field, or only the keys that reveal nothing) or in the mapping.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import SourceConfig
from federation.access.policy import Policy, RoleAccess
from federation.config.settings import Config
from federation.model import TABLES
from transforms.attributes import attribute_key

#: extras that name the sources and records behind an asset's values, and what they rebuild
SOURCE_REVEALING = {"provenance": "sources", "conflicts": "sources", "quality": "sources"}


def inference_warnings(config: Config, policy: Policy) -> list[str]:
    """One line per way a role can compute a field it may not read."""
    out: list[str] = []
    for name in sorted(policy.roles):
        access = policy.roles[name]
        for i, source in enumerate(config.sources):
            out += _derived(name, access, i, source)
        out += _source_revealing(name, access)
    return list(dict.fromkeys(out))


def _readable(access: RoleAccess, table: str, field: str, key: str | None = None) -> bool:
    if not access.can_read(table, field):
        return False
    keys = access.json_keys(table, field)
    return key is None or keys is None or key in keys


def _units(source: SourceConfig, entity: str) -> Iterator[tuple[str, str | None, str, list[str]]]:
    """(field, JSON key or None, source column, fields declared derived from it) for every
    column a mapping reads: the units a role may be granted."""
    model = TABLES[entity]
    for field, mapping in source.entities[entity].fields.items():
        json_object = field in model.column_names and model.column(field).type == "jsonb"
        derived = mapping.derived_from or {}
        for column in mapping.source_columns:
            key = attribute_key(column) if json_object and mapping.columns is not None else None
            yield field, key, column, derived.get(column, [])
        if mapping.currency_column:
            yield field, None, mapping.currency_column, derived.get(mapping.currency_column, [])


def _derived(role: str, access: RoleAccess, index: int, source: SourceConfig) -> list[str]:
    out = []
    for entity in source.entities:
        if entity not in TABLES or not access.exposed(entity):
            continue
        readable_anywhere = set(TABLES[entity].column_names) | {r.name for r in TABLES[entity].relations}
        units = list(_units(source, entity))
        fed_by: dict[str, set[str]] = {}
        for field, _, column, _ in units:
            fed_by.setdefault(column, set()).add(field)
        for field, key, column, declared in units:
            if not _readable(access, entity, field, key):
                continue
            hidden = sorted(
                f
                for f in (fed_by[column] - {field}) | set(declared)
                if f in readable_anywhere and not access.can_read(entity, f)
            )
            if not hidden:
                continue
            unit = f"{field}.{key}" if key else field
            how = "derives from" if set(hidden) <= set(declared) else "fills from the same column as"
            out.append(
                f"roles.{role}.types.{entity}: {role} reads {unit}, which source {source.name} "
                f"(sources[{index}], column {column!r}) {how} {', '.join(hidden)}, which {role} may not "
                f"read: it can work {'them' if len(hidden) > 1 else 'it'} out. Grant "
                f"{'only the keys it needs' if key else 'both or neither'}, or change the mapping"
            )
    return out


def _source_revealing(role: str, access: RoleAccess) -> list[str]:
    out = []
    for table, extras in ((name, t.extras) for name, t in TABLES.items() if t.extras):
        if not access.exposed(table):
            continue
        for extra in extras:
            rebuilt = SOURCE_REVEALING.get(extra)
            if rebuilt and access.can_read(table, extra) and not access.can_read(table, rebuilt):
                out.append(
                    f"roles.{role}.types.{table}: {role} reads {extra}, which names the source (and "
                    f"record) behind each value, but not {rebuilt}: from it {role} rebuilds {rebuilt}. "
                    f"Grant {rebuilt} too, or drop {extra}"
                )
    return out
