"""Outbound webhooks in the Standard Webhooks format, against a real HTTP receiver: the
signature checks by the spec's own recipe, failures are retried with backoff and then given
up, a receiver's Retry-After is followed, two deliverers never send one event twice, and the
workflow's own transitions queue their events in the same transaction."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.ports import closed_port
from support.webhook_receiver import Receiver, receiving

from federation.config.settings import ConfigError, parse_config
from federation.config.webhooks import WebhookConfig
from federation.pipeline.sync import SourceResult, SyncReport
from federation.workflow import Change, WorkflowStore, open_store
from federation.workflow.delivery import WebhookDeliverer
from federation.workflow.requests import Actor
from federation.workflow.sync_events import SyncEvents

KEY = secrets.token_bytes(32)
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def hook(url: str, events: list[str] | None = None, **extra: Any) -> WebhookConfig:
    return WebhookConfig(name="itsm", url=url, secret=SECRET, events=events or ["*"], **extra)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def hooked(store_url: str, receiver: Receiver) -> Iterator[WorkflowStore]:
    opened = open_store(store_url, [hook(receiver.url, max_attempts=3)])
    try:
        yield opened
    finally:
        opened.close()


def by_spec(headers: dict[str, str], body: bytes) -> bool:
    """The spec's verification: HMAC-SHA256 over `id.timestamp.body` with the base64-decoded
    secret, base64 in `v1,<signature>` (written out here, not taken from our code)."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in headers["webhook-signature"].split(" ")


def test_a_delivery_carries_the_event_signed_the_standard_way(
    hooked: WorkflowStore, receiver: Receiver
) -> None:
    [message] = hooked.emit("asset.checked_out", {"asset_id": "a-1", "asset_tag": "A-001"})
    deliverer = WebhookDeliverer(hooked, hooked.webhooks)
    assert deliverer.deliver_due() == 1
    [(headers, body)] = receiver.received
    assert headers["webhook-id"] == message
    assert message.startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    assert headers["content-type"] == "application/json"
    assert by_spec(headers, body)
    assert not by_spec({**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}, body)
    event = orjson.loads(body)
    assert event["type"] == "asset.checked_out"
    assert event["data"] == {"asset_id": "a-1", "asset_tag": "A-001"}
    assert datetime.fromisoformat(event["timestamp"]).tzinfo is not None
    [row] = hooked.deliveries()
    assert (row["status"], row["attempts"], row["last_status"]) == ("delivered", 1, 204)
    assert deliverer.deliver_due() == 0  # nothing sent twice


def test_only_the_events_a_subscription_names_are_queued(store_url: str, receiver: Receiver) -> None:
    store = open_store(store_url, [hook(receiver.url, ["request.*"])])
    try:
        assert store.emit("asset.checked_out", {"asset_id": "a"}) == []
        assert len(store.emit("request.approved", {"id": "r"})) == 1
    finally:
        store.close()


def test_failures_are_retried_with_backoff_then_given_up(hooked: WorkflowStore, receiver: Receiver) -> None:
    receiver.script = [(500, {}), (503, {"retry-after": "120"}), (500, {})]
    [message] = hooked.emit("maintenance.opened", {"id": "m-1"})
    deliverer = WebhookDeliverer(hooked, hooked.webhooks)
    start = datetime.now(UTC)
    assert deliverer.deliver_due(start) == 1
    [row] = hooked.deliveries()
    assert (row["status"], row["attempts"], row["last_status"]) == ("pending", 1, 500)
    assert timedelta(seconds=4) < row["next_attempt_at"] - start < timedelta(seconds=10)
    assert deliverer.deliver_due(start + timedelta(seconds=1)) == 0  # not due yet
    assert deliverer.deliver_due(start + timedelta(seconds=11)) == 1
    [row] = hooked.deliveries()
    # the receiver asked for 120 s: more than the backoff's 10 s
    assert row["next_attempt_at"] - start >= timedelta(seconds=120)
    assert deliverer.deliver_due(start + timedelta(seconds=200)) == 1
    [row] = hooked.deliveries()
    assert (row["status"], row["attempts"]) == ("failed", 3)  # max_attempts
    assert "HTTP 500" in row["last_error"]
    assert {h["webhook-id"] for h, _ in receiver.received} == {message}  # one id on every retry
    assert deliverer.deliver_due(start + timedelta(days=1)) == 0


