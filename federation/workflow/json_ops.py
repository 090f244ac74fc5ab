"""`jsonb` comparisons (`_eq`, `_neq`, `_has_key`, `_contains`) with PostgreSQL's meaning on
both databases.

On PostgreSQL they are the `jsonb` operators (`=`, `<>`, `?`, `@>`). SQLite keeps JSON as
text, so they are spelled with its JSON functions, following PostgreSQL's rules: `?` finds a
top-level key of an object, or a string element of an array, or the string itself; `@>`
compares scalars by type and value (1 = 1.0), objects key by key, arrays element by element
in any order, and lets a top-level array contain a bare scalar. Which spelling is used is
decided when the statement is compiled, so `where_to_sqlalchemy` needs no dialect.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FromClause

_CONTAINERS = ("object", "array")


class JsonPredicate(ColumnElement[bool]):
    """`column <op> value` for a JSON column; compiled per dialect."""

    inherit_cache = False  # the operand is not part of a cache key
    type = sa.Boolean()

    def __init__(self, column: sa.ColumnElement[Any], op: str, value: Any) -> None:
        self.column = column
        self.json_op = op
        self.value = value

    @property
    def _from_objects(self) -> list[FromClause]:
        return self.column._from_objects


def _json_text(value: Any) -> sa.BindParameter[str]:
    return sa.bindparam(None, json.dumps(value, sort_keys=True, ensure_ascii=False), type_=sa.Text())


@compiles(JsonPredicate, "postgresql")
def _postgresql(element: JsonPredicate, compiler: SQLCompiler, **kw: Any) -> str:
    column = sa.type_coerce(element.column, JSONB())
    if element.json_op == "_has_key":
        expr: sa.ColumnElement[bool] = column.has_key(sa.bindparam(None, element.value, type_=sa.Text()))
    else:
        operand = sa.cast(_json_text(element.value), JSONB())
        sql_op = {"_eq": "=", "_neq": "<>", "_contains": "@>"}[element.json_op]
        expr = column.op(sql_op, is_comparison=True)(operand)
    return compiler.process(expr, **kw)


@compiles(JsonPredicate, "sqlite")
def _sqlite(element: JsonPredicate, compiler: SQLCompiler, **kw: Any) -> str:
    doc, value = element.column, element.value
    if element.json_op == "_has_key":
        expr = _has_key(doc, value)
    elif element.json_op == "_contains":
        expr = _contains(doc, value, top=True)
    else:
        if isinstance(value, dict | list):
            expr = sa.func.json(doc) == sa.func.json(_json_text(value))
        else:
            expr = _scalar(sa.func.json_type(doc), sa.func.json_extract(doc, "$"), value)
        if element.json_op == "_neq":
            expr = sa.not_(expr)
    return compiler.process(expr, **kw)


@compiles(JsonPredicate)
def _other(element: JsonPredicate, compiler: SQLCompiler, **kw: Any) -> str:
    raise sa.exc.CompileError(f"JSON filters are not implemented for {compiler.dialect.name}")


def _each(doc: sa.ColumnElement[Any]) -> Any:
    """The rows of json_each(doc): key, value (JSON text for containers), type, atom."""
    return sa.func.json_each(doc).table_valued("key", "value", "type", "atom").alias()


def _scalar(type_: sa.ColumnElement[Any], atom: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    """The JSON value with SQLite type `type_` and SQL value `atom` equals the scalar `value`."""
    if value is None:
        return type_ == "null"
    if isinstance(value, bool):
        return type_ == ("true" if value else "false")
    if isinstance(value, int | float):
        return sa.and_(type_.in_(("integer", "real")), atom == value)
    if isinstance(value, str):
        return sa.and_(type_ == "text", atom == value)
    raise TypeError(f"not a JSON value: {value!r}")


def _has_key(doc: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[bool]:
    kind = sa.func.json_type(doc)
    members = _each(doc)
    strings = _each(doc)
    return sa.case(
        (kind == "object", sa.exists().select_from(members).where(members.c.key == key)),
        (
            kind == "array",
            sa.exists().select_from(strings).where(strings.c.type == "text", strings.c.atom == key),
        ),
        (kind == "text", sa.func.json_extract(doc, "$") == key),
        else_=sa.false(),
    )


def _contains(doc: sa.ColumnElement[Any], value: Any, *, top: bool) -> sa.ColumnElement[bool]:
    """`doc` (JSON text) @> `value`."""
    kind = sa.func.json_type(doc)
    if isinstance(value, dict):
        tests = []
        for key, inner in value.items():
            each = _each(doc)
            tests.append(sa.exists().select_from(each).where(each.c.key == key, _element(each, inner)))
        return sa.and_(kind == "object", *tests)
    if isinstance(value, list):
        tests = []
        for inner in value:
            each = _each(doc)
            tests.append(sa.exists().select_from(each).where(_element(each, inner)))
        return sa.and_(kind == "array", *tests)
    match = _scalar(kind, sa.func.json_extract(doc, "$"), value)
    if not top:
        return match
    each = _each(doc)
    in_array = sa.exists().select_from(each).where(_scalar(each.c.type, each.c.atom, value))
    return sa.or_(match, sa.and_(kind == "array", in_array))


def _element(each: Any, value: Any) -> sa.ColumnElement[bool]:
    """A row of json_each contains `value` (containers compared inside only when the row is a
    container: its `value` is JSON text only then)."""
    if not isinstance(value, dict | list):
        return _scalar(each.c.type, each.c.atom, value)
    return sa.case(
        (each.c.type.in_(_CONTAINERS), _contains(each.c.value, value, top=False)), else_=sa.false()
    )
