"""Opens the queued tickets (tickets.py) in ServiceNow, through the `tickets.source`
connector's Table API (`ServiceNowConnector.open_ticket`), then sends their queued updates
(ticket_updates.py: `ServiceNowConnector.update_ticket`, a PATCH) as their records move on.

    ticketing = Ticketing(config, store)
    ticketing.open_now("requests", request.id)   # the first attempt, while the mutation answers
    opener = TicketOpener(ticketing); opener.start()   # then retries, in each serving process

A ServiceNow that is down loses nothing: the request (or repair) is recorded with its ticket
`pending` and the reason; each later attempt first looks for a ticket an earlier attempt
opened (its answer lost), so none is opened twice. A ticket ServiceNow refuses (400: a field
it does not take; 403: the account may not create it) is `failed` at once, with
ServiceNow's reason; `retry_tickets` sends it again once that is fixed. An outage is logged
once when it starts and once when it ends, not at every attempt. Updates follow the same
rules; one whose ticket is not opened yet waits for it, and goes right after the open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import federation.workflow.ticket_updates as ticket_updates
from connectors.base import SourceError, WriteRefused
from connectors.http.config import RetryConfig
from connectors.registry import connector_class
from connectors.servicenow import ServiceNowConnector
from federation.config.settings import Config
from federation.config.tickets import TicketsConfig
from federation.workflow.database import writing
from federation.workflow.queue import Poller
from federation.workflow.store import WorkflowStore
from federation.workflow.ticket_updates import UpdateJob
from federation.workflow.tickets import TicketJob, claim, settle

log = logging.getLogger("assetgraph.tickets")

#: how often due tickets are looked for
POLL_SECONDS = 2.0
#: tickets claimed at a time
BATCH = 20
#: retries within one attempt (a lost connection, a 429 or 503 asking for a short wait)
ATTEMPT_RETRY = RetryConfig(max_tries=2, backoff_base=0.2, backoff_max=1.0, max_wait=5.0)


class Ticketing:
    def __init__(self, config: Config, store: WorkflowStore) -> None:
        if config.settings.tickets is None:
            raise ValueError("no `tickets:` section in the config")
        self.tickets: TicketsConfig = config.settings.tickets
        self.store = store
        source = config.source(self.tickets.source)
        # each request within the tickets' own limit, not the source's read timeout, and
        # retried at most once within an attempt: the queue's backoff does the rest, and the
        # first attempt holds a mutation's answer
        self._source = source.model_copy(update={"timeout": self.tickets.timeout, "retry": ATTEMPT_RETRY})
        self._base_dir = config.base_dir
        self._local = threading.local()
        self._lock = threading.Lock()
        #: whether the last attempt failed for want of ServiceNow (logged once per outage)
        self._down = False

    def connector(self) -> ServiceNowConnector:
        """This thread's connector (an HTTP session is not shared between threads)."""
        found = getattr(self._local, "connector", None)
        if found is None:
            found = connector_class(self._source.kind)(self._source, base_dir=self._base_dir)
            if not isinstance(found, ServiceNowConnector):
                raise TypeError(f"source {self.tickets.source!r} is not a servicenow source")
            self._local.connector = found
        return found

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: longer than an attempt (a look and a post) can take."""
        return self.tickets.timeout * 4 + timedelta(seconds=30)

    def open_now(self, entity: str, entity_id: str) -> None:
        """Attempt the ticket of this record now (if it is due and not under way elsewhere)."""
        with writing(self.store.engine) as conn:
            jobs = claim(conn, datetime.now(UTC), limit=1, lease=self.lease, entity_ids=[entity_id])
        for job in jobs:
            self.attempt(job)
        self.update_now(entity, entity_id)

    def update_now(self, entity: str, entity_id: str) -> None:
        """Send the due updates of this record's ticket now, in order (if it is opened)."""
        for _ in range(10):  # each round sends one update of the ticket, or none is due
            if not self.update_due(entity_ids=[entity_id]):
                return

    def update_due(self, now: datetime | None = None, *, entity_ids: Sequence[str] | None = None) -> int:
        """Claim and send the updates that are due (of opened tickets); the number attempted."""
        with writing(self.store.engine) as conn:
            jobs = ticket_updates.claim(conn, now or datetime.now(UTC), limit=BATCH, lease=self.lease,
                                        entity_ids=entity_ids)  # fmt: skip
        for job in jobs:
            self.send(job)
        return len(jobs)

    def work(self) -> int:
        """One round of the opener thread: the tickets due, then the updates due."""
        return self.open_due() + self.update_due()

    def open_due(self, now: datetime | None = None) -> int:
        """Claim and attempt the tickets that are due; the number of attempts made."""
        with writing(self.store.engine) as conn:
            jobs = claim(conn, now or datetime.now(UTC), limit=BATCH, lease=self.lease)
        for job in jobs:
            self.attempt(job)
        return len(jobs)

    def attempt(self, job: TicketJob) -> str:
        """One attempt at a claimed ticket; its new status."""
        opened: dict[str, Any] | None = None
        error: str | None = None
        refused = False
        try:
            opened = self.connector().open_ticket(job.table, job.body, correlation_id=job.entity_id)
        except WriteRefused as exc:
            error, refused = str(exc), True
        except SourceError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not fail the mutation whose record is kept: retried
            log.exception(
                "tickets: opening the ticket of %s %s failed unexpectedly", job.entity, job.entity_id
            )
            error = f"{type(exc).__name__}: {exc}"
        with writing(self.store.engine) as conn:
            status = settle(conn, job, datetime.now(UTC), opened=opened, error=error,
                            max_attempts=self.tickets.max_attempts, give_up=refused)  # fmt: skip
        self._log(f"the ticket of {job.entity} {job.entity_id}", status, error, refused)
        return status

    def send(self, job: UpdateJob) -> str:
        """One attempt at a claimed update; its new status."""
        answer: dict[str, str] | None = None
        error: str | None = None
        refused = False
        # an earlier attempt (or one merged in) may have been applied with its answer lost
        again = job.attempts > 0 or "\n" in str(job.body.get("work_notes", ""))
        try:
            answer = self.connector().update_ticket(job.table, job.sys_id, job.body, again=again)
        except WriteRefused as exc:
            error, refused = str(exc), True
        except SourceError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not fail the transition, which is kept: retried
            log.exception(
                "tickets: updating the ticket of %s %s failed unexpectedly", job.entity, job.entity_id
            )
            error = f"{type(exc).__name__}: {exc}"
        with writing(self.store.engine) as conn:
            status = ticket_updates.settle(
                conn, job, datetime.now(UTC), answer=answer, error=error,
                max_attempts=self.tickets.max_attempts, give_up=refused,
            )  # fmt: skip
        self._log(
            f"the update ({job.state}) of the ticket of {job.entity} {job.entity_id}", status, error, refused
        )
        return status

    def _log(self, what: str, status: str, error: str | None, refused: bool) -> None:
        with self._lock:
            was_down, self._down = self._down, error is not None and not refused
        if status in ("opened", "sent"):
            if was_down:
                log.info("tickets: source %r answers again; %s is %s", self.tickets.source, what, status)
        elif refused or status == "failed":
            log.warning("tickets: %s was given up (%s): %s", what, status, error)
        elif not was_down:
            log.warning("tickets: %s could not be sent, retrying later (logged once until it "
                        "answers): %s", what, error)  # fmt: skip
        else:
            log.debug("tickets: %s still pending: %s", what, error)

    def close(self) -> None:
        found = getattr(self._local, "connector", None)
        if found is not None:
            found.close()


class TicketOpener(Poller):
    """The retries: a thread that attempts the due tickets every few seconds."""

    def __init__(self, ticketing: Ticketing, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__("assetgraph-tickets", ticketing.work, log, poll_seconds=poll_seconds)
        self.ticketing = ticketing

    def finish(self) -> None:
        self.ticketing.close()
