"""The demo as `assetgraph serve` runs it (a small estate, its simulator on a free port): a
request opens a ticket in the demo's ServiceNow, and the events it fires reach the demo's
webhook receiver, which verified their signatures; so config.yaml's `itsm` source, `tickets:`
and `demo` subscription fit the simulator they point at."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.demo import VENDORS_ENV, write_demo_config
from support.serving import serving

from federation.config.settings import load_config
from federation.demo import prepare_demo
from federation.serving.app import serving_app
from federation.serving.cli import main


def _token(config: Path, role: str, email: str | None, capsys: pytest.CaptureFixture[str]) -> str:
    assert (
        main(["token", "--config", str(config), "--role", role, *(["--email", email] if email else [])]) == 0
    )
    return capsys.readouterr().out.strip()


@pytest.mark.timeout(600)
def test_a_request_opens_a_demo_ticket_and_its_events_reach_the_demo_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_demo_config(tmp_path, monkeypatch, assets=300)
    config = load_config(path)
    prepare_demo(config)
    vendors = os.environ[VENDORS_ENV]
    with serving(serving_app(config)) as url, httpx.Client(base_url=url, timeout=60) as http:
        deadline = time.monotonic() + 300
        while http.get("/readyz").status_code != 200:  # the first sync
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.3)

        def post(role: str, email: str | None, query: str) -> dict[str, Any]:
            headers = {"authorization": f"Bearer {_token(path, role, email, capsys)}"}
            body = http.post("/graphql", json={"query": query}, headers=headers).json()
            assert "errors" not in body, body
            return body["data"]

        people = post("admin", None, '{ people(where: {employment_status: {_eq: "active"}, '
                      'manager: {employment_status: {_eq: "active"}}}, order_by: [{email: asc}], limit: 1) '
                      "{ email } }")["people"]  # fmt: skip
        asker = people[0]["email"]
        answers = '{purpose: "a laptop for the new project", justification: "the builds need a fast machine"}'
        submit = (
            f'mutation {{ submit_request(item: {{category: "laptop"}}, answers: {answers}) '
            "{ id ticket ticket_status } }"
        )
        done = post("employee", asker, submit)["submit_request"]
        assert (done["ticket"], done["ticket_status"]) == ("REQ0010001", "opened")
        tickets = httpx.get(f"{vendors}/servicenow/api/now/table/sc_request",
                            auth=("assetgraph", "demo-itsm-password")).json()["result"]  # fmt: skip
        assert [(t["number"], t["correlation_id"]) for t in tickets] == [("REQ0010001", done["id"])]
        deadline = time.monotonic() + 60
        while not (received := httpx.get(f"{vendors}/receiver/assetgraph").json()["received"]):
            assert time.monotonic() < deadline, "the demo receiver got nothing"
            time.sleep(0.3)
        deliveries = post("admin", None, "{ webhook_deliveries { id event status last_status } }")
    assert "request.submitted" in [r["type"] for r in received]
    submitted = next(d for d in deliveries["webhook_deliveries"] if d["event"] == "request.submitted")
    assert (submitted["status"], submitted["last_status"]) == ("delivered", 204)
    assert submitted["id"] in [r["id"] for r in received]  # verified by the receiver (else 401)
