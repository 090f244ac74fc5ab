"""The `where` tree (federation/model/where.py) and `order_by` over a flat workflow table,
compiled into SQLAlchemy expressions that mean the same on SQLite and PostgreSQL.

Operands are checked against the column's type (a timestamp operand may be ISO 8601 text;
one without a zone is UTC) and a bad one raises `WhereError` naming the column and operator.
SQL's NULL rules hold as in Hasura: `_neq` and `_nin` do not match NULL; use `_is_null`.
JSON operators (json_ops.py) follow PostgreSQL's `jsonb` on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from federation.model.where import (
    OPERATORS,
    And,
    Compare,
    Const,
    Node,
    Not,
    Or,
    Related,
    Variable,
    WhereError,
)
from federation.workflow.catalog import model_type
from federation.workflow.json_ops import JsonPredicate

_COMPARISON_PREFIX = {"uuid": "uuid", "string": "String", "int": "Int", "numeric": "numeric"}
_COMPARISON_PREFIX |= {"timestamptz": "timestamptz", "jsonb": "jsonb", "boolean": "Boolean"}
_BINARY: dict[str, Callable[[sa.ColumnElement[Any], Any], sa.ColumnElement[bool]]] = {
    "_eq": lambda c, v: c == v,
    "_neq": lambda c, v: c != v,
    "_gt": lambda c, v: c > v,
    "_gte": lambda c, v: c >= v,
    "_lt": lambda c, v: c < v,
    "_lte": lambda c, v: c <= v,
    # backslash escapes % and _ on both databases (PostgreSQL's default; SQLite has none)
    "_like": lambda c, v: c.like(v, escape="\\"),
    "_nlike": lambda c, v: c.not_like(v, escape="\\"),
    "_ilike": lambda c, v: c.ilike(v, escape="\\"),
    "_nilike": lambda c, v: c.not_ilike(v, escape="\\"),
}
DIRECTIONS = ("asc", "asc_nulls_first", "asc_nulls_last", "desc", "desc_nulls_first", "desc_nulls_last")


def where_to_sqlalchemy(node: Node | None, table: sa.Table) -> sa.ColumnElement[bool]:
    """A boolean over `table`'s columns. Actor variables must have been substituted first
    (federation.access.variables.substitute); relationships do not exist here."""
    if node is None:
        return sa.true()
    if isinstance(node, Const):
        return sa.true() if node.value else sa.false()
    if isinstance(node, And):
        return sa.and_(*(where_to_sqlalchemy(i, table) for i in node.items)) if node.items else sa.true()
    if isinstance(node, Or):
        return sa.or_(*(where_to_sqlalchemy(i, table) for i in node.items)) if node.items else sa.false()
    if isinstance(node, Not):
        return sa.not_(where_to_sqlalchemy(node.item, table))
    if isinstance(node, Related):
        raise WhereError([f"{table.name}.{node.relation}: {table.name} has no relationships to filter on"])
    return _compare(node, table)


def _compare(node: Compare, table: sa.Table) -> sa.ColumnElement[bool]:
    at = f"{table.name}.{node.column}.{node.op}"
    if node.column not in table.c:
        expected = _listed(table.c.keys())
        raise WhereError([f"{table.name}.{node.column}: unknown column; expected one of {expected}"])
    column = table.c[node.column]
    kind = model_type(column)
    operators = OPERATORS[_COMPARISON_PREFIX[kind]]
    if node.op not in operators:
        raise WhereError([f"{at}: unknown operator for {kind}; expected one of {_listed(operators)}"])
    if _has_variable(node.value):
        raise WhereError([f"{at}: an actor variable is left in the filter; substitute the actor's values"])
    if node.op == "_is_null":
        if not isinstance(node.value, bool):
            raise WhereError([f"{at}: expected true or false, got {node.value!r}"])
        return column.is_(None) if node.value else column.is_not(None)
    if kind == "jsonb":
        if node.op == "_has_key" and not isinstance(node.value, str):
            raise WhereError([f"{at}: expected a key (text), got {node.value!r}"])
        return JsonPredicate(column, node.op, node.value)
    if node.op in ("_in", "_nin"):
        values = node.value if isinstance(node.value, list | tuple) else [node.value]
        operands = [_operand(kind, v, at) for v in values]
        if not operands:
            return sa.false() if node.op == "_in" else sa.true()
        return column.in_(operands) if node.op == "_in" else column.not_in(operands)
    return _BINARY[node.op](column, _operand(kind, node.value, at))


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names)


def _has_variable(value: Any) -> bool:
    return isinstance(value, Variable) or (
        isinstance(value, list | tuple) and any(isinstance(v, Variable) for v in value)
    )


def _operand(kind: str, value: Any, at: str) -> Any:
    """`value` as the column's Python type; WhereError when it cannot be one."""
    try:
        return _COERCE[kind](value)
    except (TypeError, ValueError, InvalidOperation):
        raise WhereError([f"{at}: {value!r} is not {_EXPECTED[kind]}"]) from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError
    return value


def _numeric(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise TypeError
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError
    return number


def _uuid(value: Any) -> str:
    return str(UUID(_text(value)))


def _timestamp(value: Any) -> datetime:
    """ISO 8601 text or a datetime; without a zone it is UTC (a date is its midnight, UTC)."""
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(_text(value))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


_COERCE: dict[str, Callable[[Any], Any]] = {
    "string": _text,
    "uuid": _uuid,
    "int": _int,
    "numeric": _numeric,
    "timestamptz": _timestamp,
    "boolean": _boolean,
}
_EXPECTED = {
    "string": "text",
    "uuid": "a UUID",
    "int": "an integer",
    "numeric": "a number",
    "timestamptz": "a time in ISO 8601 (2026-01-31T09:30:00Z, or a date: 2026-01-31)",
    "boolean": "true or false",
}


def order_by_to_sqlalchemy(
    order_by: Sequence[tuple[str, str]], table: sa.Table
) -> list[sa.UnaryExpression[Any]]:
    """Hasura's directions, with its NULL placement (asc: last; desc: first) on both databases;
    the primary key closes the list so pages are stable."""
    out: list[sa.UnaryExpression[Any]] = []
    for i, (name, direction) in enumerate(order_by):
        at = f"order_by[{i}].{name}"
        if name not in table.c:
            expected = _listed(table.c.keys())
            raise WhereError([f"{at}: unknown column of {table.name}; expected one of {expected}"])
        if direction not in DIRECTIONS:
            expected = _listed(DIRECTIONS)
            raise WhereError([f"{at}: unknown direction {direction!r}; expected one of {expected}"])
        column = table.c[name]
        descending = direction.startswith("desc")
        nulls_first = direction.endswith("nulls_first") or (descending and "nulls" not in direction)
        ordered = column.desc() if descending else column.asc()
        out.append(ordered.nulls_first() if nulls_first else ordered.nulls_last())
    named = {name for name, _ in order_by}
    out += [c.asc() for c in table.primary_key.columns if c.name not in named]
    return out
