"""A role's row filter with the caller's values put in: `X-Actor-Email` → the actor's email.

A comparison whose actor variable the caller has no value for can only take rows away: the
comparison matches no row; an `_and` holding it matches none, an `_or` loses that branch,
and a `_not` over anything with a variable the actor lacks matches none either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from federation.model.where import FALSE, And, Compare, Node, Not, Or, Related, Variable, walk


def freeze(value: Any) -> Any:
    """A hashable form of an actor value (for cache keys)."""
    if isinstance(value, list | tuple | set):
        return tuple(sorted(map(str, value)))
    return value


class _Missing(Exception):
    pass


def _value(operand: Any, actor: Mapping[str, Any]) -> Any:
    if isinstance(operand, list):  # a list attribute inside a list operand adds its items
        out: list[Any] = []
        for item in operand:
            value = _value(item, actor)
            if isinstance(item, Variable) and isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out
    if not isinstance(operand, Variable):
        return operand
    value = actor.get(operand.name)
    if value is None or value == "" or (isinstance(value, list | tuple | set) and not value):
        raise _Missing
    return list(value) if isinstance(value, list | tuple | set) else value


def _lacks(node: Node, actor: Mapping[str, Any]) -> bool:
    for _, item in walk(node, ""):
        if isinstance(item, Compare):
            try:
                _value(item.value, actor)
            except _Missing:
                return True
    return False


def substitute(node: Node, actor: Mapping[str, Any]) -> Node:
    """`node` with the actor's values in place of its variables; FALSE where it cannot match."""
    if isinstance(node, Compare):
        try:
            return Compare(node.column, node.op, _value(node.value, actor))
        except _Missing:
            return FALSE
    if isinstance(node, And):
        items = tuple(substitute(i, actor) for i in node.items)
        return FALSE if FALSE in items else And(items)
    if isinstance(node, Or):
        items = tuple(substitute(i, actor) for i in node.items)
        kept = tuple(i for i in items if i != FALSE)
        return FALSE if items and not kept else Or(kept)
    if isinstance(node, Not):
        return FALSE if _lacks(node.item, actor) else Not(substitute(node.item, actor))
    if isinstance(node, Related):
        inner = substitute(node.node, actor)
        return FALSE if inner == FALSE else Related(node.relation, node.target, inner)
    return node
