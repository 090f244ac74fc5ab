"""One GraphQL schema per role, built on first use and kept; and the FORBIDDEN answer.

A role's schema (schema.build with the role's `visible` columns) is what its introspection
shows and what validates its queries. A query that fails there is checked against the full
schema: if it names a field, type, filter, sort or select column the role may not read, the
answer is FORBIDDEN naming that field (`field \\`cost\\` of \\`assets\\` is not readable by role
\\`employee\\``); otherwise the role schema's own BAD_USER_INPUT errors stand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    EnumValueNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_named_type,
    type_from_ast,
    visit,
)

from federation.access.errors import ForbiddenError
from federation.access.policy import Policy, RoleAccess, unrestricted
from federation.model import TABLES, Table
from schema.authorize import authorize_nothing, catalog_field_allowed
from schema.build import build_schema

_STATS = ("sum", "avg", "min", "max")
_ROOT = "query_root"
_MUTATION_ROOT = "mutation_root"
#: root field over the gateway's own tables → the capability it needs
ROOT_CAPABILITIES = {
    "sources": "sources",
    "quarantine": "quarantine",
    "ambiguities": "ambiguities",
    "access_log": "access_log",
    "changes": "changes",
    "quality": "quarantine",
    "quality_summary": "quarantine",
    "tickets": "tickets",
}
#: root field over the gateway's own tables → the actions on assets one of which it needs
ROOT_ACTIONS = {
    "requests": ("request", "approve", "fulfil"),
    "request_form": ("request",),
    "checkouts": ("checkout", "checkin"),
}
#: the catalog's types → the prefix of their fields in `catalog_field_allowed`
CATALOG_TYPES = {
    "catalog_entry": "",
    "catalog_bool_exp": "",
    "catalog_order_by": "",
    "catalog_asset": "assets.",
}
#: mutation root field → the capability it needs
MUTATION_CAPABILITIES = {"sync_source": "sync", "retry_tickets": "tickets"}
#: mutation root field → the action on a type it needs (beyond update_T/insert_T/delete_T)
MUTATION_ACTIONS = {
    "checkout_asset": ("checkout", "assets"),
    "checkout_assets": ("checkout", "assets"),
    "checkin_asset": ("checkin", "assets"),
    "checkin_assets": ("checkin", "assets"),
    "log_maintenance": ("maintain", "assets"),
    "close_maintenance": ("maintain", "assets"),
    "submit_request": ("request", "assets"),
    "cancel_request": ("request", "assets"),
    "fulfil_request": ("fulfil", "assets"),
}
#: mutation root field → the actions on assets one of which it needs (beyond MUTATION_ACTIONS)
MUTATION_ANY = {"approve_request": ("approve", "request"), "reject_request": ("approve", "request")}


def _no_access(info: strawberry.Info) -> str:
    # GraphQL needs one root field; like every root field it passes the door (it reads nothing)
    authorize_nothing(info.context, info.path.key)
    return "this role reads nothing: send a token or an API key"


_NO_ACCESS = strawberry.field(
    resolver=_no_access, name="no_access", description="This role may read nothing."
)


def type_kinds(tables: Mapping[str, Table]) -> dict[str, tuple[str, str]]:
    """GraphQL type name → (kind, table) for every type generated per table."""
    kinds: dict[str, tuple[str, str]] = {}
    for name in tables:
        kinds[name] = ("object", name)
        kinds[f"{name}_bool_exp"] = ("field", name)
        kinds[f"{name}_order_by"] = ("field", name)
        kinds[f"{name}_select_column"] = ("field", name)
        kinds[f"{name}_aggregate"] = ("aggregate", name)
        kinds[f"{name}_aggregate_fields"] = ("aggregate", name)
        kinds[f"{name}_group"] = ("aggregate", name)
        for function in _STATS:
            kinds[f"{name}_{function}_fields"] = ("field", name)
        kinds[f"{name}_set_input"] = ("set", name)
        kinds[f"{name}_insert_input"] = ("insert", name)
    return kinds


# ----------------------------------------------------------------------------- document walk


class _Uses(Visitor):
    def __init__(self, type_info: TypeInfo, out: list[tuple[str, str]]) -> None:
        super().__init__()
        self.type_info = type_info
        self.out = out

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        known = self.type_info.get_field_def() is not None
        if parent is not None and known and not node.name.value.startswith("__"):
            self.out.append((parent.name, node.name.value))

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_input_type()
        named = get_named_type(parent) if parent is not None else None
        if isinstance(named, GraphQLInputObjectType) and node.name.value in named.fields:
            self.out.append((named.name, node.name.value))

    def enter_enum_value(self, node: EnumValueNode, *_: Any) -> None:
        named = get_named_type(self.type_info.get_input_type())
        if isinstance(named, GraphQLEnumType) and node.value in named.values:
            self.out.append((named.name, node.value))


class _JsonKeys(Visitor):
    """`type.column.key` for each key of a JSON column a document names literally in a filter
    (`_has_key`, the keys of a `_contains`/`_eq`/`_neq` object), for the access log."""

    def __init__(self, type_info: TypeInfo, kinds: Mapping[str, tuple[str, str]], out: set[str]) -> None:
        super().__init__()
        self.type_info = type_info
        self.kinds = kinds
        self.out = out
        self.stack: list[tuple[str | None, str]] = []

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_input_type()
        named = get_named_type(parent) if parent is not None else None
        self.stack.append((named.name if named is not None else None, node.name.value))
        if named is None or named.name != "jsonb_comparison_exp" or len(self.stack) < 2:
            return
        owner, column = self.stack[-2]
        kind = self.kinds.get(owner or "")
        if kind is None:
            return
        keys: list[str] = []
        if node.name.value == "_has_key" and isinstance(node.value, StringValueNode):
            keys = [node.value.value]
        elif node.name.value in ("_contains", "_eq", "_neq") and isinstance(node.value, ObjectValueNode):
            keys = [f.name.value for f in node.value.fields]
        self.out.update(f"{kind[1]}.{column}.{key}" for key in keys)

    def leave_object_field(self, *_: Any) -> None:
        self.stack.pop()


def _value_uses(type_: Any, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(type_, GraphQLNonNull):
        _value_uses(type_.of_type, value, out)
    elif isinstance(type_, GraphQLList):
        for item in value if isinstance(value, list) else [value]:
            _value_uses(type_.of_type, item, out)
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        for key, item in value.items():
            if key in type_.fields:
                out.append((type_.name, key))
                _value_uses(type_.fields[key].type, item, out)
    elif isinstance(type_, GraphQLEnumType) and isinstance(value, str) and value in type_.values:
        out.append((type_.name, value))


def document_uses(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None
) -> list[tuple[str, str]]:
    """(type name, field / input field / enum value) for everything the document and its
    variables name, resolved against `schema` (names it does not know are skipped)."""
    out: list[tuple[str, str]] = []
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _Uses(type_info, out)))
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for var in definition.variable_definitions or ():
            name = var.variable.name.value
            if variables and name in variables:
                type_ = type_from_ast(schema, var.type)  # type: ignore[arg-type]
                if type_ is not None:
                    _value_uses(type_, variables[name], out)
    return out


def check_use(access: RoleAccess, kinds: Mapping[str, tuple[str, str]], type_name: str, name: str) -> None:
    """Raise ForbiddenError if the role may not use `name` of `type_name`."""
    if type_name == _ROOT:
        if name in access.models:
            access.ensure_readable(name)
        elif name.endswith("_by_pk") and name.removesuffix("_by_pk") in access.models:
            access.ensure_readable(name.removesuffix("_by_pk"))
        elif name.endswith("_aggregate") and name.removesuffix("_aggregate") in access.models:
            access.ensure_readable(name.removesuffix("_aggregate"))
            access.ensure_aggregate(name.removesuffix("_aggregate"))
        elif name in ROOT_CAPABILITIES and not access.allowed(ROOT_CAPABILITIES[name]):
            raise ForbiddenError(f"`{name}` is not readable by role `{access.role}`", role=access.role)
        elif name in ROOT_ACTIONS and not any(access.allowed(a, "assets") for a in ROOT_ACTIONS[name]):
            raise ForbiddenError(
                f"`{name}` needs the {' or '.join(ROOT_ACTIONS[name])} action on assets, which role "
                f"`{access.role}` lacks",
                role=access.role,
            )
        elif name == "catalog" and access.catalog is None:
            raise ForbiddenError(f"`{name}` is not readable by role `{access.role}`", role=access.role)
        return
    if type_name == _MUTATION_ROOT:
        capability = MUTATION_CAPABILITIES.get(name)
        if capability is not None and not access.allowed(capability):
            raise ForbiddenError(f"`{name}` is not allowed for role `{access.role}`", role=access.role)
        if name in MUTATION_ANY and not any(access.allowed(a, "assets") for a in MUTATION_ANY[name]):
            raise ForbiddenError(
                f"`{name}` needs the {' or '.join(MUTATION_ANY[name])} action on assets, which role "
                f"`{access.role}` lacks",
                type="assets",
                role=access.role,
            )
        if name in MUTATION_ACTIONS:
            action, table = MUTATION_ACTIONS[name]
            if not access.allowed(action, table):
                raise ForbiddenError(
                    f"role `{access.role}` may not {action} `{table}`", type=table, role=access.role
                )
        for action in ("update", "insert", "delete"):
            table = name.removeprefix(f"{action}_").removesuffix("_by_pk").removesuffix("_one")
            if name.startswith(f"{action}_") and table in access.models and not access.allowed(action, table):
                raise ForbiddenError(
                    f"role `{access.role}` may not {action} `{table}`", type=table, role=access.role
                )
        return
    if type_name in CATALOG_TYPES:
        if name not in ("_and", "_or", "_not") and not catalog_field_allowed(
            access, CATALOG_TYPES[type_name] + name
        ):
            raise ForbiddenError(
                f"field `{name}` of `catalog` is not readable by role `{access.role}`",
                type="catalog",
                field=name,
                role=access.role,
            )
        return
    kind = kinds.get(type_name)
    if kind is None:
        return
    what, table = kind
    if name in ("_and", "_or", "_not"):
        return
    if what in ("set", "insert"):
        action = "update" if what == "set" else "insert"
        if name not in access.writable_columns(table, action):
            raise ForbiddenError(
                f"field `{name}` of `{table}` is not writable by role `{access.role}`",
                type=table,
                field=name,
                role=access.role,
            )
        return
    if what == "aggregate":
        access.ensure_aggregate(table)
        if name in ("sum", "avg", "min", "max", "group_by"):
            access.ensure_statistics(table)
        return
    model = access.models[table]
    relations = {r.name: r for r in model.relations}
    if what == "object" and name.endswith("_aggregate") and name.removesuffix("_aggregate") in relations:
        relation = relations[name.removesuffix("_aggregate")]
        access.ensure_readable(table, relation.name)
        access.ensure_readable(relation.target)
        access.ensure_aggregate(relation.target)
        return
    access.ensure_readable(table, name)
    if type_name in (f"{table}_order_by", f"{table}_select_column"):
        access.ensure_whole(table, name)  # a JSON column read key by key
    if name in relations:
        access.ensure_readable(relations[name].target)


# ----------------------------------------------------------------------------- schemas


class RoleSchemas:
    """role → its schema (built lazily, ~50 ms and ~0.6 MiB each); the full schema for the
    FORBIDDEN check."""

    def __init__(
        self,
        policy: Policy,
        *,
        install: Callable[[strawberry.Schema], Any] | None = None,
        root_fields: Any = None,
        mutation_fields: Any = None,
        writes: Callable[[RoleAccess], Mapping[str, Mapping[str, Collection[str]]]] | None = None,
        tables: Mapping[str, Table] = TABLES,
    ) -> None:
        self.policy = policy
        #: adds the serving layer's extensions (caches, limits) to each schema built
        self.install = install
        self.tables = tables
        #: access → extra root fields (the access log), or None
        self.root_fields = root_fields
        #: access → its mutation root fields (sync_source, …), or None
        self.mutation_fields = mutation_fields
        #: access → table → action → the columns its mutations may set, or None (read-only)
        self.writes = writes
        self.kinds = type_kinds(tables)
        self._schemas: dict[str, strawberry.Schema] = {}
        self._full: GraphQLSchema | None = None
        self._lock = threading.Lock()

    def schema(self, access: RoleAccess) -> strawberry.Schema:
        found = self._schemas.get(access.role)
        if found is not None:
            return found
        with self._lock:
            found = self._schemas.get(access.role)
            if found is None:
                extra = dict(self.root_fields(access)) if self.root_fields else {}
                if not access.visible() and not extra:
                    extra["no_access"] = _NO_ACCESS  # GraphQL needs one root field
                found = build_schema(
                    self.tables,
                    access.visible(),
                    allow_aggregations=access.aggregations(),
                    count_only=access.count_only(),
                    keyed=access.keyed_columns(),
                    root_fields=extra,
                    mutation_fields=dict(self.mutation_fields(access)) if self.mutation_fields else None,
                    writes=self.writes(access) if self.writes else None,
                )
                if self.install is not None:
                    self.install(found)
                self._schemas[access.role] = found
            return found

    def full(self) -> GraphQLSchema:
        if self._full is None:
            with self._lock:
                if self._full is None:
                    admin = unrestricted("admin", self.tables)
                    mutations = dict(self.mutation_fields(admin)) if self.mutation_fields else None
                    self._full = build_schema(
                        self.tables,
                        root_fields=self._all_roots(),
                        mutation_fields=mutations,
                        writes=self.writes(admin) if self.writes else None,
                    )._schema
        return self._full

    def _all_roots(self) -> Any:
        if not self.root_fields:
            return None
        return self.root_fields(unrestricted("admin", self.tables))

    def forbidden(
        self, access: RoleAccess, document: DocumentNode, variables: Mapping[str, Any] | None
    ) -> ForbiddenError | None:
        """The FORBIDDEN error for a document the role's schema refused, if it names something
        the role may not read; None when the refusal is an ordinary mistake. `document` is
        the one the request parsed (never parsed again here)."""
        for type_name, name in iter_uses(self.full(), document, variables):
            try:
                check_use(access, self.kinds, type_name, name)
            except ForbiddenError as exc:
                return exc
        return None

    def asked_writes(
        self, document: DocumentNode, variables: Mapping[str, Any] | None
    ) -> list[tuple[str, list[str], str | None]]:
        """(type, the fields the document sets on it, the id a `_by_pk` field names) for each
        write the document asks (`update_T`, `insert_T`, `delete_T`, the desk's actions), for
        the history of a refusal."""
        schema = self.full()
        if schema.mutation_type is None:
            return []
        columns: dict[str, list[str]] = {}
        for type_name, name in iter_uses(schema, document, variables):
            kind = self.kinds.get(type_name)
            if kind is not None and kind[0] in ("set", "insert") and name not in columns.get(kind[1], []):
                columns.setdefault(kind[1], []).append(name)
        out = []
        for definition in document.definitions:
            if (
                not isinstance(definition, OperationDefinitionNode)
                or definition.operation.value != "mutation"
            ):
                continue
            for node in definition.selection_set.selections:
                name = getattr(getattr(node, "name", None), "value", "")
                table = written_table(name, self.kinds)
                if table is None or not isinstance(node, FieldNode):
                    continue
                entity_id = _pk_of(node, variables or {}) if name.endswith("_by_pk") else None
                out.append((table, columns.get(table, []), entity_id))
        return out


def _pk_of(node: FieldNode, variables: Mapping[str, Any]) -> str | None:
    """The id a `_by_pk` mutation names (`id:` or `pk_columns: {id:}`), literal or variable."""

    def value(item: Any) -> Any:
        if isinstance(item, VariableNode):
            return variables.get(item.name.value)
        if isinstance(item, ObjectValueNode):
            return {f.name.value: value(f.value) for f in item.fields}
        return getattr(item, "value", None)

    for arg in node.arguments or ():
        found = value(arg.value)
        if arg.name.value == "pk_columns" and isinstance(found, Mapping):
            found = found.get("id")
        if arg.name.value in ("id", "pk_columns") and isinstance(found, str):
            return found
    return None


def written_table(root: str, kinds: Mapping[str, tuple[str, str]]) -> str | None:
    """The type a mutation root field writes (`update_assets_by_pk` → assets), if any."""
    if root in MUTATION_ACTIONS:  # the desk's, that write assets (not the request workflow's)
        action, table = MUTATION_ACTIONS[root]
        return table if action in ("checkout", "checkin", "maintain", "fulfil") else None
    tables = {table for _, table in kinds.values()}
    for action in ("update", "insert", "delete"):
        table = root.removeprefix(f"{action}_").removesuffix("_by_pk").removesuffix("_one")
        if root.startswith(f"{action}_") and table in tables:
            return table
    return None


def iter_uses(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None
) -> Iterator[tuple[str, str]]:
    yield from document_uses(schema, document, variables)


def touched_fields(
    schema: GraphQLSchema, document: DocumentNode, kinds: Mapping[str, tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """(types, `type.field` names) a parsed document reads, for the access log; with
    `type.column.key` for keys of a JSON column its filters name (`attributes.ram_gb`)."""
    types: set[str] = set()
    fields: set[str] = set()
    for type_name, name in document_uses(schema, document, None):
        if type_name == _MUTATION_ROOT:
            types.add(name)
            continue
        if type_name == _ROOT:
            for suffix in ("_by_pk", "_aggregate", ""):
                if name.endswith(suffix) and name.removesuffix(suffix) in kinds:
                    types.add(name.removesuffix(suffix))
                    break
            else:
                types.add(name)
            continue
        kind = kinds.get(type_name)
        if kind is not None and kind[0] != "aggregate" and not name.startswith("_"):
            fields.add(f"{kind[1]}.{name}")
    # keys of JSON columns named in the document's filters (not those in variables)
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _JsonKeys(type_info, kinds, fields)))
    return sorted(types), sorted(fields)
