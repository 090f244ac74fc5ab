"""POST /hooks/tickets over HTTP: a ticketing tool's incident opens maintenance on the asset
(in repair at the owning source), authenticated by a token of a role that may maintain, or by
a Standard Webhooks signature; everything else is refused with a code and a fitting status."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_gateway import token
from support.serving import synced_and_served
from write_gateway import estate_config

KEY = secrets.token_bytes(32)
INCIDENT = {"asset": {"asset_tag": "A-004"}, "ticket": "INC0012345", "notes": "screen cracked"}


@pytest.fixture
def hook(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    secret = "whsec_" + base64.b64encode(KEY).decode()
    config, db = estate_config(tmp_path, ticket_hook={"secret": secret, "role": "service_desk"})
    with synced_and_served(config) as http:
        yield http, db


def signed(body: bytes, key: bytes = KEY, at: int | None = None) -> dict[str, str]:
    """Headers of a Standard Webhooks signature, computed by the spec's recipe."""
    msg_id, stamp = "msg_test", str(at or int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }


def status_at_source(db: Path, tag: str) -> Any:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT install_status FROM ci_computer WHERE asset_tag = ?", (tag,)).fetchone()[0]


def test_a_token_of_a_maintaining_role_opens_maintenance(hook: tuple[httpx.Client, Path]) -> None:
    http, db = hook
    response = http.post(
        "/hooks/tickets", json=INCIDENT, headers={"authorization": f"Bearer {token('service_desk')}"}
    )
    assert response.status_code == 201, response.text
    record = response.json()["maintenance"]
    assert (record["kind"], record["ticket"], record["status"], record["notes"]) == (
        "repair", "INC0012345", "open", "screen cracked"
    )  # fmt: skip
    assert status_at_source(db, "A-004") == 3  # ServiceNow's "in maintenance"
    again = http.post(
        "/hooks/tickets", json=INCIDENT, headers={"authorization": f"Bearer {token('service_desk')}"}
    )
    assert again.status_code == 409  # already open
    assert again.json()["errors"][0]["extensions"]["code"] == "CONFLICT"


def test_a_signed_call_acts_as_the_configured_role(hook: tuple[httpx.Client, Path]) -> None:
    http, db = hook
    body = b'{"asset": {"scan": "https://assets.example.com/hardware/A-005"}, "ticket": "INC7"}'
    response = http.post("/hooks/tickets", content=body, headers=signed(body))
    assert response.status_code == 201, response.text
    assert status_at_source(db, "A-005") == 3
    tampered = body.replace(b"INC7", b"INC8")
    refused = http.post("/hooks/tickets", content=tampered, headers=signed(body))
    assert refused.status_code == 401
    stale = http.post("/hooks/tickets", content=body, headers=signed(body, at=int(time.time()) - 3600))
    assert stale.status_code == 401
    wrong_key = http.post("/hooks/tickets", content=body, headers=signed(body, key=secrets.token_bytes(32)))
    assert wrong_key.status_code == 401


def test_a_signed_call_is_in_the_access_log_as_the_configured_role(hook: tuple[httpx.Client, Path]) -> None:
    http, _ = hook
    body = b'{"asset": {"asset_tag": "A-005"}, "ticket": "INC9"}'
    assert http.post("/hooks/tickets", content=body, headers=signed(body)).status_code == 201
    query = "{ access_log { role operation_type outcome } }"
    auditor = {"authorization": f"Bearer {token('auditor')}"}
    deadline = time.monotonic() + 30
    while True:  # the row is written after the response is sent; the auditor's are queries
        rows = http.post("/graphql", json={"query": query}, headers=auditor).json()["data"]["access_log"]
        found = [r for r in rows if r["operation_type"] == "mutation"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert found == [{"role": "service_desk", "operation_type": "mutation", "outcome": "ok"}]


@pytest.mark.parametrize(
    ("role", "body", "status", "code"),
    [
        pytest.param(None, INCIDENT, 401, "UNAUTHENTICATED", id="anonymous"),
        pytest.param("employee", INCIDENT, 403, "FORBIDDEN", id="a-role-that-does-not-maintain"),
        pytest.param(
            "service_desk", {"asset": {"asset_tag": "A-004"}}, 400, "BAD_USER_INPUT", id="no-ticket"
        ),
        pytest.param(
            "service_desk", {**INCIDENT, "asset": {"asset_tag": "NOPE"}}, 400, "BAD_USER_INPUT", id="no-asset"
        ),
        pytest.param("service_desk", {**INCIDENT, "extra": 1}, 400, "BAD_USER_INPUT", id="unknown-key"),
        pytest.param("service_desk", [INCIDENT], 400, "BAD_USER_INPUT", id="not-an-object"),
    ],
)
def test_refusals_have_a_code_and_a_status(
    hook: tuple[httpx.Client, Path], role: str | None, body: Any, status: int, code: str
) -> None:
    http, db = hook
    headers = {"authorization": f"Bearer {token(role)}"} if role else {}
    response = http.post("/hooks/tickets", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert status_at_source(db, "A-004") == 6  # still in stock
