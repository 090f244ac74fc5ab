"""Validation errors that say what is allowed, with the contract's BAD_USER_INPUT code.

graphql-core names the unknown field and suggests near misses ("Did you mean '_lte'?");
this extension appends the complete list of the names the type offers, so a client sees
every operator, column or enum value it may use."""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema
from strawberry.extensions import SchemaExtension

_PATTERNS = (
    # (regex, group holding the type name, kind of names listed)
    (re.compile(r"Expected value of type '(\w+)!?' not to include unknown field"), 1),
    (re.compile(r"Cannot query field '\w+' on type '(\w+)'"), 1),
    (re.compile(r"Unknown argument '\w+' on field '(\w+)\.(\w+)'"), 0),
    (re.compile(r"Value '\w+' does not exist in '(\w+)' enum"), 1),
)


def allowed_names(schema: GraphQLSchema, message: str) -> list[str]:
    for pattern, group in _PATTERNS:
        match = pattern.search(message)
        if match is None:
            continue
        if group == 0:  # an argument: list the field's arguments
            owner = schema.get_type(match.group(1))
            if isinstance(owner, GraphQLObjectType) and match.group(2) in owner.fields:
                return list(owner.fields[match.group(2)].args)
            return []
        named = schema.get_type(match.group(group))
        if isinstance(named, GraphQLInputObjectType | GraphQLObjectType):
            return list(named.fields)
        if isinstance(named, GraphQLEnumType):
            return list(named.values)
    return []


class ExplainErrors(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors
        if not errors:
            return
        schema = self.execution_context.schema._schema
        for error in errors:
            names = allowed_names(schema, error.message)
            if names and "Allowed:" not in error.message:
                error.message += f" Allowed: {', '.join(names)}."
            error.extensions = {"code": "BAD_USER_INPUT", **(error.extensions or {})}
