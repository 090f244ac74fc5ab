"""The access log: every request recorded (who, role, operation, types, fields, rows, outcome),
in SQLite for auditors and as JSON lines on the `assetgraph.access` logger."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

import pytest
from auth_gateway import Gateway, token


def entries(gateway: Gateway, operation: str, expected: int = 1) -> list[dict[str, Any]]:
    query = """query($n: Int) { access_log(limit: $n) { role subject via operation_name operation_type
               types fields rows outcome } }"""
    deadline = time.monotonic() + 5
    while True:  # the record is written after the response is sent
        body = gateway.as_role("auditor", query, variables={"n": 1000})
        found = [e for e in body["data"]["access_log"] if e["operation_name"] == operation]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_requests_are_recorded(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="assetgraph.access")
    name = "Mine" + uuid.uuid4().hex[:8]
    query = f"query {name} {{ assets {{ asset_tag assigned_to {{ email }} }} }}"
    body = gateway.as_role("employee", query, email="alice@example.com")
    assert len(body["data"]["assets"]) == 5
    holders = sum(1 for a in body["data"]["assets"] if a["assigned_to"] is not None)
    (entry,) = entries(gateway, name)
    assert entry == {
        "role": "employee",
        "subject": "alice@example.com",
        "via": "jwt",
        "operation_name": name,
        "operation_type": "query",
        "types": ["assets", "people"],  # every type the request read, nested ones included
        "fields": ["assets.asset_tag", "assets.assigned_to", "people.email"],
        "rows": 5 + holders,  # every object returned: five assets and the people they are assigned to
        "outcome": "ok",
    }
    lines = [
        json.loads(line)
        for r in caplog.records
        if r.name == "assetgraph.access"
        for line in r.getMessage().splitlines()
    ]
    assert any(line.get("operation_name") == name and line["role"] == "employee" for line in lines)


def test_refusals_are_recorded_with_what_was_asked(gateway: Gateway) -> None:
    name = "Peek" + uuid.uuid4().hex[:8]
    gateway.as_role("employee", f"query {name} {{ assets {{ cost }} }}", email="bob@example.com")
    (entry,) = entries(gateway, name)
    assert entry["outcome"] == "FORBIDDEN"
    assert entry["fields"] == ["assets.cost"]
    assert entry["rows"] == 0


def test_fields_named_only_in_variables_are_recorded(gateway: Gateway) -> None:
    """A filter passed as a variable is what was asked as much as one written inline."""
    name = "Vars" + uuid.uuid4().hex[:8]
    query = f"query {name}($w: assets_bool_exp) {{ assets(where: $w) {{ asset_tag }} }}"
    body = gateway.as_role("admin", query, variables={"w": {"cost": {"_gt": 1000}}})
    assert "errors" not in body
    (entry,) = entries(gateway, name)
    assert "assets.cost" in entry["fields"]
    refused = "Peek" + uuid.uuid4().hex[:8]
    query = f"query {refused}($w: assets_bool_exp) {{ assets(where: $w) {{ asset_tag }} }}"
    body = gateway.as_role("service_desk", query, variables={"w": {"attributes": {"_has_key": "gpu"}}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    (entry,) = entries(gateway, refused)
    assert "assets.attributes.gpu" in entry["fields"]


def test_only_the_operation_that_ran_is_recorded(gateway: Gateway) -> None:
    name = "Ran" + uuid.uuid4().hex[:8]
    query = f"query {name} {{ locations {{ name }} }} query Decoy {{ people {{ email }} }}"
    body = gateway.as_role("admin", query, operationName=name)
    assert "errors" not in body
    (entry,) = entries(gateway, name)
    assert entry["types"] == ["locations"]
    assert entry["fields"] == ["locations.name"]


def test_keys_of_attributes_asked_for_are_recorded(gateway: Gateway) -> None:
    name = "Keys" + uuid.uuid4().hex[:8]
    query = f"""query {name} {{ a: assets(where: {{attributes: {{_has_key: "ram_gb"}}}}) {{ id }}
                               b: assets(where: {{attributes: {{_contains: {{gpu: false}}}}}}) {{ id }} }}"""
    gateway.as_role("service_desk", query)
    (entry,) = entries(gateway, name)
    assert entry["outcome"] == "FORBIDDEN"  # gpu is not readable by service_desk
    assert entry["fields"] == [
        "assets.attributes", "assets.attributes.gpu", "assets.attributes.ram_gb", "assets.id"
    ]  # fmt: skip


def test_unauthenticated_requests_are_recorded(gateway: Gateway) -> None:
    name = "Forged" + uuid.uuid4().hex[:8]
    bad = token("admin", key="not-the-secret-not-the-secret-0123456789")
    gateway.post(f"query {name} {{ assets {{ id }} }}", headers={"authorization": f"Bearer {bad}"})
    (entry,) = entries(gateway, name)
    assert entry["outcome"] == "UNAUTHENTICATED"
    assert entry["role"] == "(unauthenticated)"


def test_cache_hits_are_recorded_too(gateway: Gateway) -> None:
    name = "Twice" + uuid.uuid4().hex[:8]
    for _ in range(2):
        gateway.as_role("network_team", f"query {name} {{ assets {{ asset_tag }} }}")
    assert [e["rows"] for e in entries(gateway, name, expected=2)] == [2, 2]


def test_filters_of_access_log(gateway: Gateway) -> None:
    name = "FinanceCheck" + uuid.uuid4().hex[:8]
    gateway.as_role("finance", f"query {name} {{ locations {{ name }} }}")
    entries(gateway, name)  # wait until it is written (after the response was sent)
    body = gateway.as_role(
        "auditor", '{ access_log(role: "finance", type: "locations") { role types operation_name } }'
    )
    found = body["data"]["access_log"]
    assert name in {e["operation_name"] for e in found}
    assert all(e["role"] == "finance" and "locations" in e["types"] for e in found)


def test_the_file_is_append_only(gateway: Gateway) -> None:
    name = "Append" + uuid.uuid4().hex[:8]
    gateway.as_role("admin", f"query {name} {{ locations {{ name }} }}")
    assert entries(gateway, name)
    con = sqlite3.connect(gateway.store / "access_log.sqlite")
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT count(*) FROM access_log").fetchone()[0] > 0
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM access_log")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE access_log SET role = 'x'")
    finally:
        con.close()
