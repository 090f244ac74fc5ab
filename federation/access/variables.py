"""A role's row filter with the caller's values put in: `X-Actor-Email` → the actor's email.

A comparison whose actor variable the caller has no value for can only take rows away: the
branch (or, outside an `_or`, the whole filter) matches no row — `MISSING`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: an actor variable the actor has no value for: the filter matches no row
MISSING = object()


def freeze(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return tuple(sorted(map(str, value)))
    return value


_LOGICAL = ("_and", "_or", "_not")


def _value(node: Any, actor: Mapping[str, Any]) -> Any:
    """An operand with the actor's value for an X-Actor-* variable (MISSING if none)."""
    from federation.config.roles import variable_attribute

    if isinstance(node, list):
        items = [_value(v, actor) for v in node]
        return MISSING if any(i is MISSING for i in items) else items
    name = variable_attribute(node)
    if name is None:
        return node
    value = actor.get(name)
    if value is None or value == "":
        return MISSING
    return list(value) if isinstance(value, list | tuple | set) else value


def _is_comparison(value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    return all(k.startswith("_") and k not in _LOGICAL for k in value)


def substitute(exp: Mapping[str, Any], actor: Mapping[str, Any]) -> Any:
    """A filter with the actor's values, or MISSING where it can match no row.

    A comparison with a variable the actor has no value for matches no row (`{_eq: null}`
    would match every row): the conjunction holding it is false, an `_or` loses that branch,
    and a `_not` over anything with a variable the actor lacks is false too. A missing value
    can only ever take rows away."""
    out: dict[str, Any] = {}
    for key, value in exp.items():
        if key in ("_and", "_or"):
            items = [substitute(e, actor) for e in value]
            kept = [i for i in items if i is not MISSING]
            if key == "_and" and len(kept) < len(items):
                return MISSING
            if key == "_or" and items and not kept:
                return MISSING
            out[key] = kept
        elif key == "_not":
            if _lacks(value, actor):
                return MISSING
            out[key] = substitute(value, actor)
        elif _is_comparison(value):
            ops = {op: _value(operand, actor) for op, operand in value.items()}
            if any(v is MISSING for v in ops.values()):
                return MISSING
            out[key] = ops
        elif isinstance(value, dict):
            inner = substitute(value, actor)
            if inner is MISSING:
                return MISSING
            out[key] = inner
        else:
            out[key] = value
    return out


def _lacks(node: Any, actor: Mapping[str, Any]) -> bool:
    """True if `node` names a variable the actor has no value for."""
    from federation.config.roles import variable_attribute

    if isinstance(node, dict):
        return any(_lacks(v, actor) for v in node.values())
    if isinstance(node, list):
        return any(_lacks(v, actor) for v in node)
    name = variable_attribute(node)
    return name is not None and actor.get(name) in (None, "")
