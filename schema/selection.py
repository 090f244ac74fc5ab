"""What a query selects below a root field, read once from the GraphQL document.

`root_selection(info)` walks the field's selection set (fragments, inline fragments,
`@skip`/`@include` resolved) and returns a tree of `Selected` nodes whose `args` are
graphql-core's coerced argument values: plain dicts and lists keyed by GraphQL names, with
variables substituted. The loaders plan their SQL from this tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values


@dataclass
class Selected:
    name: str
    #: the response key (alias or name)
    key: str
    args: dict[str, Any] = field(default_factory=dict)
    fields: list[Selected] = field(default_factory=list)
    #: the GraphQL name of the field's (named) output type: what `__typename` answers below it
    type_name: str = ""


def root_selection(info: Any) -> Selected:
    """The selection of the field being resolved (`info`: strawberry's Info)."""
    return select(info._raw_info)


def select(raw: GraphQLResolveInfo) -> Selected:
    """The selection of the field `raw` (graphql-core's resolve info) resolves."""
    variables = raw.variable_values
    if isinstance(variables, dict):  # strawberry passes the coerced dict only
        variables = VariableValues(sources={}, coerced=variables)
        raw = raw._replace(variable_values=variables)
    node = raw.field_nodes[0]
    field_def = raw.parent_type.fields[raw.field_name]
    args = get_argument_values(field_def, node, raw.variable_values)
    named = get_named_type(field_def.type)
    children = _children(raw, named, raw.field_nodes) if isinstance(named, GraphQLObjectType) else []
    return Selected(raw.field_name, raw.path.key, args, children, named.name)  # type: ignore[arg-type]


def _included(node: Any, variables: VariableValues) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include and include.get("if") is False)


def _children(raw: GraphQLResolveInfo, parent: GraphQLObjectType, nodes: list[FieldNode]) -> list[Selected]:
    grouped: dict[str, tuple[str, list[FieldNode]]] = {}

    def visit(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if not _included(sel, raw.variable_values):
                continue
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name.startswith("__") and name != "__typename":
                    continue
                key = sel.alias.value if sel.alias else name
                grouped.setdefault(key, (name, []))[1].append(sel)
            elif isinstance(sel, InlineFragmentNode):  # one possible type per field here
                visit(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                fragment = raw.fragments.get(sel.name.value)
                if fragment is not None:
                    visit(fragment.selection_set)

    for node in nodes:
        visit(node.selection_set)
    out = []
    for key, (name, field_nodes) in grouped.items():
        if name == "__typename":
            out.append(Selected(name, key, type_name=parent.name))
            continue
        field_def = parent.fields[name]
        args = get_argument_values(field_def, field_nodes[0], raw.variable_values) if field_def.args else {}
        named = get_named_type(field_def.type)
        children = _children(raw, named, field_nodes) if isinstance(named, GraphQLObjectType) else []
        out.append(Selected(name, key, args, children, named.name))
    return out
