"""Every root field of every role's schema passes the one door (`schema.authorize`) before
it reads anything: a test enumerates them all, so a root field added without the door fails
here. And the door denies by default: a context without an access reads nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from auth_gateway import demo_sections
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type

from federation.access.policy import compile_policy, unrestricted
from federation.config.roles import RoleConfig
from federation.config.settings import ServerConfig
from federation.pipeline.store import StoreReader
from federation.serving.access_log import AccessLog
from federation.serving.access_log import root_fields as access_log_fields
from schema.context import RequestContext
from schema.roles import RoleSchemas

ROLES = {name: RoleConfig.model_validate(body or {}) for name, body in demo_sections()["roles"].items()}
POLICY = compile_policy(ROLES)
ANY_ID = "00000000-0000-0000-0000-000000000000"


def _query(name: str, field: Any) -> str:
    """The smallest document that resolves root field `name`."""
    args = [f'{a}: "{ANY_ID}"' for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)]
    call = f"{name}({', '.join(args)})" if args else name
    named = get_named_type(field.type)
    selection = " { __typename }" if isinstance(named, GraphQLObjectType) else ""
    return f"{{ {call}{selection} }}"


def _roots(tmp: Path) -> list[Any]:
    schemas = RoleSchemas(POLICY, root_fields=access_log_fields(AccessLog(tmp / "log")))
    out = []
    for role, access in sorted(POLICY.roles.items()):
        schema = schemas.schema(access)
        for name, field in schema._schema.query_type.fields.items():  # type: ignore[union-attr]
            out.append(pytest.param(role, schema, name, _query(name, field), id=f"{role}.{name}"))
    return out


def test_every_root_field_of_every_role_passes_the_door(schema_store: Path, tmp_path: Path) -> None:
    roots = _roots(tmp_path)
    assert len(roots) > 30, "the demo roles expose fewer root fields than expected"
    snapshot = StoreReader(schema_store).current()
    skipped_the_door = []
    for param in roots:
        role, schema, name, query = param.values
        ctx = RequestContext(
            snapshot=snapshot,  # type: ignore[arg-type]
            server=ServerConfig(),
            actor={"role": role, "email": "alice@example.com"},
            access=POLICY.role(role),
        )
        result = schema.execute_sync(query, context_value=ctx)
        refused = any((e.extensions or {}).get("code") == "FORBIDDEN" for e in result.errors or [])
        if name not in ctx.authorized and not refused:
            skipped_the_door.append(f"{role}.{name}: {result.errors or 'answered'}")
        if result.errors and not refused:
            skipped_the_door.append(f"{role}.{name}: unexpected error {result.errors[0].message}")
    assert skipped_the_door == []


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ assets { id } }", id="list"),
        pytest.param("{ people_aggregate { aggregate { count } } }", id="aggregate"),
        pytest.param(f'{{ locations_by_pk(id: "{ANY_ID}") {{ id }} }}', id="by-pk"),
        pytest.param("{ quarantine { source } }", id="quarantine"),
        pytest.param("{ sources { name } }", id="sources"),
        pytest.param("{ access_log { id } }", id="access-log"),
    ],
)
def test_no_access_means_no_answer(schema_store: Path, tmp_path: Path, query: str) -> None:
    """The widest schema, a context that names no access: refused, never unrestricted."""
    schemas = RoleSchemas(POLICY, root_fields=access_log_fields(AccessLog(tmp_path / "log")))
    schema = schemas.schema(unrestricted("admin"))
    ctx = RequestContext(
        snapshot=StoreReader(schema_store).current(),  # type: ignore[arg-type]
        server=ServerConfig(),
        actor={"role": "admin"},
        access=None,
    )
    result = schema.execute_sync(query, context_value=ctx)
    assert result.errors, result.data
    assert {e.extensions["code"] for e in result.errors} == {"FORBIDDEN"}
    assert ctx.authorized == set()
