"""The tickets the gateway opens in ServiceNow, against the loopback Table API over HTTP: queued
with the record, opened with ServiceNow's number shown on it; a ServiceNow that is down loses
nothing (pending, with the reason, tried again later without opening a second ticket, logged
once); a refused ticket fails at once with ServiceNow's reason and is retried on demand."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.itsm import itsm_source, loopback_servicenow

from federation.config.settings import Config, parse_config
from federation.demo.servicenow import ServiceNow
from federation.demo.vendor_server import VendorServer
from federation.workflow import WorkflowStore, open_store
from federation.workflow.requests import Actor
from federation.workflow.ticketing import Ticketing
from federation.workflow.tickets import RetryRefused, TicketOrder

ORDER = TicketOrder(
    "itsm", "sc_request", {"short_description": "Request a laptop: laptop for ann@example.com"}
)


@pytest.fixture
def snow() -> Iterator[tuple[ServiceNow, VendorServer]]:
    with loopback_servicenow() as found:
        yield found


def config(tmp_path: Path, server: VendorServer, **tickets: Any) -> Config:
    itsm = itsm_source(server)
    raw = {"store": {"path": "state"}, "sources": [itsm],
           "tickets": {"source": "itsm", "timeout": "2s", **tickets}}  # fmt: skip
    return parse_config(raw, source="config.yaml", base_dir=tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[WorkflowStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def submit(store: WorkflowStore, order: TicketOrder | None = ORDER) -> str:
    request = store.submit_request(
        form="laptop", item={"category": "laptop"}, item_asset_id=None, answers={"purpose": "travel"},
        requester=Actor("ann@example.com", "employee"), person_id=None, approvals=[],
        fulfil_role="service_desk", ticket=order,
    )  # fmt: skip
    assert request.ticket_status == ("pending" if order else None)
    return request.id


def test_a_ticket_opens_with_servicenow_s_number_on_the_request(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store: WorkflowStore
) -> None:
    vendor, server = snow
    ticketing = Ticketing(config(tmp_path, server), store)
    rid = submit(store)
    ticketing.open_now("requests", rid)
    request = store.request(rid)
    assert request is not None
    [stored] = vendor.tables["sc_request"]
    assert (request.ticket, request.ticket_sys_id, request.ticket_status) == (
        "REQ0010001",
        stored["sys_id"],
        "opened",
    )
    assert request.ticket_error is None
    assert (stored["correlation_id"], stored["short_description"]) == (rid, ORDER.body["short_description"])
    [row] = store.tickets()
    assert (row["status"], row["attempts"], row["number"], row["entity"]) == (
        "opened",
        1,
        "REQ0010001",
        "requests",
    )
    ticketing.open_now("requests", rid)  # opened: nothing more to do
    assert len(vendor.tables["sc_request"]) == 1
    assert submit(store, None)  # a request without a ticket has none


def test_a_servicenow_that_is_down_loses_nothing(
    tmp_path: Path,
    snow: tuple[ServiceNow, VendorServer],
    store: WorkflowStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    vendor, server = snow
    ticketing = Ticketing(config(tmp_path, server), store)
    server.fail("servicenow", 503, times=float("inf"))
    caplog.set_level(logging.DEBUG, logger="assetgraph.tickets")
    rids = [submit(store), submit(store)]
    start = datetime.now(UTC)
    for rid in rids:
        ticketing.open_now("requests", rid)
    request = store.request(rids[0])
    assert request is not None
    assert (request.ticket, request.ticket_status) == (None, "pending")
    assert "503" in (request.ticket_error or "")
    rows = store.tickets()
    assert [r["attempts"] for r in rows] == [1, 1]
    assert all(timedelta(seconds=4) < r["next_attempt_at"] - start < timedelta(seconds=10) for r in rows)
    assert ticketing.open_due(start + timedelta(seconds=1)) == 0  # not due yet
    assert ticketing.open_due(start + timedelta(seconds=11)) == 2  # still down
    server.heal("servicenow")
    assert ticketing.open_due(start + timedelta(minutes=5)) == 2
    numbers = sorted(r.ticket for r in (store.request(i) for i in rids) if r is not None)
    assert numbers == ["REQ0010001", "REQ0010002"]
    assert len(vendor.tables["sc_request"]) == 2
    # the outage: one warning when it began, one line when it ended; no error, no warning per attempt
    levels = [r.levelno for r in caplog.records if r.name == "assetgraph.tickets"]
    assert levels.count(logging.WARNING) == 1
    assert logging.ERROR not in levels
    assert levels.count(logging.INFO) == 1


def test_attempts_run_out_then_an_admin_retries(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store: WorkflowStore
) -> None:
    _, server = snow
    ticketing = Ticketing(config(tmp_path, server, max_attempts=2), store)
    server.fail("servicenow", 503, times=float("inf"))
    rid = submit(store)
    ticketing.open_now("requests", rid)
    assert ticketing.open_due(datetime.now(UTC) + timedelta(minutes=1)) == 1
    [row] = store.tickets(status="failed")
    assert row["attempts"] == 2
    assert ticketing.open_due(datetime.now(UTC) + timedelta(days=1)) == 0  # given up
    request = store.request(rid)
    assert request is not None
    assert request.ticket_status == "failed"
    server.heal("servicenow")
    [again] = store.retry_tickets([row["id"]])
    assert (again["status"], again["attempts"]) == ("pending", 0)
    assert ticketing.open_due() == 1
    assert store.request(rid).ticket == "REQ0010001"  # type: ignore[union-attr]
    with pytest.raises(RetryRefused, match="opened already"):
        store.retry_tickets([row["id"]])


def test_a_ticket_servicenow_refuses_fails_at_once_with_its_reason(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store: WorkflowStore
) -> None:
    vendor, server = snow
    vendor.strict = True  # the instance refuses fields its table does not have
    ticketing = Ticketing(config(tmp_path, server), store)
    rid = submit(store, TicketOrder("itsm", "sc_request", {"short_description": "x", "u_budget": "42"}))
    ticketing.open_now("requests", rid)
    request = store.request(rid)
    assert request is not None
    assert request.ticket_status == "failed"
    assert "Field(s) not present in table sc_request: u_budget" in (request.ticket_error or "")
    assert store.tickets()[0]["attempts"] == 1
    assert vendor.tables["sc_request"] == []
