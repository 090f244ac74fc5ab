"""The tickets the gateway opened follow their record to the end, against the loopback Table
API over HTTP: a request fulfilled, rejected or cancelled and a repair closed PATCH their
ticket (state, close fields, a work note naming who did it); an update queued while
ServiceNow is down (or before its ticket opened) arrives later, after the open, exactly once;
an update ServiceNow refuses is failed with its reason and sent again by `retry_tickets`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.itsm import itsm_source, loopback_servicenow

from federation.config.settings import Config, parse_config
from federation.demo.servicenow import ServiceNow, journal_entries
from federation.demo.vendor_server import VendorServer
from federation.workflow import WorkflowStore, open_store
from federation.workflow.records import Request
from federation.workflow.requests import Actor
from federation.workflow.ticketing import Ticketing
from federation.workflow.tickets import TicketOrder

ANN = Actor("ann@example.com", "employee")
BOSS = Actor("bob@example.com", "manager", approves=True)
DESK = Actor("desk@example.com", "service_desk", fulfils=True)
ORDER = TicketOrder("itsm", "sc_request", {"short_description": "Request a laptop for ann@example.com"})
REPAIR = TicketOrder("itsm", "incident", {"short_description": "repair of L-002"})
LATER = timedelta(hours=2)  # past any backoff


@pytest.fixture
def snow() -> Iterator[tuple[ServiceNow, VendorServer]]:
    with loopback_servicenow() as found:
        yield found


def config(tmp_path: Path, server: VendorServer, **tickets: Any) -> Config:
    itsm = itsm_source(server)
    raw = {"store": {"path": "state"}, "sources": [itsm],
           "tickets": {"source": "itsm", "timeout": "1s", **tickets}}  # fmt: skip
    return parse_config(raw, source="config.yaml", base_dir=tmp_path)


def wired(store_url: str, cfg: Config) -> tuple[WorkflowStore, Ticketing]:
    store = open_store(store_url, tickets=cfg.settings.tickets)
    ticketing = Ticketing(cfg, store)
    store.on_ticket_update = ticketing.update_now
    return store, ticketing


def submit(
    store: WorkflowStore, ticketing: Ticketing, *, approvals: list[dict[str, Any]] | None = None
) -> str:
    request = store.submit_request(
        form="laptop", item={"category": "laptop"}, item_asset_id=None, answers={"purpose": "travel"},
        requester=ANN, person_id=None, approvals=approvals or [], fulfil_role="service_desk", ticket=ORDER,
    )  # fmt: skip
    ticketing.open_now("requests", request.id)
    return request.id


def ticket_of(vendor: ServiceNow, table: str = "sc_request") -> dict[str, Any]:
    [record] = vendor.tables[table]
    return record


def patches(server: VendorServer) -> list[Any]:
    return [c for c in server.calls_to("servicenow") if c.method == "PATCH"]


def test_a_fulfilled_request_closes_its_sc_request_complete_with_a_work_note(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, server = snow
    store, ticketing = wired(store_url, config(tmp_path, server))
    rid = submit(store, ticketing)
    assert ticket_of(vendor)["request_state"] == "requested"
    done = store.transition_request(rid, DESK, "fulfil", reason="handed over at the desk")
    ticket = ticket_of(vendor)
    assert (ticket["request_state"], ticket["state"]) == ("closed_complete", 3)
    assert journal_entries(ticket) == [
        "Request fulfilled in assetgraph by desk@example.com: handed over at the desk"
    ]
    # the request shows where its ticket stands, as ServiceNow answered
    assert (done.ticket_state, done.ticket_update, done.ticket_update_error) == (
        "closed_complete",
        "sent",
        None,
    )
    [row] = store.tickets()
    [update] = store.ticket_updates([str(row["id"])])[str(row["id"])]
    assert (update["state"], update["status"], update["attempts"]) == ("fulfilled", "sent", 1)
    assert update["answer"]["request_state"] == "closed_complete"
    [patch] = patches(server)
    assert patch.path == f"/api/now/table/sc_request/{ticket['sys_id']}"
    store.close()


def test_approval_then_rejection_and_a_cancellation_tell_servicenow(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, server = snow
    store, ticketing = wired(store_url, config(tmp_path, server))
    steps = [{"email": BOSS.email}, {"role": "it_director"}]
    rid = submit(store, ticketing, approvals=steps)
    store.transition_request(rid, BOSS, "approve")  # one step of two: the state stays, nothing is told
    assert patches(server) == []
    director = Actor("dee@example.com", "it_director", approves=True)
    rejected = store.transition_request(rid, director, "reject", reason="over budget")
    ticket = ticket_of(vendor)
    assert (ticket["request_state"], ticket["approval"], ticket["state"]) == (
        "closed_rejected",
        "rejected",
        4,
    )
    assert journal_entries(ticket) == ["Request rejected in assetgraph by dee@example.com: over budget"]
    assert (rejected.ticket_state, rejected.ticket_update) == ("closed_rejected", "sent")
    # another request, approved then cancelled by its requester: two updates, in order
    vendor.tables["sc_request"].clear()
    second = submit(store, ticketing, approvals=[{"email": BOSS.email}])
    store.transition_request(second, BOSS, "approve", reason="fine")
    assert ticket_of(vendor)["request_state"] == "in_process"
    cancelled = store.transition_request(second, ANN, "cancel", reason="found one in a drawer")
    ticket = ticket_of(vendor)
    assert (ticket["request_state"], ticket["state"], ticket["approval"]) == (
        "closed_cancelled",
        4,
        "approved",
    )
    assert journal_entries(ticket) == [
        "Request approved in assetgraph by bob@example.com: fine",
        "Request cancelled in assetgraph by ann@example.com: found one in a drawer",
    ]
    assert cancelled.ticket_state == "closed_cancelled"
    store.close()


def test_a_closed_repair_resolves_its_incident_with_close_code_and_notes(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, _ = snow
    store, ticketing = wired(store_url, config(tmp_path, snow[1]))
    asset = "3f1b0c3e-9c1a-4d4e-8a11-2d0b6f0f5a01"
    record = store.log_maintenance(asset, kind="repair", actor=DESK.email, notes="keyboard dead")
    store.queue_ticket("maintenance", record.id, REPAIR)
    ticketing.open_now("maintenance", record.id)
    assert ticket_of(vendor, "incident")["state"] == "1"
    closed = store.close_maintenance(record.id, actor="tech@example.com", notes="keyboard replaced")
    incident = ticket_of(vendor, "incident")
    note = "Repair closed in assetgraph by tech@example.com: keyboard replaced"
    assert (incident["state"], incident["close_code"], incident["close_notes"]) == (
        6,
        "Solution provided",
        note,
    )
    assert journal_entries(incident) == [note]
    assert (closed.status, closed.ticket_state, closed.ticket_update) == ("closed", "6", "sent")
    store.close()


def test_an_update_queued_while_servicenow_is_down_arrives_after_the_open_exactly_once(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, server = snow
    store, ticketing = wired(store_url, config(tmp_path, server))
    server.fail("servicenow", 503, times=float("inf"))
    rid = submit(store, ticketing)
    done = store.transition_request(rid, DESK, "fulfil")
    # kept with the transition, waiting for its ticket (not attempted: nothing to PATCH yet)
    assert (done.state, done.ticket_status, done.ticket_update) == ("fulfilled", "pending", "pending")
    assert ticketing.update_due(datetime.now(UTC) + LATER) == 0
    server.heal("servicenow")
    assert ticketing.work() == 0  # the open's backoff is not over: nothing is due yet
    now = datetime.now(UTC) + LATER
    assert ticketing.open_due(now) == 1
    assert ticketing.update_due(now) == 1
    assert ticketing.update_due(now + LATER) == 0
    ticket = ticket_of(vendor)
    assert ticket["request_state"] == "closed_complete"
    assert journal_entries(ticket) == ["Request fulfilled in assetgraph by desk@example.com."]
    writes = [c.method for c in server.calls_to("servicenow") if c.method in ("POST", "PATCH")]
    assert writes[-2:] == ["POST", "PATCH"]  # the 503s before are the failed opens
    request = store.request(rid)
    assert request is not None
    assert (request.ticket, request.ticket_state, request.ticket_update) == (
        "REQ0010001",
        "closed_complete",
        "sent",
    )
    store.close()


def test_an_update_whose_answer_was_lost_is_not_noted_twice(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, server = snow
    store, ticketing = wired(store_url, config(tmp_path, server))
    rid = submit(store, ticketing)
    server.fail("servicenow", "slow", delay=1.6, method="PATCH")  # applied, answered too late
    done = store.transition_request(rid, DESK, "fulfil")
    assert done.ticket_update == "pending"
    assert done.ticket_update_error  # why it is not sent yet (the answer did not come)
    deadline = time.monotonic() + 30  # the late PATCH is applied after the client gave up on it
    while ticket_of(vendor)["request_state"] != "closed_complete":
        assert time.monotonic() < deadline, "the slow PATCH never landed"
        time.sleep(0.05)
    assert ticketing.update_due(datetime.now(UTC) + LATER) == 1
    ticket = ticket_of(vendor)
    assert ticket["request_state"] == "closed_complete"
    assert journal_entries(ticket) == ["Request fulfilled in assetgraph by desk@example.com."]
    assert len(patches(server)) == 2  # the PATCH again, the fields alone (idempotent)
    assert (store.request(rid) or done).ticket_update == "sent"
    store.close()


def test_a_refused_update_is_failed_with_servicenow_s_reason_and_retried(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, server = snow
    updates = {"fulfilled": {"request_state": "closed_complete", "u_fulfilment": "{actor}"}}
    cfg = config(tmp_path, server, requests={"table": "sc_request", "updates": updates})
    store, ticketing = wired(store_url, cfg)
    rid = submit(store, ticketing)
    vendor.strict = True  # this instance refuses fields its tables do not have
    done: Request = store.transition_request(rid, DESK, "fulfil")
    assert (done.state, done.ticket_update) == ("fulfilled", "failed")
    assert "Field(s) not present in table sc_request: u_fulfilment" in (done.ticket_update_error or "")
    assert ticket_of(vendor)["request_state"] == "requested"
    [row] = store.tickets()
    assert store.ticket_updates([str(row["id"])])[str(row["id"])][0]["attempts"] == 1
    vendor.strict = False  # the ServiceNow admin adds the field
    store.retry_tickets([str(row["id"])])
    ticketing.open_now("requests", rid)
    ticket = ticket_of(vendor)
    assert (ticket["request_state"], ticket["u_fulfilment"]) == ("closed_complete", DESK.email)
    assert (store.request(rid) or done).ticket_update == "sent"
    store.close()


def test_an_incident_resolved_without_close_fields_is_refused_as_servicenow_does(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer], store_url: str
) -> None:
    vendor, server = snow
    cfg = config(tmp_path, server, maintenance={"table": "incident", "updates": {"closed": {"state": 6}}})
    store, ticketing = wired(store_url, cfg)
    asset = "3f1b0c3e-9c1a-4d4e-8a11-2d0b6f0f5a02"
    record = store.log_maintenance(asset, kind="repair", actor=DESK.email)
    store.queue_ticket("maintenance", record.id, REPAIR)
    ticketing.open_now("maintenance", record.id)
    closed = store.close_maintenance(record.id, actor=DESK.email)
    assert closed.ticket_update == "failed"
    assert "close_code is mandatory" in (closed.ticket_update_error or "")
    assert ticket_of(vendor, "incident")["state"] == "1"
    store.close()
