"""The resolvers' own enforcement, on its own: the FULL schema (every field of every type)
executed with a restricted actor's access. Whatever the schema offers, the shared guard
refuses a hidden field, strips hidden values and the row filter still applies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from auth_gateway import demo_sections
from schema_estate import aid

from federation.access.errors import ForbiddenError
from federation.access.policy import RoleAccess, compile_policy
from federation.config.roles import RoleConfig
from federation.config.settings import ServerConfig
from federation.model import TABLES
from federation.model.where import FALSE
from federation.model.where import parse as parse_where
from federation.pipeline.store import StoreReader
from schema.build import build_schema
from schema.compile import Compiler
from schema.context import RequestContext
from schema.execute import decoded
from schema.selection import Selected
from schema.view import View

ROLES = {name: RoleConfig.model_validate(body or {}) for name, body in demo_sections()["roles"].items()}
POLICY = compile_policy(ROLES)


@pytest.fixture(scope="module")
def full_schema() -> Any:
    return build_schema()  # no `visible`: every field exists


def run(store: Path, schema: Any, role: str, query: str, **actor: Any) -> Any:
    access = POLICY.role(role)
    snapshot = StoreReader(store).current()
    ctx = RequestContext(
        snapshot=snapshot, server=ServerConfig(), actor={"role": role, **actor}, access=access
    )
    return decoded(schema.execute_sync(query, context_value=ctx))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("{ assets { asset_tag cost } }", "`cost` of `assets`", id="selection"),
        pytest.param("{ assets(where: {cost: {_gt: 0}}) { asset_tag } }", "`cost` of `assets`", id="where"),
        pytest.param("{ assets(order_by: {serial_number: asc}) { id } }", "`serial_number`", id="order_by"),
        pytest.param("{ assets(distinct_on: [department]) { id } }", "`department`", id="distinct_on"),
        pytest.param("{ assets { assigned_to { manager_id } } }", "`manager_id` of `people`", id="nested"),
        pytest.param("{ assets { provenance { field } } }", "`provenance`", id="provenance"),
        pytest.param("{ people { assets { asset_tag } } }", "`assets` of `people`", id="array-relation"),
        pytest.param(
            "{ people_aggregate { aggregate { count } } }", "aggregations over `people`", id="aggregate"
        ),
        pytest.param(
            "{ assets_aggregate { aggregate { max { asset_tag } } } }",
            "only counts over `assets`",
            id="count-only",
        ),
        pytest.param(
            "{ assets_aggregate { group_by(fields: [status]) { count } } }",
            "only counts over `assets`",
            id="count-only-group_by",
        ),
        pytest.param(f'{{ assets_by_pk(id: "{aid(1)}") {{ cost }} }}', "`cost`", id="by_pk"),
    ],
)
def test_guard_refuses_what_a_too_wide_schema_offers(
    schema_store: Path, full_schema: Any, query: str, field: str
) -> None:
    result = run(schema_store, full_schema, "employee", query, email="alice@example.com")
    assert result.errors, result.data
    error = result.errors[0]
    assert error.extensions["code"] == "FORBIDDEN"
    assert field in error.message


def test_row_filter_applies_under_a_too_wide_schema(schema_store: Path, full_schema: Any) -> None:
    result = run(
        schema_store, full_schema, "employee", "{ assets(order_by: {asset_tag: asc}) { asset_tag } }",
        email="bob@example.com",
    )  # fmt: skip
    assert result.errors is None
    assert [r["asset_tag"] for r in result.data["assets"]] == [
        "AT-002", "AT-005", "AT-009", "AT-011", "AT-014", "AT-018", "AT-019"
    ]  # fmt: skip


def test_search_under_a_too_wide_schema_ignores_hidden_columns(schema_store: Path, full_schema: Any) -> None:
    result = run(
        schema_store, full_schema, "employee", '{ assets(search: "SN002") { id } }', email="bob@example.com"
    )
    assert result.errors is None
    assert result.data == {"assets": []}


def test_the_compiler_emits_no_column_the_role_cannot_read(schema_store: Path) -> None:
    """Defence in depth: even a selection that skipped the door cannot make the compiler
    read a column the role may not read."""
    ctx = RequestContext(
        snapshot=StoreReader(schema_store).current(),  # type: ignore[arg-type]
        server=ServerConfig(),
        actor={"role": "employee", "email": "alice@example.com"},
        access=POLICY.role("employee"),
    )
    compiler = Compiler(ctx, View.make(TABLES, None, None))  # a view wider than the role's
    rows = compiler.rows(TABLES["assets"], {}, ["cost"], limit=1, offset=0)
    with pytest.raises(ForbiddenError, match="`cost` of `assets`"):
        compiler.object_fields(TABLES["assets"], [Selected("cost", "cost")], rows, 1, "assets")
    people = compiler.rows(TABLES["people"], {}, [], limit=1, offset=0)
    nested = [Selected("assets", "assets", {}, [Selected("id", "id")])]
    with pytest.raises(ForbiddenError, match="`assets` of `people`"):
        compiler.object_fields(TABLES["people"], nested, people, 1, "people")


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ assets { id } }", id="list"),
        pytest.param("{ assets_aggregate { aggregate { count } } }", id="aggregate"),
        pytest.param('{ assets_by_pk(id: "00000000-0000-0000-0000-000000000000") { id } }', id="by-pk"),
        pytest.param("{ sources { name } }", id="aux-root"),
    ],
)
def test_a_context_without_access_reads_nothing(schema_store: Path, full_schema: Any, query: str) -> None:
    """Deny by default: no role in the context is a refusal, never 'unrestricted'."""
    snapshot = StoreReader(schema_store).current()
    ctx = RequestContext(snapshot=snapshot, server=ServerConfig(), actor={"role": "nobody"}, access=None)  # type: ignore[arg-type]
    result = full_schema.execute_sync(query, context_value=ctx)
    assert result.errors, result.data
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("actor", "rows"),
    [
        pytest.param({"email": "alice@example.com"}, "own-or-catalog", id="with-email"),
        pytest.param({}, "catalog", id="missing-email-drops-only-its-branch"),
        pytest.param({"email": ""}, "catalog", id="empty-email"),
    ],
)
def test_missing_actor_values_only_take_rows_away(actor: dict[str, Any], rows: str) -> None:
    access: RoleAccess = POLICY.role("employee")  # type: ignore[assignment]
    found = access.row_filter("assets", actor)
    if rows == "catalog":
        assert found == parse_where({"_or": [{"status": {"_eq": "in_stock"}}]}, "assets")
    else:
        own = {"assigned_to": {"email": {"_eq": "alice@example.com"}}}
        assert found == parse_where({"_or": [own, {"status": {"_eq": "in_stock"}}]}, "assets")


def test_not_over_a_missing_value_matches_nothing() -> None:
    roles = {
        "r": RoleConfig.model_validate(
            {"types": {"assets": {"filter": {"_not": {"department": {"_eq": "X-Actor-Department"}}}}}}
        )
    }
    access = compile_policy(roles).role("r")
    assert access is not None
    assert access.row_filter("assets", {}) == FALSE
    assert access.row_filter("assets", {"department": "IT"}) == parse_where(
        {"_not": {"department": {"_eq": "IT"}}}, "assets"
    )


def test_allowed_answers_every_question() -> None:
    employee: RoleAccess = POLICY.role("employee")  # type: ignore[assignment]
    service_desk: RoleAccess = POLICY.role("service_desk")  # type: ignore[assignment]
    auditor: RoleAccess = POLICY.role("auditor")  # type: ignore[assignment]
    assert employee.allowed("read", "assets", "asset_tag")
    assert not employee.allowed("read", "assets", "cost")
    assert employee.allowed("request", "assets")
    assert not employee.allowed("checkout", "assets")
    assert service_desk.allowed("checkout", "assets")
    assert not service_desk.allowed("read", "assets", "cost")
    assert auditor.allowed("access_log")
    assert not auditor.allowed("update", "assets")
    assert not employee.allowed("quarantine")
