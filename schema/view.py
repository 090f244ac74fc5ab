"""A role's view of the model: which tables are exposed and which of their fields it may read.

`build_schema` makes one per schema; the types, inputs, planners and loaders all ask it, so
a field that is not visible appears nowhere (types, filters, ordering, select columns,
aggregates, search, provenance and conflicts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from federation.model import Relation, Table

#: root fields over auxiliary tables, visible under these names in `visible`
AUX_ROOTS = ("sources", "quarantine", "ambiguities", "quality", "quality_summary")


@dataclass(frozen=True)
class View:
    tables: Mapping[str, Table]
    #: exposed table (or aux root) → names of the fields it may read
    fields: Mapping[str, frozenset[str]]
    aggregations: Mapping[str, bool]

    @classmethod
    def make(
        cls,
        tables: Mapping[str, Table],
        visible: Mapping[str, set[str]] | None,
        allow_aggregations: Mapping[str, bool] | None,
    ) -> View:
        every: dict[str, frozenset[str]] = {name: frozenset(t.field_names) for name, t in tables.items()}
        if visible is None:
            fields = dict(every)
            fields.update({root: frozenset({"*"}) for root in AUX_ROOTS})
        else:
            fields = {}
            for name, names in visible.items():
                if name in every:
                    unknown = set(names) - every[name]
                    if unknown:
                        raise ValueError(
                            f"visible[{name!r}]: unknown fields {sorted(unknown)}; expected "
                            f"some of {sorted(every[name])}"
                        )
                    if names:
                        fields[name] = frozenset(names) | {"id"}
                elif name in AUX_ROOTS:
                    fields[name] = frozenset({"*"})
                else:
                    raise ValueError(f"visible: unknown table {name!r}")
        if allow_aggregations is None:
            aggregations = {name: True for name in tables}
        else:
            aggregations = {name: bool(allow_aggregations.get(name, False)) for name in tables}
        return cls(tables, fields, aggregations)

    def exposed(self, table: str) -> bool:
        return table in self.tables and table in self.fields

    def can_read(self, table: str, name: str) -> bool:
        return name in self.fields.get(table, ())

    def columns(self, table: str) -> list[str]:
        return [c for c in self.tables[table].column_names if self.can_read(table, c)]

    def relations(self, table: str) -> list[Relation]:
        return [
            r for r in self.tables[table].relations if self.can_read(table, r.name) and self.exposed(r.target)
        ]

    def aggregates(self, table: str) -> bool:
        return self.aggregations.get(table, False)

    def search(self, table: str) -> tuple[list[str], list[tuple[Relation, list[str]]]] | None:
        """Columns and related columns `search:` looks in, or None if the table has none."""
        model = self.tables[table]
        if not model.search:
            return None
        columns = [c for c in model.search if self.can_read(table, c)]
        related = []
        wanted = dict(model.search_related)
        for relation in self.relations(table):
            if relation.name in wanted:
                related.append(
                    (relation, [c for c in wanted[relation.name] if self.can_read(relation.target, c)])
                )
        return columns, related
