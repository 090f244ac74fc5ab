"""The request tests' estate: a CMDB in SQLite (ServiceNow's tables and codes) with people
and their managers and laptops in stock on both sides of the demo's 2,000 threshold, synced
and served over real HTTP with the demo config's roles and `forms:` section."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from auth_gateway import REPO, TEST_ROLES, demo_sections, make_config, token
from support.serving import synced_and_served

from federation.config.settings import Config

# ServiceNow's install_status codes: 1 installed (in use), 6 in stock
CMDB = """
CREATE TABLE sys_user (user_name TEXT PRIMARY KEY, email TEXT, name TEXT, active TEXT, manager TEXT);
INSERT INTO sys_user VALUES
    ('bob', 'bob@example.com', 'Bob Boss', 'true', NULL),
    ('ann', 'ann@example.com', 'Ann Asker', 'true', 'bob'),
    ('cy', 'cy@example.com', 'Cy Colleague', 'true', 'bob'),
    ('nomgr', 'nomgr@example.com', 'No Manager', 'true', NULL);
CREATE TABLE ci_computer (sys_id TEXT PRIMARY KEY, asset_tag TEXT, serial_number TEXT, name TEXT,
    model_category TEXT, model TEXT, install_status INTEGER, cost REAL, assigned_to TEXT);
INSERT INTO ci_computer VALUES
    ('c1', 'L-001', 'SN001', 'lt-001', 'Laptop', 'XPS 13', 1, 1100, 'ann@example.com'),
    ('c2', 'L-002', 'SN002', 'lt-002', 'Laptop', 'XPS 13', 6, 900, NULL),
    ('c3', 'L-003', 'SN003', 'lt-003', 'Laptop', 'MacBook Pro 16', 6, 2500, NULL),
    ('c4', 'L-004', 'SN004', 'lt-004', 'Laptop', 'MacBook Pro 16', 6, 2500, NULL),
    ('c5', 'P-005', 'SN005', 'ph-005', 'Phone', 'Pixel', 6, 500, NULL);
"""

#: the emails of the people above, by role in these tests
ANN, BOB, CY, NOMGR = "ann@example.com", "bob@example.com", "cy@example.com", "nomgr@example.com"
DESK, LEADER = "dan@example.com", "lea@example.com"


#: a role of these tests only: the employee's types, with a catalog priced up to 1,000 (not
#: inherited: an inherited catalog adds the employee's wider band)
BUDGET_CATALOG = {
    "categories": ["laptop", "phone"],
    "price": {"max": 1000},
    "columns": ["asset_tag", "status"],
}


def demo_forms() -> dict[str, Any]:
    return yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["forms"]


@dataclass
class RequestGateway:
    http: httpx.Client
    db: Path
    config: Config

    def post(self, role: str, email: str | None, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token(role, email=email)}"}
        response = self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def cell(self, sql: str, *params: Any) -> Any:
        with sqlite3.connect(self.db) as con:
            return con.execute(sql, params).fetchone()[0]

    def asset_id(self, tag: str) -> str:
        body = self.post(
            "admin", None, "query($t: String) { assets(where: {asset_tag: {_eq: $t}}) { id } }", t=tag
        )
        return str(body["data"]["assets"][0]["id"])


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RequestGateway]:
    config, db = request_config(tmp_path)
    with synced_and_served(config) as http:
        yield RequestGateway(http, db, config)


def request_config(
    tmp_path: Path, *, sources: Sequence[dict[str, Any]] = (), **overrides: Any
) -> tuple[Config, Path]:
    """The estate's CMDB written into `tmp_path`, and its config: the demo's forms and roles,
    `sources` added to the CMDB, `overrides` to the sections."""
    db = tmp_path / "cmdb.sqlite"
    with sqlite3.connect(db) as con:
        con.executescript(CMDB)
    extra = list(sources)
    cmdb = [
        {
            "name": "cmdb",
            "kind": "sql",
            "url": f"sqlite:///{db}",
            "entities": {
                "assets": {
                    "table": "ci_computer",
                    "id": "sys_id",
                    "fields": {
                        "asset_tag": "asset_tag",
                        "serial_number": "serial_number",
                        "hostname": "name",
                        "category": "model_category",
                        "model": "model",
                        "status": "install_status",
                        "cost": {"column": "cost", "currency": "USD"},
                        "assigned_to": "assigned_to",
                    },
                },
                "people": {
                    "table": "sys_user",
                    "id": "user_name",
                    "fields": {
                        "email": "email",
                        "username": "user_name",
                        "name": "name",
                        "employment_status": "active",
                        "manager": "manager",
                    },
                },
            },
        }
    ]
    demo_roles = demo_sections()["roles"]
    budget = {"types": demo_roles["employee"]["types"], "catalog": BUDGET_CATALOG}
    # the employee's grants with the change history (the transitions of the requests it sees)
    history = {"inherits": ["employee"], "changes": True}
    roles = {**demo_roles, **TEST_ROLES, "budget": budget, "employee_history": history}
    overrides = {"forms": demo_forms(), "roles": roles, **overrides}
    return make_config(tmp_path, sources=[*cmdb, *extra], **overrides), db