def test_gone_is_given_up_at_once_and_an_unreachable_receiver_is_retried(
    hooked: WorkflowStore, receiver: Receiver
) -> None:
    receiver.script = [(410, {})]
    hooked.emit("source.stale", {"source": "okta"})
    deliverer = WebhookDeliverer(hooked, hooked.webhooks)
    deliverer.deliver_due()
    assert [r["status"] for r in hooked.deliveries()] == ["failed"]
    nobody = hook(f"http://127.0.0.1:{closed_port()}/x")
    down = open_store(hooked.engine.url.render_as_string(hide_password=False), [nobody])
    try:
        down.emit("source.recovered", {"source": "okta"})
        WebhookDeliverer(down, down.webhooks).deliver_due()
        row = next(r for r in down.deliveries() if r["event"] == "source.recovered")
        assert (row["status"], row["last_status"]) == ("pending", None)
        assert "ConnectionError" in row["last_error"]
    finally:
        down.close()


def test_two_deliverers_never_send_one_event_twice(hooked: WorkflowStore, receiver: Receiver) -> None:
    ids = [hooked.emit("asset.checked_in", {"n": n})[0] for n in range(30)]
    deliverers = [WebhookDeliverer(hooked, hooked.webhooks) for _ in range(2)]
    threads = [threading.Thread(target=d.deliver_due) for d in deliverers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while deliverers[0].deliver_due():  # what the batches left
        pass
    sent = [h["webhook-id"] for h, _ in receiver.received]
    assert sorted(sent) == sorted(ids)  # each once


def test_request_transitions_and_conflicts_queue_their_events(hooked: WorkflowStore) -> None:
    request = hooked.submit_request(
        form="laptop", item={"category": "laptop"}, item_asset_id=None, answers={},
        requester=Actor("ann@example.com", "employee"), person_id=None,
        approvals=[{"role": "it_leader"}], fulfil_role="service_desk",
    )  # fmt: skip
    boss = Actor("boss@example.com", "it_leader", approves=True)
    hooked.transition_request(request.id, boss, "approve")
    conflict = Change(
        entity="assets",
        entity_id="0b5e8a52-6c2f-4a34-9d55-0c6b2f1e7a10",
        field="status",
        before="in_stock",
        after="retired",
        outcome="conflict",
        actor="x",
        role="admin",
        source="cmdb",
        reason="the source holds in_use",
    )
    hooked.record_changes([conflict])
    events = [(r["event"], orjson.loads(r["payload"])["data"]) for r in hooked.deliveries()]
    assert [e for e, _ in events] == ["request.submitted", "request.approved", "write.conflict"]
    assert events[0][1]["id"] == request.id
    assert events[1][1]["state"] == "approved"
    assert events[2][1]["field"] == "status"
    assert events[2][1]["source"] == "cmdb"


def test_an_approval_with_steps_to_go_queues_no_event(hooked: WorkflowStore) -> None:
    request = hooked.submit_request(
        form="laptop", item={"category": "laptop"}, item_asset_id=None, answers={},
        requester=Actor("ann@example.com", "employee"), person_id=None,
        approvals=[{"email": "boss@example.com"}, {"role": "it_leader"}], fulfil_role="service_desk",
    )  # fmt: skip
    hooked.transition_request(request.id, Actor("boss@example.com", "employee", approves=True), "approve")
    assert [r["event"] for r in hooked.deliveries()] == ["request.submitted"]  # still submitted
    hooked.transition_request(request.id, Actor("lee@example.com", "it_leader", approves=True), "approve")
    assert [r["event"] for r in hooked.deliveries()] == ["request.submitted", "request.approved"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"secret": "not-a-secret"}, "whsec_"),
        ({"secret": "whsec_" + base64.b64encode(b"short").decode()}, "shorter than 24 bytes"),
        ({"events": ["asset.stolen"]}, "names no event"),
        ({"url": "ftp://example.com/x"}, "url"),
    ],
)
def test_a_bad_subscription_is_refused_with_its_path(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    raw = {"name": "itsm", "url": "https://x.example.com/h", "secret": SECRET, "events": ["*"], **change}
    with pytest.raises(ConfigError) as caught:
        parse_config({"store": {"path": str(tmp_path)}, "webhooks": [raw]}, base_dir=tmp_path)
    text = str(caught.value)
    assert message in text
    assert "webhooks[0]" in text
    assert "not-a-secret" not in text  # a secret is never echoed


class _Snapshot:
    """A published snapshot's answer to the over-allocation query (the rows it would give)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        assert "seats_assigned > seats_purchased" in sql
        return self.rows


class _Reader:
    def __init__(self) -> None:
        self.snapshot = _Snapshot([])

    def current(self) -> _Snapshot:
        return self.snapshot


def test_sync_rounds_send_stale_recovered_and_over_allocated(hooked: WorkflowStore) -> None:
    reader = _Reader()
    events = SyncEvents(hooked, reader)  # type: ignore[arg-type]

    def round_(snapshot: str | None, **statuses: str) -> None:
        results = [
            SourceResult(source=name, ok=status == "ok", status=status) for name, status in statuses.items()
        ]
        events(SyncReport(results, snapshot_id=snapshot))

    round_("s1", cmdb="ok", okta="failed")
    round_("s2", cmdb="ok", okta="failed")  # still stale: no second event
    reader.snapshot = _Snapshot([("p1", "Visio", "Microsoft", 10, 12)])
    round_("s3", cmdb="held", okta="ok")
    round_("s4", cmdb="ok", okta="ok")  # Visio still over: no second event
    sent = [(r["event"], orjson.loads(r["payload"])["data"]) for r in hooked.deliveries()]
    assert [(e, d.get("source") or d.get("product")) for e, d in sent] == [
        ("source.stale", "okta"),
        ("source.stale", "cmdb"),
        ("source.recovered", "okta"),
        ("license.over_allocated", "Visio"),
        ("source.recovered", "cmdb"),
    ]
    assert sent[1][1]["status"] == "held"
    assert (sent[3][1]["seats_purchased"], sent[3][1]["seats_assigned"]) == (10, 12)


def test_a_receiver_that_is_down_is_retried_quietly(
    hooked: WorkflowStore, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="assetgraph.webhooks")
    receiver.script = [(503, {})] * 6  # down for the first two events' three attempts each
    for n in range(2):
        hooked.emit("asset.checked_out", {"n": n})
    deliverer = WebhookDeliverer(hooked, hooked.webhooks)
    start = datetime.now(UTC)
    assert deliverer.deliver_due(start) == 2
    assert deliverer.deliver_due(start + timedelta(minutes=1)) == 2
    assert deliverer.deliver_due(start + timedelta(minutes=2)) == 2  # the third: max_attempts
    assert [r["status"] for r in hooked.deliveries()] == ["failed", "failed"]
    hooked.emit("asset.checked_in", {"n": 2})
    assert deliverer.deliver_due(start + timedelta(minutes=3)) == 1  # the receiver is back
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "assetgraph.webhooks"]
    warnings = [m for level, m in lines if level == logging.WARNING]
    # one when it went down, one per dead letter; nothing at ERROR; one line when it is back
    assert len(warnings) == 3, warnings
    assert "retrying later" in warnings[0]
    assert sum("given up" in m for m in warnings) == 2
    assert all(level < logging.ERROR for level, _ in lines)
    assert [m for level, m in lines if level == logging.INFO] == ["webhook itsm: the receiver answers again"]
