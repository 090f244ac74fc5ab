"""The desk's events reach a webhook receiver from a running gateway (`serving_app`: its
deliverer thread sends what the check-out queued), signed the Standard Webhooks way; a
refused check-out sends nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from auth_gateway import token
from support.serving import serving, synced_and_served
from support.webhook_receiver import receiving
from test_desk import CHECKIN, CHECKOUT
from write_gateway import estate_config

from federation.pipeline.store import StoreReader
from federation.serving.app import create_app, serving_app
from federation.workflow import open_workflow_store
from federation.workflow.delivery import WebhookDeliverer

KEY = secrets.token_bytes(32)


def post(http: httpx.Client, role: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token(role)}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_check_out_and_in_are_sent_to_the_subscribed_receiver(tmp_path: Path) -> None:
    with receiving() as receiver:
        hooks = [
            {
                "name": "itsm",
                "url": receiver.url,
                "secret": "whsec_" + base64.b64encode(KEY).decode(),
                "events": ["asset.*"],
            }
        ]
        config, _ = estate_config(tmp_path, webhooks=hooks)
        with serving(serving_app(config)) as url, httpx.Client(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + 120
            while http.get("/readyz").status_code != 200:  # the first sync
                assert time.monotonic() < deadline, "never ready"
                time.sleep(0.2)
            people = post(http, "service_desk", '{ people(where: {email: {_eq: "ann@example.com"}}) { id } }')
            ann = people["data"]["people"][0]["id"]
            refused = post(http, "service_desk", CHECKOUT, ref={"asset_tag": "A-001"}, p=ann)
            assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # in use already
            done = post(
                http, "service_desk", CHECKOUT, ref={"scan": "A-004"}, p=ann, due="2030-01-01T00:00:00Z"
            )
            assert "errors" not in done, done
            back = post(http, "service_desk", CHECKIN, ref={"asset_tag": "A-004"})
            assert "errors" not in back, back
            received = receiver.wait_for(2)
    events = []
    for headers, body in received:
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        signature = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
        assert headers["webhook-signature"] == f"v1,{signature}"
        events.append(orjson.loads(body))
    assert [e["type"] for e in events] == ["asset.checked_out", "asset.checked_in"]
    loan = done["data"]["checkout_asset"]
    assert events[0]["data"]["id"] == loan["id"]
    assert events[0]["data"]["asset_tag"] == "A-004"
    assert events[0]["data"]["to_person_id"] == ann
    assert events[0]["data"]["actor"] == "test-service_desk"
    assert events[1]["data"]["checked_in_at"] is not None
    assert len(received) == 2  # nothing for the refused check-out


DEAD_LETTERS = '{ webhook_deliveries(status: "failed") { id event status attempts last_status payload } }'
REPLAY = "mutation($ids: [String!]!) { replay_webhook_deliveries(ids: $ids) { id status attempts } }"


def test_dead_letters_are_listed_and_replayed_by_an_admin_and_outlive_a_restart(tmp_path: Path) -> None:
    with receiving() as receiver:
        receiver.script = [(500, {})]  # the receiver is down for the first attempt
        hook = {
            "name": "itsm",
            "url": receiver.url,
            "secret": "whsec_" + base64.b64encode(KEY).decode(),
            "events": ["*"],
            "max_attempts": 1,
        }
        config, _ = estate_config(tmp_path, webhooks=[hook])
        with synced_and_served(config) as http:
            ann = post(http, "service_desk", '{ people(where: {email: {_eq: "ann@example.com"}}) { id } }')
            done = post(
                http, "service_desk", CHECKOUT, ref={"asset_tag": "A-005"}, p=ann["data"]["people"][0]["id"]
            )
            assert "errors" not in done, done
        # the gateway stops before sending; a new process's deliverer finds the event
        store = open_workflow_store(config)
        try:
            WebhookDeliverer(store, store.webhooks).deliver_due()  # the receiver answers 500
        finally:
            store.close()
        with (
            serving(create_app(config, StoreReader(tmp_path / "store"))) as url,
            httpx.Client(base_url=url, timeout=60) as http,
        ):
            [dead] = post(http, "admin", DEAD_LETTERS)["data"]["webhook_deliveries"]
            assert (dead["event"], dead["status"], dead["attempts"], dead["last_status"]) == (
                "asset.checked_out", "failed", 1, 500
            )  # fmt: skip
            assert dead["payload"]["data"]["asset_tag"] == "A-005"
            # the service desk has no such field, and may not replay
            denied = post(http, "service_desk", DEAD_LETTERS)
            assert "webhook_deliveries" in denied["errors"][0]["message"]
            assert "errors" in post(http, "service_desk", REPLAY, ids=[dead["id"]])
            replayed = post(http, "admin", REPLAY, ids=[dead["id"]])["data"]["replay_webhook_deliveries"]
            assert replayed == [{"id": dead["id"], "status": "pending", "attempts": 0}]
            unknown = post(http, "admin", REPLAY, ids=["msg_nope"])
            assert unknown["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            store = open_workflow_store(config)
            try:
                WebhookDeliverer(store, store.webhooks).deliver_due()
            finally:
                store.close()
            assert post(http, "admin", DEAD_LETTERS)["data"]["webhook_deliveries"] == []
            again = post(http, "admin", REPLAY, ids=[dead["id"]])  # delivered: not sent twice
            assert "delivered already" in again["errors"][0]["message"]
        received = receiver.wait_for(2)
    assert [h["webhook-id"] for h, _ in received] == [dead["id"], dead["id"]]
