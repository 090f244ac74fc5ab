"""Parsed GraphQL documents, cached by the SHA-256 of their text, and only once they validated.

A cache keyed by the query text itself keeps every text it has seen, so one client sending
large documents (a syntax error in each) pins memory for good. Here the key is a 32-byte
digest, a document enters the cache only after it validated against a schema, and the cache
is bounded by an estimate of the memory its documents hold, not by a count.

`DocumentCacheExtension` replaces strawberry's `ParserCache` and `ValidationCache` (both keyed
by the document text); the endpoint asks the same `Documents` for the operation type.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from federation.serving.lexer import parse_document

#: memory the cached documents may hold, estimated (`_size`)
DOCUMENT_CACHE_BYTES = 64 * 1024 * 1024
#: (document, schema, rules) found valid, remembered
VALIDATED_ENTRIES = 8192
#: estimated bytes of AST per token (a node object, its name, location and lists)
_BYTES_PER_TOKEN = 400


def digest(query: str) -> bytes:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest()


def _size(document: DocumentNode) -> int:
    loc = document.loc
    text = len(loc.source.body) if loc is not None else 0
    return text + _BYTES_PER_TOKEN * int(getattr(document, "token_count", 0) or 0) + 1


class Documents:
    """digest → parsed document, for documents that validated at least once."""

    def __init__(self, max_tokens: int, max_bytes: int = DOCUMENT_CACHE_BYTES) -> None:
        self.max_tokens = max_tokens
        self._documents: LRUCache[bytes, DocumentNode] = LRUCache(max_bytes, getsizeof=_size)
        self._valid: LRUCache[tuple[bytes, GraphQLSchema, tuple[Any, ...]], bool] = LRUCache(
            VALIDATED_ENTRIES
        )
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def __len__(self) -> int:
        with self._lock:
            return len(self._documents)

    def cached(self, key: bytes) -> DocumentNode | None:
        with self._lock:
            return self._documents.get(key)

    def parse(self, query: str, key: bytes | None = None) -> DocumentNode:
        """The cached document, else a fresh parse (not cached): GraphQLError when the text is
        not GraphQL, is nested too deeply, or has more than `max_tokens` tokens, comments
        included (graphql-core counts them, and stops while skipping a run of them)."""
        key = key if key is not None else digest(query)
        with self._lock:
            found = self._documents.get(key)
        if found is not None:
            return found
        return parse_document(query, max_tokens=self.max_tokens)

    def operation_type(self, query: str, operation_name: str | None) -> str:
        """`query`, `mutation`, `subscription`, or `unknown` when the document does not parse
        or names no single operation. May parse: call it off the event loop."""
        try:
            document = self.parse(query)
        except GraphQLError:
            return "unknown"
        except RecursionError:
            return "unknown"
        return operation_of(document, operation_name)

    def validate(
        self, schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...], key: bytes
    ) -> list[GraphQLError]:
        with self._lock:
            if self._valid.get((key, schema, rules)):
                return []
        errors = validate_document(schema, document, rules)
        if not errors:
            with self._lock:
                self._valid[(key, schema, rules)] = True
                if key not in self._documents and _size(document) <= self._documents.maxsize:
                    self._documents[key] = document
        return errors


def operation_of(document: DocumentNode, operation_name: str | None) -> str:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        ops = [op for op in ops if op.name is not None and op.name.value == operation_name]
    return ops[0].operation.value if len(ops) == 1 else "unknown"


def operation_name_of(document: DocumentNode, given: str | None) -> str | None:
    """`operationName`, else the name of the document's only operation."""
    if given is not None:
        return given
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return ops[0].name.value if len(ops) == 1 and ops[0].name is not None else None


@cache
def documents_for(max_tokens: int) -> Documents:
    """The process's document cache for one token limit (shared by every role's schema and
    the endpoint, as strawberry shares its own caches)."""
    return Documents(max_tokens)


class DocumentCacheExtension(SchemaExtension):
    """Parse and validate through `Documents`: a hit skips both, a miss caches the document
    only if it validates."""

    def __init__(self, documents: Documents) -> None:
        super().__init__()
        self.documents = documents
        self._key = b""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            # the document the endpoint parsed for this request (RequestContext.document),
            # else the cache's, else a parse
            given = getattr(context.context, "document", None)
            if given is not None:
                self._key = context.context.document_key or digest(context.query)
                context.graphql_document = given
            else:
                self._key = digest(context.query)
                context.graphql_document = self.documents.parse(context.query, self._key)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and self._key and context.pre_execution_errors is None:
            context.pre_execution_errors = self.documents.validate(
                context.schema._schema, context.graphql_document, tuple(context.validation_rules), self._key
            )
        yield


def input_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing input values written in the document (arguments, variable
    defaults) whose objects and lists nest deeper than `max_depth`; `variables` are checked
    where the request is read."""

    class MaxInputDepth(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._depth = 0

        def _enter(self, node: Any) -> Any:
            self._depth += 1
            if self._depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"an input value is nested more than {max_depth} levels deep "
                        "(objects and lists); simplify it",
                        node,
                    )
                )
                return self.BREAK
            return None

        def _leave(self, node: Any) -> None:
            self._depth -= 1

        def enter_object_value(self, node: ObjectValueNode, *_: Any) -> Any:
            return self._enter(node)

        def leave_object_value(self, node: ObjectValueNode, *_: Any) -> None:
            self._leave(node)

        def enter_list_value(self, node: ListValueNode, *_: Any) -> Any:
            return self._enter(node)

        def leave_list_value(self, node: ListValueNode, *_: Any) -> None:
            self._leave(node)

    return MaxInputDepth


def result_key(actor_key: bytes, query_key: bytes, variables: bytes, operation_name: str | None) -> bytes:
    """The result cache's key for one request (besides the snapshot): a SHA-256 of the actor's
    key, the document's digest, the variables and the operation name."""
    h = hashlib.sha256()
    for part in (actor_key, query_key, variables):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    h.update((operation_name or "").encode("utf-8", "surrogatepass"))
    return h.digest()
