"""The demo's webhook receiver (federation/demo/receiver.py), on the simulator over HTTP: the
demo subscription's deliveries arrive and are listed, signed with the demo's secret; one
signed with another key is refused, and the deliverer keeps it to try again."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from federation.config.webhooks import WebhookConfig
from federation.demo.receiver import WebhookReceiver
from federation.demo.saas import DEMO_WEBHOOK_SECRET
from federation.demo.vendor_server import VendorServer
from federation.workflow import open_store
from federation.workflow.delivery import WebhookDeliverer


@pytest.fixture
def simulator() -> Iterator[VendorServer]:
    server = VendorServer([WebhookReceiver(DEMO_WEBHOOK_SECRET)]).start()
    yield server
    server.stop()


def test_signed_deliveries_arrive_and_forged_ones_are_refused(
    simulator: VendorServer, tmp_path: Path
) -> None:
    url = simulator.base("receiver") + "/assetgraph"
    forged = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    hooks = [WebhookConfig(name="demo", url=url, secret=DEMO_WEBHOOK_SECRET, events=["*"]),
             WebhookConfig(name="forged", url=url, secret=forged, events=["*"])]  # fmt: skip
    store = open_store(f"sqlite:///{tmp_path / 'workflow.sqlite'}", hooks)
    try:
        [sent, _] = store.emit("request.submitted", {"id": "r-1"})
        WebhookDeliverer(store, hooks).deliver_due()
        status = {d["subscription"]: (d["status"], d["last_status"]) for d in store.deliveries()}
    finally:
        store.close()
    assert status == {"demo": ("delivered", 204), "forged": ("pending", 401)}
    received = httpx.get(url).json()["received"]
    assert [(r["id"], r["type"]) for r in received] == [(sent, "request.submitted")]
