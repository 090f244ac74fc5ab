"""Filter and ordering inputs, Hasura style: `<scalar>_comparison_exp`, `order_by`,
`T_bool_exp`, `T_order_by`, `T_select_column`.

The comparison inputs and the `order_by` enum are built once (shared by every schema); the
per-table inputs are built per schema from the visible columns. Every input field defaults to
`strawberry.UNSET`. Resolvers do not read the strawberry objects: they read graphql-core's
coerced argument values (plain dicts keyed by GraphQL names, see `selection.py`).

No `from __future__ import annotations` here: the types are built at run time.
"""

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import strawberry

from federation.model import Table
from federation.model.where import OPERATORS
from schema.scalars import Date, Jsonb, Numeric, Timestamptz, Uuid

#: model column type → (comparison input prefix, python type of one value)
COLUMN_SCALARS: dict[str, tuple[str, Any]] = {
    "uuid": ("uuid", Uuid),
    "string": ("String", str),
    "int": ("Int", int),
    "numeric": ("numeric", Numeric),
    "boolean": ("Boolean", bool),
    "date": ("date", Date),
    "timestamptz": ("timestamptz", Timestamptz),
    "jsonb": ("jsonb", Jsonb),
    "string_list": ("String_array", list[str]),
}

_DESCRIPTIONS = {
    "_is_null": "true: the value is null; false: it is not",
    "_like": "SQL LIKE pattern (% any run, _ one character)",
    "_ilike": "case-insensitive LIKE",
    "_has_key": "the JSON object has this top-level key",
    "_contains": "contains all of these (JSON: the object contains this JSON)",
    "_contained_in": "every element is one of these",
}


def make_input(name: str, fields: Mapping[str, Any], description: str = "") -> type:
    """An input type whose fields are all optional and default to UNSET."""
    cls = type(name, (), {"__annotations__": {}})
    fill_input(cls, fields)
    return strawberry.input(cls, name=name, description=description or None)


def fill_input(cls: type, fields: Mapping[str, Any]) -> None:
    for field_name, type_ in fields.items():
        cls.__annotations__[field_name] = type_ | None
        setattr(
            cls,
            field_name,
            strawberry.field(
                name=field_name,
                default=strawberry.UNSET,
                description=_DESCRIPTIONS.get(field_name),
            ),
        )


def _comparison(prefix: str, value_type: Any) -> type:
    fields: dict[str, Any] = {}
    for op in OPERATORS[prefix]:
        if op == "_is_null":
            fields[op] = bool
        elif op in ("_in", "_nin"):
            fields[op] = list[value_type]
        elif prefix == "String_array":
            fields[op] = list[str]
        elif op == "_has_key":
            fields[op] = str
        else:
            fields[op] = value_type
    description = (
        "Extension beyond Hasura: filters on a list-of-strings column."
        if prefix == "String_array"
        else f"Boolean expression to compare {prefix} values. "
        "An operator given as null is ignored (as Hasura does by default)."
    )
    return make_input(f"{prefix}_comparison_exp", fields, description)


COMPARISONS: dict[str, type] = {
    prefix: _comparison(prefix, value_type) for prefix, value_type in COLUMN_SCALARS.values()
}


@strawberry.enum(name="order_by", description="Column ordering options (Hasura)")
class OrderBy(enum.Enum):
    asc = "asc"
    asc_nulls_first = "asc_nulls_first"
    asc_nulls_last = "asc_nulls_last"
    desc = "desc"
    desc_nulls_first = "desc_nulls_first"
    desc_nulls_last = "desc_nulls_last"


#: SQL of each order_by value; Hasura's defaults: asc → nulls last, desc → nulls first
ORDER_SQL: dict[str, str] = {
    "asc": "ASC NULLS LAST",
    "asc_nulls_first": "ASC NULLS FIRST",
    "asc_nulls_last": "ASC NULLS LAST",
    "desc": "DESC NULLS FIRST",
    "desc_nulls_first": "DESC NULLS FIRST",
    "desc_nulls_last": "DESC NULLS LAST",
}


class TableInputs:
    """The per-table inputs of one schema: created empty, then filled once all exist (they
    reference each other through relationships)."""

    def __init__(self, table: Table, columns: Iterable[str], keyed: Iterable[str] = ()) -> None:
        self.table = table
        self.columns = list(columns)
        #: JSON columns readable only key by key: filters, but no sorting or select_column
        self.whole = [c for c in self.columns if c not in set(keyed)]
        name = table.name
        self.bool_exp = type(f"{name}_bool_exp", (), {"__annotations__": {}})
        self.order_by = type(f"{name}_order_by", (), {"__annotations__": {}})
        members = {c: c for c in self.whole}
        self.select_column = strawberry.enum(
            enum.Enum(f"{name}_select_column", members),  # type: ignore[misc]
            name=f"{name}_select_column",
            description=f'select columns of table "{name}"',
        )

    def fill(
        self, object_relations: Mapping[str, "TableInputs"], filter_relations: Mapping[str, "TableInputs"]
    ) -> None:
        name = self.table.name
        filters: dict[str, Any] = {
            "_and": list[self.bool_exp],
            "_not": self.bool_exp,
            "_or": list[self.bool_exp],
        }
        for column in self.columns:
            prefix = COLUMN_SCALARS[self.table.column(column).type][0]
            filters[column] = COMPARISONS[prefix]
        for rel_name, target in filter_relations.items():
            filters[rel_name] = target.bool_exp
        fill_input(self.bool_exp, filters)
        strawberry.input(
            self.bool_exp,
            name=f"{name}_bool_exp",
            description=f'Boolean expression to filter rows from the table "{name}". '
            "All fields are combined with a logical 'AND'. An array relationship matches when "
            "some related row matches.",
        )
        orders: dict[str, Any] = {column: OrderBy for column in self.whole}
        for rel_name, target in object_relations.items():
            orders[rel_name] = target.order_by
        fill_input(self.order_by, orders)
        strawberry.input(
            self.order_by,
            name=f"{name}_order_by",
            description=f'Ordering options when selecting data from "{name}".',
        )
