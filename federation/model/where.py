"""The `where` grammar, parsed once into one typed tree.

A `where` argument of a query, a role's row filter in config.yaml and a filter named in a
variable are all parsed here into the same `Node` tree. Validation (config and query),
authorization (which fields a filter reads), actor variables (`X-Actor-Email`), SQL
compilation and the access log read that tree; nothing else walks the raw dicts.

Semantics (as Hasura): the entries of one object are ANDed; `_and: []` is true, `_or: []`
false; a relationship matches when a related row satisfies the nested filter; an operator
or field given as explicit `null` is ignored (so `{_eq: null}` matches every row; use
`_is_null`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from federation.model.tables import TABLES, Table

_SET_OPS = ("_eq", "_neq", "_in", "_nin", "_is_null")
_ORDER_OPS = ("_gt", "_gte", "_lt", "_lte")
_TEXT_OPS = ("_like", "_nlike", "_ilike", "_nilike")

#: comparison input prefix (Hasura's scalar name) of each model column type
COMPARISON_PREFIX: dict[str, str] = {
    "uuid": "uuid",
    "string": "String",
    "int": "Int",
    "numeric": "numeric",
    "boolean": "Boolean",
    "date": "date",
    "timestamptz": "timestamptz",
    "jsonb": "jsonb",
    "string_list": "String_array",
}

#: operators each comparison input offers
OPERATORS: dict[str, tuple[str, ...]] = {
    "String": _SET_OPS + _ORDER_OPS + _TEXT_OPS,
    "Int": _SET_OPS + _ORDER_OPS,
    "numeric": _SET_OPS + _ORDER_OPS,
    "date": _SET_OPS + _ORDER_OPS,
    "timestamptz": _SET_OPS + _ORDER_OPS,
    "uuid": _SET_OPS + _ORDER_OPS,
    "Boolean": _SET_OPS,
    "jsonb": ("_eq", "_neq", "_is_null", "_has_key", "_contains"),
    "String_array": ("_contains", "_contained_in", "_is_null"),
}

#: actor variables in a filter are written X-Actor-<Attribute> (case-insensitive)
ACTOR_VARIABLE = re.compile(r"^x-actor-([a-z0-9][a-z0-9-]*)$", re.I)
#: deepest nesting of `_and`/`_or`/`_not`/relationships a filter may have
MAX_DEPTH = 32


def variable_attribute(value: Any) -> str | None:
    """`X-Actor-Email` → `email`; None if `value` is not an actor variable."""
    if not isinstance(value, str):
        return None
    match = ACTOR_VARIABLE.match(value)
    return match.group(1).lower().replace("-", "_") if match else None


@dataclass(frozen=True)
class Variable:
    """An actor attribute in a row filter (`X-Actor-Email` → `email`)."""

    name: str


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    #: the operand: a value, a list of values, or `Variable`s in a role's filter
    value: Any


@dataclass(frozen=True)
class Related:
    """Rows with a related row (through `relation` of the table) matching `node`."""

    relation: str
    target: str
    node: Node


@dataclass(frozen=True)
class Const:
    """Always true or always false (an empty `_and`/`_or`, or a filter that cannot match)."""

    value: bool


Node = And | Or | Not | Compare | Related | Const
#: whether a filter may hold actor variables: False (a query), True (any), or the known names
Variables = bool | frozenset[str] | set[str]
TRUE = Const(True)
FALSE = Const(False)


class WhereError(ValueError):
    """A filter that does not fit the grammar; `problems` names each bad entry by path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse(
    exp: Any,
    table: str,
    *,
    path: str = "where",
    tables: Mapping[str, Table] = TABLES,
    variables: Variables = False,
) -> Node:
    """The tree of `exp` over `table`; raises `WhereError` listing every problem by path.

    `variables`: whether `X-Actor-*` operands are allowed (role filters in config), and which
    (a set of attribute names)."""
    problems: list[str] = []
    node = _parse(exp, tables[table], tables, path, variables, problems, 0)
    if problems:
        raise WhereError(problems)
    return node


