"""The write tests' estate: a CMDB in SQLite (ServiceNow's tables and codes) and a finance
sheet, synced, served over real HTTP with the demo's roles; helpers to query as a role and
to read the source's rows directly."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from auth_gateway import TEST_ROLES, demo_sections, make_config, token
from support.serving import synced_and_served

from federation.config.settings import Config

# ServiceNow's install_status codes (its documentation): 1 installed, 3 in maintenance, 6 in stock
CMDB = """
CREATE TABLE cmn_location (sys_id TEXT PRIMARY KEY, name TEXT);
CREATE TABLE sys_user (user_name TEXT PRIMARY KEY, email TEXT, name TEXT, active TEXT);
INSERT INTO sys_user VALUES ('ann', 'ann@example.com', 'Ann Active', 'true'),
    ('lee', 'lee@example.com', 'Lee Left', 'false');
CREATE TABLE ci_computer (sys_id TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(16)))),
    asset_tag TEXT, serial_number TEXT, name TEXT,
    model_category TEXT, install_status INTEGER, location TEXT, cost REAL, assigned_to TEXT);
INSERT INTO cmn_location VALUES ('L1', 'Berlin HQ'), ('L2', 'London Office');
INSERT INTO ci_computer VALUES
    ('c1', 'A-001', 'SN001', 'lt-001', 'Laptop', 1, 'Berlin HQ', 1000, 'ann@example.com'),
    ('c2', 'A-002', 'SN002', 'sw-002', 'Network Gear', 6, 'London Office', 5000, NULL),
    ('c3', 'A-003', 'SN003', 'sw-003', 'Network Gear', 1, 'Berlin HQ', 7000, NULL),
    ('c4', 'A-004', 'SN004', 'lt-004', 'Laptop', 6, 'Berlin HQ', 900, NULL),
    ('c5', 'A-005', 'SN005', 'lt-005', 'Laptop', 6, 'Berlin HQ', 900, NULL);
"""
FINANCE = "Serial,Cost\nSN001,1234.5\n"


#: roles of these tests only
WRITE_ROLES: dict[str, Any] = {
    # sees the stock only, and may set its status: it may not send an asset out of its sight
    "stock_keeper": {
        "types": {
            "assets": {
                "columns": ["asset_tag", "status", "category"],
                "filter": {"status": {"_eq": "in_stock"}},
                "actions": [{"update": ["status"]}],
            }
        }
    },
    # a desk for the stock only: it may check assets out, but a checked-out asset leaves its
    # sight (status in_use), so the write that would move it out is refused
    "stock_desk": {
        "types": {
            "assets": {
                "columns": ["asset_tag", "status", "category", "location_id", "assigned_to_id"],
                "filter": {"status": {"_eq": "in_stock"}},
                "actions": ["checkout"],
            },
            "locations": {"columns": ["name"]},
            "people": {"columns": ["email"]},
        }
    },
    # the change history, without costs
    "cost_blind_auditor": {
        "types": {"assets": {"columns": ["asset_tag", "status", "history"]}},
        "changes": True,
    },
}


@dataclass
class Gateway:
    http: httpx.Client
    db: Path
    config: Config

    def post(self, role: str, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token(role)}"}
        response = self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def cell(self, sql: str, *params: Any) -> Any:
        with sqlite3.connect(self.db) as con:
            return con.execute(sql, params).fetchone()[0]

    def asset(self, tag: str) -> dict[str, Any]:
        body = self.post(
            "admin",
            "query($t: String) { assets(where: {asset_tag: {_eq: $t}}) "
            "{ id status category cost location_id location { name } } }",
            t=tag,
        )
        (row,) = body["data"]["assets"]
        return row

    def person(self, email: str) -> str:
        body = self.post("admin", "query($e: String) { people(where: {email: {_eq: $e}}) { id } }", e=email)
        return str(body["data"]["people"][0]["id"])


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    config, db = estate_config(tmp_path)
    with synced_and_served(config) as http:
        yield Gateway(http, db, config)


def estate_config(tmp_path: Path, **overrides: Any) -> tuple[Config, Path]:
    """The estate's sources written into `tmp_path`, and its config (with `overrides`)."""
    db = tmp_path / "cmdb.sqlite"
    with sqlite3.connect(db) as con:
        con.executescript(CMDB)
    (tmp_path / "finance.csv").write_text(FINANCE, encoding="utf-8")
    sources = [
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
                        "status": "install_status",
                        "location": "location",
                        "cost": {"column": "cost", "currency": "USD"},
                        "assigned_to": "assigned_to",
                    },
                },
                "people": {
                    "table": "sys_user",
                    "id": "user_name",
                    "fields": {"email": "email", "name": "name", "employment_status": "active"},
                },
                "locations": {"table": "cmn_location", "id": "sys_id", "fields": {"name": "name"}},
            },
        },
        {
            "name": "finance",
            "kind": "spreadsheet",
            "path": str(tmp_path / "finance.csv"),
            "entities": {"assets": {"id": "Serial", "fields": {"serial_number": "Serial", "cost": "Cost"}}},
        },
    ]
    reconcile = {"assets": {"precedence": {"cost": ["finance", "cmdb"]}, "home": "cmdb"}}
    roles = {**demo_sections()["roles"], **TEST_ROLES, **WRITE_ROLES}
    vocabularies = {"category_aliases": {"Network Gear": "network"}}
    config = make_config(
        tmp_path, sources=sources, reconcile=reconcile, roles=roles, vocabularies=vocabularies, **overrides
    )
    return config, db
