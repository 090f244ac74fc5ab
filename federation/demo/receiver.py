"""The demo's webhook receiver: where config.yaml's `demo` subscription sends the gateway's
events, so the demo delivers them somewhere real and nothing retries against a closed port.

    POST /receiver/assetgraph   a Standard Webhooks delivery: its signature is checked with the
                                subscription's secret (401 when it does not verify), then 204
    GET  /receiver/assetgraph   what arrived, newest last: {"received": [{id, type, timestamp}]}

Point the subscription's `url` at your own tool to receive the events there instead.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from federation.demo.vendor_server import Call, Reply, Vendor, error


class WebhookReceiver(Vendor):
    name = "receiver"

    def __init__(self, secret: str, keep: int = 200) -> None:
        self.verifier = Webhook(secret)
        self.received: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def answer(self, call: Call) -> Reply:
        if call.path != "/assetgraph":
            return error(404, {"error": f"no receiver at {call.path}; POST to /receiver/assetgraph"})
        if call.method == "GET":
            with self._lock:
                return Reply(200, {"received": list(self.received)})
        if call.method != "POST":
            return error(405, {"error": "POST a delivery, or GET what arrived"})
        try:
            self.verifier.verify(call.body, call.headers, json_parse=False)
        except WebhookVerificationError as exc:
            return error(401, {"error": f"signature: {exc}"})
        try:
            event = orjson.loads(call.body)
        except orjson.JSONDecodeError:
            return error(400, {"error": "the body is not JSON"})
        entry = {
            "id": call.header("webhook-id"),
            "type": event.get("type"),
            "timestamp": event.get("timestamp"),
            "received_at": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self.received.append(entry)
        return Reply(204, None)
