"""Sends the outbox's webhook deliveries: POST of the JSON body with Standard Webhooks'
headers, signed with the subscription's secret (the `standardwebhooks` library), retried
with exponential backoff (and the receiver's Retry-After) until `max_attempts`.

    deliverer = WebhookDeliverer(store, config.settings.webhooks)
    deliverer.start()      # a thread; deliverer.wake() after an emit sends at once
    ...
    deliverer.stop(); deliverer.join()

A receiver verifies a delivery with its own Standard Webhooks library; `webhook-id` stays the
same on every retry of one event (its idempotency key), `webhook-timestamp` is the attempt's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import requests
from standardwebhooks import Webhook

from federation.config.webhooks import WebhookConfig
from federation.workflow.database import writing
from federation.workflow.outbox import Delivery, claim, settle
from federation.workflow.queue import Poller
from federation.workflow.store import WorkflowStore

log = logging.getLogger("assetgraph.webhooks")

#: how often due deliveries are looked for when nothing wakes the deliverer
POLL_SECONDS = 2.0
#: deliveries claimed at a time, and how long a claim holds (longer than any timeout)
BATCH = 20
#: a receiver's Retry-After is followed up to this
MAX_RETRY_AFTER = timedelta(hours=1)


def _retry_after(response: requests.Response) -> timedelta | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(timedelta(seconds=max(float(value), 0)), MAX_RETRY_AFTER)
    except ValueError:
        return None


class WebhookDeliverer(Poller):
    def __init__(
        self, store: WorkflowStore, hooks: Sequence[WebhookConfig], *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        super().__init__("assetgraph-webhooks", self.deliver_due, log, poll_seconds=poll_seconds)
        self.engine = store.engine
        self.hooks = {hook.name: hook for hook in hooks}
        self.signers = {hook.name: Webhook(hook.secret) for hook in hooks}
        self.session = requests.Session()
        self.session.headers["user-agent"] = "assetgraph-webhooks"
        #: subscriptions whose last attempt failed: their outage is logged once, not per attempt
        self._failing: set[str] = set()

    def finish(self) -> None:
        self.session.close()

    def deliver_due(self, now: datetime | None = None) -> int:
        """Claim and send what is due; the number of attempts made."""
        lease = max((h.timeout for h in self.hooks.values()), default=timedelta(seconds=10)) * 2
        with writing(self.engine) as conn:
            batch = claim(conn, now or datetime.now(UTC), limit=BATCH, lease=lease + timedelta(seconds=30))
        for delivery in batch:
            self._attempt(delivery)
        return len(batch)

    def _attempt(self, delivery: Delivery) -> None:
        hook = self.hooks.get(delivery.subscription)
        if hook is None:  # the subscription left the config: nobody to send it to
            with writing(self.engine) as conn:
                settle(conn, delivery, datetime.now(UTC), status=None, max_attempts=1, give_up=True,
                       error=f"webhook {delivery.subscription!r} is no longer configured")  # fmt: skip
            return
        sent_at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": self.signers[hook.name].sign(delivery.id, sent_at, delivery.payload),
        }
        status: int | None = None
        error: str | None = None
        retry_after: timedelta | None = None
        try:
            response = self.session.post(
                hook.url,
                data=delivery.payload.encode(),
                headers=headers,
                timeout=hook.timeout.total_seconds(),
                allow_redirects=False,
            )
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
                retry_after = _retry_after(response) if status in (429, 503) else None
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        with writing(self.engine) as conn:
            outcome = settle(conn, delivery, datetime.now(UTC), status=status, error=error,
                             max_attempts=hook.max_attempts, retry_after=retry_after,
                             give_up=status == 410)  # fmt: skip
        self._log(hook.name, delivery, outcome, error)

    def _log(self, name: str, delivery: Delivery, outcome: str, error: str | None) -> None:
        """A receiver that is down is retried quietly: one warning when it stops answering,
        one line when it answers again, and one per delivery given up (a dead letter)."""
        if error is None:
            if name in self._failing:
                self._failing.discard(name)
                log.info("webhook %s: the receiver answers again", name)
        elif outcome == "failed":
            log.warning("webhook %s: %s %s given up (a dead letter: replay_webhook_deliveries sends it "
                        "again): %s", name, delivery.event, delivery.id, error)  # fmt: skip
        elif name not in self._failing:
            self._failing.add(name)
            log.warning("webhook %s: %s %s not delivered, retrying later (logged once until the receiver "
                        "answers): %s", name, delivery.event, delivery.id, error)  # fmt: skip
        else:
            log.debug("webhook %s: %s %s still not delivered: %s", name, delivery.event, delivery.id, error)
