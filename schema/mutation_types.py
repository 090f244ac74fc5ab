"""The mutation root fields of one role's schema, Hasura's names and shapes:

    update_T_by_pk(pk_columns: T_pk_columns_input!, _set: T_set_input): T
    update_T(where: T_bool_exp!, _set: T_set_input): T_mutation_response
    insert_T_one(object: T_insert_input!): T
    insert_T(objects: [T_insert_input!]!): T_mutation_response
    delete_T_by_pk(id: uuid!): T
    delete_T(where: T_bool_exp!): T_mutation_response
    T_mutation_response { affected_rows: Int!  returning: [T!]! }

`T_set_input` holds exactly the columns the role may set (its `update` action's columns
that some source can write); `T_insert_input` those its `insert` covers that the entity's
home source can write. The resolvers are never called: schema.execute runs each
field's `Root` (`run`: schema/mutations.py).

No `from __future__ import annotations` here: the types are built at run time.
"""

from collections.abc import Collection, Mapping
from typing import Any

import strawberry

from federation.model import Table
from schema.execute import ROOT, Root
from schema.inputs import COLUMN_SCALARS, make_input
from schema.mutations import run_delete, run_insert, run_update
from schema.scalars import Uuid
from schema.view import View

UNSET: Any = strawberry.UNSET


def _compiled(info: strawberry.Info) -> Any:
    raise RuntimeError("mutation root fields are answered by schema.execute.CompiledExecution")


def _response(name: str, object_type: type) -> type:
    return strawberry.type(
        type(
            f"{name}_mutation_response",
            (),
            {
                "__annotations__": {"affected_rows": int, "returning": list[object_type]},
                "affected_rows": strawberry.field(description="number of rows affected by the mutation"),
                "returning": strawberry.field(description="data from the rows affected by the mutation"),
            },
        ),
        name=f"{name}_mutation_response",
        description=f'response of any mutation on the table "{name}"',
    )


def mutation_fields(
    view: View, table: Table, object_type: type, bool_exp: type, writes: Mapping[str, Collection[str]]
) -> dict[str, Any]:
    """The mutation root fields of `table` for the actions in `writes`: `update` and `insert`
    → the columns they may set; `delete` → anything (present: allowed)."""
    name = table.name
    fields: dict[str, Any] = {}
    response = _response(name, object_type) if writes else None
    updates = [c for c in table.column_names if c in set(writes.get("update") or ())]
    if updates:
        fields |= _updates(view, table, object_type, bool_exp, updates, response)
    inserts = [c for c in table.column_names if c in set(writes.get("insert") or ())]
    if inserts:
        fields |= _inserts(view, table, object_type, inserts, response)
    if "delete" in writes:
        fields |= _deletes(view, table, object_type, bool_exp, response)
    return fields


def _updates(
    view: View, table: Table, object_type: type, bool_exp: type, columns: list[str], response: Any
) -> dict[str, Any]:
    name = table.name
    set_input = make_input(
        f"{name}_set_input",
        {c: COLUMN_SCALARS[table.column(c).type][1] for c in columns},
        f'input type for updating data in table "{name}"',
    )
    pk_input = strawberry.input(
        type(f"{name}_pk_columns_input", (), {"__annotations__": {"id": Uuid}}),
        name=f"{name}_pk_columns_input",
        description=f'primary key columns input for table: "{name}"',
    )

    def by_pk(
        info: strawberry.Info, pk_columns: pk_input, _set: set_input | None = UNSET
    ) -> object_type | None:
        return _compiled(info)

    def many(info: strawberry.Info, where: bool_exp, _set: set_input | None = UNSET) -> response:
        return _compiled(info)

    return {
        f"update_{name}_by_pk": strawberry.field(
            name=f"update_{name}_by_pk",
            resolver=by_pk,
            description=f'update single row of the table: "{name}" (at the source that owns each field)',
            metadata={ROOT: Root("update_by_pk", name, view, run=run_update)},
        ),
        f"update_{name}": strawberry.field(
            name=f"update_{name}",
            resolver=many,
            description=f'update data of the table: "{name}"; written to the sources that own each field',
            metadata={ROOT: Root("update", name, view, run=run_update)},
        ),
    }


def _inserts(
    view: View, table: Table, object_type: type, columns: list[str], response: Any
) -> dict[str, Any]:
    name = table.name
    insert_input = make_input(
        f"{name}_insert_input",
        {c: COLUMN_SCALARS[table.column(c).type][1] for c in columns},
        f'input type for inserting data into table "{name}"',
    )

    def one(info: strawberry.Info, object: insert_input) -> object_type | None:
        return _compiled(info)

    def many(info: strawberry.Info, objects: list[insert_input]) -> response:
        return _compiled(info)

    return {
        f"insert_{name}_one": strawberry.field(
            name=f"insert_{name}_one",
            resolver=one,
            description=f'insert a single row into the table: "{name}" (created in its home source)',
            metadata={ROOT: Root("insert_one", name, view, run=run_insert)},
        ),
        f"insert_{name}": strawberry.field(
            name=f"insert_{name}",
            resolver=many,
            description=f'insert data into the table: "{name}" (created in its home source)',
            metadata={ROOT: Root("insert", name, view, run=run_insert)},
        ),
    }


def _deletes(view: View, table: Table, object_type: type, bool_exp: type, response: Any) -> dict[str, Any]:
    name = table.name

    def by_pk(info: strawberry.Info, id: Uuid) -> object_type | None:
        return _compiled(info)

    def many(info: strawberry.Info, where: bool_exp) -> response:
        return _compiled(info)

    return {
        f"delete_{name}_by_pk": strawberry.field(
            name=f"delete_{name}_by_pk",
            resolver=by_pk,
            description=f'delete single row from the table: "{name}" (from every source that holds it)',
            metadata={ROOT: Root("delete_by_pk", name, view, run=run_delete)},
        ),
        f"delete_{name}": strawberry.field(
            name=f"delete_{name}",
            resolver=many,
            description=f'delete data from the table: "{name}" (from every source that holds it)',
            metadata={ROOT: Root("delete", name, view, run=run_delete)},
        ),
    }
