"""Errors a GraphQL client sees, each with the `extensions.code` of the contract.

Raise them from resolvers (or the compiler under them); graphql-core keeps the exception as
`original_error` and copies its `extensions` onto the error in the response.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class UserInputError(GraphQLError):
    """A bad argument value: the message says what is allowed instead."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extra})


class ForbiddenError(GraphQLError):
    """The actor may not read or do this (the authorization work raises it)."""

    code = "FORBIDDEN"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extra})


class QueryTooComplexError(GraphQLError):
    """The request asks for more than the server's limits allow (depth, rows, time)."""

    code = "QUERY_TOO_COMPLEX"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extra})


class SourceUnavailableError(GraphQLError):
    """A source the request needs did not answer (a sync or a write could not happen)."""

    code = "SOURCE_UNAVAILABLE"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extra})
