"""Generated mutations across roles write nothing outside a role's actions, columns or rows.

Hypothesis sends updates (by id and by `where`) as roles with different grants, setting
fields they may and may not set, on rows inside and outside their filters. They run through
the widest schema (the admin's) with the role's access in the context, as the no-leak test
reads: the role's own schema would refuse most of them at validation, and this test is about
the door behind it. After each one the CMDB's rows are read directly: a row that changed
must be one the role was allowed to change, judged here from the role's grants as the config
states them (not from the code under test). It fails when a check of the door is removed
(tried: the column check in `authorize_write`, the action check, the row filter)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from write_gateway import Gateway

from federation.pipeline.store import StoreReader
from federation.serving.app import make_security
from schema.context import RequestContext


def _network(row: dict[str, Any]) -> bool:
    return "network" in str(row["model_category"]).lower()


def _in_stock(row: dict[str, Any]) -> bool:
    # ServiceNow's 6 = in stock (its documentation)
    return str(row["install_status"]).strip().lower() in ("6", "in stock", "in_stock")


#: the roles' update grants, restated from config.yaml and write_gateway.WRITE_ROLES:
#: role → (fields it may set, which rows it may touch: a test of the CMDB row, or None: all)
GRANTS: dict[str, tuple[set[str], Callable[[dict[str, Any]], bool] | None]] = {
    "admin": ({"status", "location_id", "category", "hostname", "cost", "serial_number", "asset_tag"}, None),
    "network_team": ({"status", "location_id", "os"}, _network),
    "stock_keeper": ({"status"}, _in_stock),
    "service_desk": (set(), None),
    "employee": (set(), None),
    "auditor": (set(), None),
}
TAGS = ["A-001", "A-002", "A-003", "A-004", "A-005"]
STATUS = st.sampled_from(["in_use", "in_stock", "in_repair", "retired", "lost"])
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "status": STATUS,
    "hostname": st.sampled_from(["core-9", "lt-999"]),
    "category": st.sampled_from(["laptop", "network"]),
    "cost": st.integers(1, 5000),
}
#: ci_computer's columns each field is stored in
COLUMNS = {"status": "install_status", "hostname": "name", "category": "model_category", "cost": "cost"}


def _rows(gateway: Gateway) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(gateway.db) as con:
        return {r[0]: r[1:] for r in con.execute("SELECT asset_tag, * FROM ci_computer ORDER BY sys_id")}


def _row(gateway: Gateway, tag: str) -> dict[str, Any]:
    with sqlite3.connect(gateway.db) as con:
        con.row_factory = sqlite3.Row
        return dict(con.execute("SELECT * FROM ci_computer WHERE asset_tag = ?", [tag]).fetchone())


_SECURITY: dict[int, Any] = {}


def _run(gateway: Gateway, role: str, query: str) -> None:
    """`query` through the admin's schema, with `role`'s access: only the door stands between."""
    key = id(gateway)
    if key not in _SECURITY:
        _SECURITY.clear()
        config = gateway.config
        reader = StoreReader(config.resolve(config.settings.store.path))
        _SECURITY[key] = (make_security(config, reader), reader)
    security, reader = _SECURITY[key]
    access = security.policy.role(role)
    ctx = RequestContext(
        snapshot=reader.current(),
        server=gateway.config.settings.server,
        actor={"role": role, "subject": f"test-{role}"},
        access=access,
        writer=security.writer,
    )
    security.schemas.schema(security.policy.role("admin")).execute_sync(query, context_value=ctx)


def _inside(grant: Callable[[dict[str, Any]], bool] | None, row: dict[str, Any]) -> bool:
    return grant is None or grant(row)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    role=st.sampled_from(sorted(GRANTS)),
    tag=st.sampled_from(TAGS),
    by_pk=st.booleans(),
    values=st.dictionaries(st.sampled_from(sorted(VALUES)), st.none(), min_size=1, max_size=2).flatmap(
        lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in keys})
    ),
)
def test_no_write_lands_outside_the_role_grants(
    gateway: Gateway, role: str, tag: str, by_pk: bool, values: dict[str, Any]
) -> None:
    before_all = _rows(gateway)
    before = _row(gateway, tag)
    asset_id = gateway.post("admin", f'{{ assets(where: {{asset_tag: {{_eq: "{tag}"}}}}) {{ id }} }}')
    (found,) = asset_id["data"]["assets"]
    set_sql = ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items())
    if by_pk:
        call = f'update_assets_by_pk(pk_columns: {{id: "{found["id"]}"}}, _set: {{{set_sql}}}) {{ id }}'
    else:
        call = (
            f'update_assets(where: {{asset_tag: {{_eq: "{tag}"}}}}, _set: {{{set_sql}}}) {{ affected_rows }}'
        )
    query = f"mutation {{ {call} }}"
    _run(gateway, role, query)
    after_all = _rows(gateway)
    # nothing but the targeted row may change
    assert {t: r for t, r in after_all.items() if t != tag} == {
        t: r for t, r in before_all.items() if t != tag
    }
    after = _row(gateway, tag)
    if after == before:
        return
    columns, rows = GRANTS[role]
    changed = {k for k, column in COLUMNS.items() if before[column] != after[column]}
    assert changed <= columns, f"{role} changed {changed} of {tag}, may set only {columns}"
    assert _inside(rows, before), f"{role} wrote {tag}, a row outside its filter"
    assert _inside(rows, after), f"{role} moved {tag} out of its filter"
