"""GraphQL over HTTP: schema extensions, request parsing, error shaping, result encoding.

The Starlette routes live in `federation/app.py`; this module holds what they share and what
other modules (the schema builder) may need: `SCHEMA_EXTENSIONS` and `install_extensions`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
import strawberry
from graphql import (
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
    parse,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from federation.config.settings import ServerConfig

log = logging.getLogger("assetgraph.graphql")

#: marks the extension factories this module made, so they are never installed twice
_MARK = "_assetgraph_extension"
#: parsed and validated documents kept (ParserCache / ValidationCache)
DOCUMENT_CACHE_SIZE = 1024
#: graphql-core's message when MaxTokensLimiter stops the parser
#: graphql-core's parser refusing a document: too many tokens, or nested past its own limit
_TOO_COMPLEX_SYNTAX = ("Document contains more than", "Document is nested too deeply")


# ----------------------------------------------------------------------------- encoding


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


# ----------------------------------------------------------------------------- extensions


class _CodedContext:
    """A ValidationContext whose reported errors carry `extensions.code`."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": self._code}
        self._context.report_error(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _coded_rule(rule: type[ValidationRule], code: str) -> type[ValidationRule]:
    class Coded(rule):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_CodedContext(context, code))  # type: ignore[arg-type]

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


def SCHEMA_EXTENSIONS(server: ServerConfig) -> list[Callable[[], SchemaExtension]]:
    """Extension factories for `strawberry.Schema(..., extensions=...)`.

    The limiters' validation rules are built once here and reused by every request: strawberry
    would otherwise build new rule classes per request, and the ValidationCache (keyed by the
    rules) would never hit. Limit violations carry `extensions.code = QUERY_TOO_COMPLEX`.
    """
    rules = [
        _coded_rule(rule, "QUERY_TOO_COMPLEX")
        for limiter in (
            QueryDepthLimiter(max_depth=server.max_depth),
            MaxAliasesLimiter(max_alias_count=server.max_aliases),
        )
        for rule in limiter.validation_rules
    ]
    factories: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=server.max_tokens),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
    ]
    for factory in factories:
        setattr(factory, _MARK, True)
    return factories


def install_extensions(schema: strawberry.Schema, server: ServerConfig) -> strawberry.Schema:
    """Add SCHEMA_EXTENSIONS to an already built schema, unless it has them.

    strawberry 0.341 reads `schema.extensions` on every execution, so appending after
    construction works; builders may also pass `SCHEMA_EXTENSIONS(server)` themselves.
    Also silences strawberry's own error logging: `shape_errors` logs what matters.
    """
    if not any(getattr(ext, _MARK, False) for ext in schema.extensions):
        schema.extensions = (*schema.extensions, *SCHEMA_EXTENSIONS(server))
    schema.process_errors = _no_logging  # type: ignore[method-assign]
    return schema


def _no_logging(errors: list[GraphQLError], execution_context: Any = None) -> None:
    return None


# ----------------------------------------------------------------------------- requests


class RequestError(Exception):
    """A request that is not a GraphQL request: answered with an HTTP 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class GraphQLParams:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def _params(raw: Any) -> GraphQLParams:
    if isinstance(raw, list):
        raise RequestError("batched requests are not supported: send one operation per request")
    if not isinstance(raw, dict):
        raise RequestError("the request body must be a JSON object with a `query`")
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError("no GraphQL query: send `query` (a string)")
    variables = raw.get("variables")
    if isinstance(variables, str):  # GET ?variables=<json>
        try:
            variables = orjson.loads(variables) if variables.strip() else None
        except orjson.JSONDecodeError:
            raise RequestError("`variables` is not valid JSON") from None
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("`variables` must be a JSON object")
    name = raw.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError("`operationName` must be a string")
    return GraphQLParams(query, variables or None, name or None)


async def read_params(request: Request) -> GraphQLParams:
    if request.method == "GET":
        return _params(dict(request.query_params))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type == "application/graphql":
        return _params({"query": body.decode("utf-8", "replace")})
    if content_type in ("application/json", "") or content_type.endswith("+json"):
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestError(f"the request body is not valid JSON: {exc}") from None
        return _params(raw)
    raise RequestError(f"unsupported content type {content_type!r}: send application/json", status=415)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def operation_type(query: str, operation_name: str | None, max_tokens: int) -> str:
    """`query`, `mutation`, `subscription`, or `unknown` when the document does not parse."""
    try:
        doc = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return "unknown"
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        ops = [op for op in ops if op.name is not None and op.name.value == operation_name]
    return ops[0].operation.value if len(ops) == 1 else "unknown"


# ----------------------------------------------------------------------------- errors


def _code_of(error: GraphQLError) -> str | None:
    for ext in (error.extensions, getattr(error.original_error, "extensions", None)):
        if isinstance(ext, dict) and isinstance(ext.get("code"), str):
            return ext["code"]
    return None


def _is_request_error(error: GraphQLError) -> bool:
    """Syntax, validation and variable errors: found before any resolver ran."""
    if error.path is not None:
        return False
    original = error.original_error
    return original is None or isinstance(original, GraphQLError) or bool(error.locations)


def shape_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """The one place that decides what a client sees of an error."""
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        out["path"] = list(error.path)
    code = _code_of(error)
    if code is not None:
        extensions = dict(error.extensions or {})
        if not extensions:
            extensions = dict(getattr(error.original_error, "extensions", None) or {})
        out["extensions"] = {**extensions, "code": code}
    elif isinstance(error, GraphQLSyntaxError) and any(m in error.message for m in _TOO_COMPLEX_SYNTAX):
        out["extensions"] = {"code": "QUERY_TOO_COMPLEX"}
    elif _is_request_error(error):
        out["extensions"] = {"code": "BAD_USER_INPUT"}
    else:
        original = error.original_error or error
        log.error(
            "request %s: unexpected error at %s: %s",
            request_id,
            ".".join(map(str, error.path or [])) or "-",
            error.message,
            exc_info=(type(original), original, original.__traceback__),
        )
        out["message"] = "internal error"
        out["extensions"] = {"code": "INTERNAL", "request_id": request_id}
    return out


def shape_errors(errors: list[GraphQLError], request_id: str) -> list[dict[str, Any]]:
    return [shape_error(e, request_id) for e in errors]


def iter_codes(body: dict[str, Any]) -> Iterator[str]:
    for error in body.get("errors") or ():
        yield (error.get("extensions") or {}).get("code", "INTERNAL")
