"""GraphQL over HTTP: schema extensions, request parsing, error shaping, result encoding.

The Starlette routes live in `federation/app.py`; this module holds what they share and what
other modules (the schema builder) may need: `SCHEMA_EXTENSIONS` and `install_extensions`.

Requests are read with limits before anything else looks at them: the body (or GET query
string) is refused past `server.max_body_bytes` while it arrives, `operationName` past
`MAX_NAME_CHARS`, `variables` nested past `server.max_input_depth`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import strawberry
from graphql import (
    GraphQLError,
    GraphQLSyntaxError,
    ValidationContext,
    ValidationRule,
)
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from federation.config.settings import ServerConfig
from federation.serving.documents import DocumentCacheExtension, documents_for, input_depth_rule

log = logging.getLogger("assetgraph.graphql")

#: marks the extension factories this module made, so they are never installed twice
_MARK = "_assetgraph_extension"
#: graphql-core's parser refusing a document: too many tokens, or nested past its own limit
_TOO_COMPLEX_SYNTAX = ("Document contains more than", "Document is nested too deeply")
#: longest `operationName` accepted (a GraphQL name; it goes to the access log)
MAX_NAME_CHARS = 256
#: longest client-supplied string written to a log line or the access log
MAX_LOGGED_CHARS = 256


def clip(value: Any, limit: int = MAX_LOGGED_CHARS) -> Any:
    """A string cut to `limit` characters (marked with …), for logs; other values as they are."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


class ClipArguments(logging.Filter):
    """Cuts the string arguments of a log record (uvicorn's access log writes the whole URL,
    GET query string included): no client-chosen string makes a log line long."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(clip(arg, 1024) for arg in record.args)
        return True


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
    would otherwise build new rule classes per request, and the document cache (keyed by the
    rules) would never hit. Limit violations carry `extensions.code = QUERY_TOO_COMPLEX`.
    Parsing (`max_tokens`, comments counted) and caching: `federation/serving/documents.py`.
    """
    rules = [
        _coded_rule(rule, "QUERY_TOO_COMPLEX")
        for limiter in (
            QueryDepthLimiter(max_depth=server.max_depth),
            MaxAliasesLimiter(max_alias_count=server.max_aliases),
        )
        for rule in limiter.validation_rules
    ]
    rules.append(_coded_rule(input_depth_rule(server.max_input_depth), "QUERY_TOO_COMPLEX"))
    documents = documents_for(server.max_tokens)
    factories: list[Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules(rules),
        lambda: DocumentCacheExtension(documents),
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


def nested_deeper(value: Any, limit: int) -> bool:
    """True if `value`'s dicts and lists nest deeper than `limit` (iterative: a value nested
    past Python's recursion limit is an answer here, not a crash)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            depth += 1
            if depth > limit:
                return True
            stack.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _params(raw: Any, max_input_depth: int) -> GraphQLParams:
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
    if variables and nested_deeper(variables, max_input_depth):
        raise RequestError(
            f"`variables` nest objects and lists more than {max_input_depth} levels deep; simplify them"
        )
    name = raw.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError("`operationName` must be a string")
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise RequestError(f"`operationName` is longer than {MAX_NAME_CHARS} characters")
    return GraphQLParams(query, variables or None, name or None)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to pass `limit` bytes: from its
    Content-Length, else while it arrives, so a large body is never held whole."""
    declared = request.headers.get("content-length")
    too_large = RequestError(f"the request body is larger than {limit} bytes (server.max_body_bytes)", 413)
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestError("Content-Length is not a number")
        if int(declared) > limit:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError("the client went away before sending the whole body") from None
    return b"".join(chunks)


async def read_params(request: Request, server: ServerConfig) -> GraphQLParams:
    if request.method == "GET":
        if len(request.scope.get("query_string", b"")) > server.max_body_bytes:
            raise RequestError(
                f"the query string is longer than {server.max_body_bytes} bytes: send a POST", 414
            )
        return _params(dict(request.query_params), server.max_input_depth)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/graphql", "application/json", "") and not content_type.endswith(
        "+json"
    ):
        raise RequestError(
            f"unsupported content type {clip(content_type, 64)!r}: send application/json", status=415
        )
    body = await read_body(request, server.max_body_bytes)
    if content_type == "application/graphql":
        return _params({"query": body.decode("utf-8", "replace")}, server.max_input_depth)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the request body is not valid JSON: {clip(str(exc), 120)}") from None
    return _params(raw, server.max_input_depth)


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
            clip(".".join(map(str, error.path or [])) or "-"),
            clip(error.message, 1000),
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


_GRAPHQL_RESPONSE = "application/graphql-response+json"


def media_type(request: Request) -> str:
    """The response's media type: GraphQL over HTTP's own when the client asks for it only."""
    accept = request.headers.get("accept", "")
    if _GRAPHQL_RESPONSE in accept and "application/json" not in accept:
        return _GRAPHQL_RESPONSE
    return "application/json"