def _parse(
    exp: Any,
    model: Table,
    tables: Mapping[str, Table],
    path: str,
    variables: Variables,
    problems: list[str],
    depth: int,
) -> Node:
    if depth > MAX_DEPTH:
        problems.append(f"{path}: filters nest at most {MAX_DEPTH} levels deep")
        return TRUE
    if exp is None:
        return TRUE
    if not isinstance(exp, Mapping):
        problems.append(f"{path}: expected an object in the `where` syntax")
        return TRUE
    relations = {r.name: r for r in model.relations}
    parts: list[Node] = []
    for key, value in exp.items():
        at = f"{path}.{key}"
        if value is None:
            continue
        if key in ("_and", "_or"):
            if not isinstance(value, list):
                problems.append(f"{at}: expected a list of filters")
                continue
            items = tuple(
                _parse(item, model, tables, f"{at}[{i}]", variables, problems, depth + 1)
                for i, item in enumerate(value)
            )
            parts.append(And(items) if key == "_and" else Or(items))
        elif key == "_not":
            parts.append(Not(_parse(value, model, tables, at, variables, problems, depth + 1)))
        elif key in model.column_names:
            parts.extend(_compare(model, key, value, at, variables, problems))
        elif key in relations:
            relation = relations[key]
            inner = _parse(value, tables[relation.target], tables, at, variables, problems, depth + 1)
            parts.append(Related(key, relation.target, inner))
        else:
            problems.append(
                f"{at}: unknown field of {model.name}; expected _and, _or, _not or one of "
                + ", ".join([*model.column_names, *relations])
            )
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _compare(
    model: Table, column: str, ops: Any, path: str, variables: Variables, problems: list[str]
) -> list[Node]:
    prefix = COMPARISON_PREFIX[model.column(column).type]
    if not isinstance(ops, Mapping):
        problems.append(f"{path}: expected operators such as {{_eq: value}}")
        return []
    out: list[Node] = []
    for op, operand in ops.items():
        if op not in OPERATORS[prefix]:
            problems.append(
                f"{path}.{op}: unknown operator for {prefix} ({model.name}.{column}); expected one of "
                + ", ".join(OPERATORS[prefix])
            )
            continue
        if operand is None:
            continue
        if op in ("_in", "_nin", "_contains", "_contained_in") and prefix != "jsonb":
            if not isinstance(operand, list | tuple):
                operand = [operand]
            operand = [_operand(v, f"{path}.{op}", variables, problems) for v in operand]
        else:
            operand = _operand(operand, f"{path}.{op}", variables, problems)
        out.append(Compare(column, op, operand))
    return out


def _operand(value: Any, path: str, variables: Variables, problems: list[str]) -> Any:
    if variables is False:
        return value  # a query may compare with the literal text "X-Actor-…"
    name = variable_attribute(value)
    if name is None:
        if isinstance(value, str) and value.lower().startswith("x-"):
            problems.append(f"{path}: {value!r} is not an actor variable (X-Actor-<Name>)")
        return value
    if variables is not True and name not in variables:
        problems.append(
            f"{path}: unknown actor variable {value!r}; expected one of "
            + ", ".join(f"X-Actor-{v.replace('_', '-').title()}" for v in sorted(variables))
        )
    return Variable(name)


# ----------------------------------------------------------------------------- reading


def walk(node: Node, table: str) -> Iterator[tuple[str, Node]]:
    """Every node of the tree with the table it applies to, depth first."""
    yield table, node
    if isinstance(node, And | Or):
        for item in node.items:
            yield from walk(item, table)
    elif isinstance(node, Not):
        yield from walk(node.item, table)
    elif isinstance(node, Related):
        yield from walk(node.node, node.target)


def fields_read(node: Node, table: str) -> Iterator[tuple[str, str]]:
    """(table, field) for every column and relationship the filter reads."""
    for at, item in walk(node, table):
        if isinstance(item, Compare):
            yield at, item.column
        elif isinstance(item, Related):
            yield at, item.relation


def variables_of(node: Node) -> set[str]:
    out: set[str] = set()
    for _, item in walk(node, ""):
        if isinstance(item, Compare):
            values = item.value if isinstance(item.value, list) else [item.value]
            out.update(v.name for v in values if isinstance(v, Variable))
    return out


def conjoin(*nodes: Node | None) -> Node:
    """The AND of the given filters (None: no filter)."""
    kept = [n for n in nodes if n is not None and n != TRUE]
    if any(n == FALSE for n in kept):
        return FALSE
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else And(tuple(kept))


def disjoin(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))
