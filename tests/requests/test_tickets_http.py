"""ServiceNow tickets opened by the gateway, over HTTP end to end: the demo's laptop form and
roles, the request estate's CMDB, and a loopback ServiceNow (port 0) as the `itsm` source of
`tickets:`. A request gets an sc_request (REQ…), a repair an incident (INC…), their numbers on
the records for those who see them; a ServiceNow that is down keeps the request, its ticket
pending with the reason, opened by a serving process's retries once it answers; a refused
ticket is listed for the admin and retried."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_gateway import token
from request_gateway import ANN, BOB, CY, DESK, RequestGateway, request_config
from support.itsm import itsm_source, loopback_servicenow
from support.serving import serving, synced_and_served

from federation.demo.servicenow import ServiceNow, journal_entries
from federation.demo.vendor_server import VendorServer
from federation.serving.app import serving_app

SUBMIT = """mutation($item: request_item!, $answers: jsonb!) {
  submit_request(item: $item, answers: $answers) {
    id state ticket ticket_sys_id ticket_status ticket_error } }"""
MINE = "{ requests { id ticket ticket_status } }"
REPAIR = """mutation($a: AssetRef!, $ticket: String) {
  log_maintenance(asset: $a, kind: "repair", notes: "keyboard dead", ticket: $ticket) {
    id ticket ticket_status ticket_sys_id } }"""
TICKETS = '{ tickets(status: "failed") { id entity entity_id status attempts last_error number } }'
RETRY = "mutation($ids: [uuid!]!) { retry_tickets(ids: $ids) { id status attempts number } }"
ANSWERS = {"purpose": "travelling to customer sites every week"}


@pytest.fixture
def snow() -> Iterator[tuple[ServiceNow, VendorServer]]:
    with loopback_servicenow() as found:
        yield found


def itsm_config(tmp_path: Path, server: VendorServer, **tickets: Any) -> Any:
    itsm = itsm_source(server)
    fields = {"assignment_group": "Service Desk"}
    section = {"source": "itsm", "timeout": "3s", "maintenance": {"table": "incident", "fields": fields},
               **tickets}  # fmt: skip
    return request_config(tmp_path, sources=[itsm], tickets=section)


@pytest.fixture
def gateway(tmp_path: Path, snow: tuple[ServiceNow, VendorServer]) -> Iterator[RequestGateway]:
    config, db = itsm_config(tmp_path, snow[1])
    with synced_and_served(config) as http:
        yield RequestGateway(http, db, config)


def test_a_request_opens_an_sc_request_with_its_number_on_the_request(
    gateway: RequestGateway, snow: tuple[ServiceNow, VendorServer]
) -> None:
    vendor, _ = snow
    cheap = {"asset_id": gateway.asset_id("L-002")}
    done = gateway.post("employee", ANN, SUBMIT, item=cheap, answers=ANSWERS)["data"]["submit_request"]
    [stored] = vendor.tables["sc_request"]
    assert (done["ticket"], done["ticket_status"], done["ticket_error"]) == ("REQ0010001", "opened", None)
    assert done["ticket_sys_id"] == stored["sys_id"]
    # what ServiceNow was told: the form, the item, who asks, the answers; tagged with the request
    assert stored["correlation_id"] == done["id"]
    assert stored["short_description"] == f"Request a laptop: XPS 13 (laptop) for {ANN}"
    assert "What will you use it for?: travelling to customer sites every week" in stored["description"]
    assert "Delivery: pickup" in stored["description"]
    assert "900" not in stored["description"]  # the cost is the gateway's business, not the ticket's
    # the requester sees it on her request, filters by it; a colleague sees neither
    assert gateway.post("employee", ANN, MINE)["data"]["requests"] == [
        {"id": done["id"], "ticket": "REQ0010001", "ticket_status": "opened"}
    ]
    found = gateway.post("employee", ANN, '{ requests(where: {ticket: {_eq: "REQ0010001"}}) { id } }')
    assert found["data"]["requests"] == [{"id": done["id"]}]
    assert gateway.post("employee", CY, MINE)["data"]["requests"] == []
    # a request above the threshold gets its own ticket, while it waits on the manager
    dear = {"asset_id": gateway.asset_id("L-003")}
    answers = {**ANSWERS, "justification": "video editing for the marketing team"}
    second = gateway.post("employee", ANN, SUBMIT, item=dear, answers=answers)["data"]["submit_request"]
    assert (second["state"], second["ticket"]) == ("submitted", "REQ0010002")
    assert [r["ticket"] for r in gateway.post("employee", BOB, MINE)["data"]["requests"]] == ["REQ0010002"]


def test_a_repair_opens_an_incident_unless_it_names_its_ticket(
    gateway: RequestGateway, snow: tuple[ServiceNow, VendorServer]
) -> None:
    vendor, server = snow
    opened = gateway.post("service_desk", DESK, REPAIR, a={"asset_tag": "L-002"})["data"]["log_maintenance"]
    [incident] = vendor.tables["incident"]
    assert (opened["ticket"], opened["ticket_status"]) == ("INC0010001", "opened")
    assert opened["ticket_sys_id"] == incident["sys_id"]
    assert (incident["short_description"], incident["assignment_group"]) == (
        "repair of L-002",
        "Service Desk",
    )
    assert incident["correlation_id"] == opened["id"]
    history = gateway.post(
        "service_desk",
        DESK,
        '{ assets(where: {asset_tag: {_eq: "L-002"}}) { maintenance { ticket ticket_status } } }',
    )
    assert history["data"]["assets"][0]["maintenance"] == [
        {"ticket": "INC0010001", "ticket_status": "opened"}
    ]
    # a repair reported from a ticket (the ticket hook, or by hand) already has one: none opened
    given = gateway.post("service_desk", DESK, REPAIR, a={"asset_tag": "L-004"}, ticket="INC0099999")
    assert given["data"]["log_maintenance"]["ticket"] == "INC0099999"
    assert given["data"]["log_maintenance"]["ticket_status"] is None
    assert len(vendor.tables["incident"]) == 1
    # an employee does not read maintenance at all
    denied = gateway.post("employee", ANN, "{ assets { maintenance { ticket } } }")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len([c for c in server.calls_to("servicenow") if c.method == "POST"]) == 1


def test_a_refused_ticket_is_listed_for_the_admin_and_retried(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer]
) -> None:
    vendor, server = snow
    vendor.strict = True  # this instance refuses fields its tables do not have
    config, db = itsm_config(
        tmp_path, server, requests={"table": "sc_request", "fields": {"u_cost_center": "CC-1"}}
    )
    with synced_and_served(config) as http:
        gw = RequestGateway(http, db, config)
        cheap = {"asset_id": gw.asset_id("L-002")}
        done = gw.post("employee", ANN, SUBMIT, item=cheap, answers=ANSWERS)["data"]["submit_request"]
        assert (done["state"], done["ticket"], done["ticket_status"]) == ("approved", None, "failed")
        assert "Field(s) not present in table sc_request: u_cost_center" in done["ticket_error"]
        [failed] = gw.post("admin", None, TICKETS)["data"]["tickets"]
        assert (failed["entity"], failed["entity_id"], failed["attempts"]) == ("requests", done["id"], 1)
        assert "u_cost_center" in failed["last_error"]
        assert gw.post("employee", ANN, TICKETS)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert gw.post("service_desk", DESK, RETRY, ids=[failed["id"]])["errors"][0]["extensions"][
            "code"
        ] == ("FORBIDDEN")
        vendor.strict = False  # the ServiceNow admin adds the field
        [retried] = gw.post("admin", None, RETRY, ids=[failed["id"]])["data"]["retry_tickets"]
        assert (retried["status"], retried["number"], retried["attempts"]) == ("opened", "REQ0010001", 1)
        assert gw.post("employee", ANN, MINE)["data"]["requests"][0]["ticket"] == "REQ0010001"
        again = gw.post("admin", None, RETRY, ids=[failed["id"]])
        assert "opened already" in again["errors"][0]["message"]
    assert vendor.tables["sc_request"][0]["u_cost_center"] == "CC-1"


def test_a_servicenow_that_is_down_keeps_the_request_and_a_serving_process_opens_it_later(
    tmp_path: Path, snow: tuple[ServiceNow, VendorServer]
) -> None:
    vendor, server = snow
    config, _ = itsm_config(tmp_path, server)
    server.fail("servicenow", 503, times=float("inf"))
    with serving(serving_app(config)) as url, httpx.Client(base_url=url, timeout=60) as http:
        deadline = time.monotonic() + 120
        while http.get("/readyz").status_code != 200:  # the first sync
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.2)

        def post(query: str, **variables: Any) -> dict[str, Any]:
            headers = {"authorization": f"Bearer {token('employee', email=ANN)}"}
            return http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            ).json()

        asset = http.post(
            "/graphql",
            json={"query": '{ assets(where: {asset_tag: {_eq: "L-002"}}) { id } }'},
            headers={"authorization": f"Bearer {token('admin')}"},
        ).json()["data"]["assets"][0]["id"]
        done = post(SUBMIT, item={"asset_id": asset}, answers=ANSWERS)["data"]["submit_request"]
        assert (done["state"], done["ticket"], done["ticket_status"]) == ("approved", None, "pending")
        assert "503" in done["ticket_error"]
        assert vendor.tables["sc_request"] == []
        server.heal("servicenow")
        deadline = time.monotonic() + 60  # the first retry is due 5 s after the failure
        while (mine := post(MINE)["data"]["requests"][0])["ticket_status"] != "opened":
            assert mine["ticket_status"] == "pending"
            assert time.monotonic() < deadline, "the ticket was never opened"
            time.sleep(0.3)
    assert mine["ticket"] == "REQ0010001"
    assert [r["correlation_id"] for r in vendor.tables["sc_request"]] == [done["id"]]


FULFIL = """mutation($id: uuid!) { fulfil_request(id: $id, note: "at the desk") {
  state ticket ticket_state ticket_update ticket_update_error } }"""
CANCEL = """mutation($id: uuid!) { cancel_request(id: $id, reason: "not needed") {
  state ticket_state ticket_update } }"""
CLOSE = """mutation($id: uuid!) { close_maintenance(id: $id, notes: "keyboard replaced") {
  status ticket_state ticket_update ticket_update_error } }"""
UPDATES = "{ tickets { entity number updates { seq state status attempts answer last_error } } }"


def test_the_tickets_follow_their_request_and_repair_to_the_end(
    gateway: RequestGateway, snow: tuple[ServiceNow, VendorServer]
) -> None:
    vendor, server = snow
    cheap = {"asset_id": gateway.asset_id("L-002")}
    done = gateway.post("employee", ANN, SUBMIT, item=cheap, answers=ANSWERS)["data"]["submit_request"]
    fulfilled = gateway.post("service_desk", DESK, FULFIL, id=done["id"])["data"]["fulfil_request"]
    assert fulfilled == {"state": "fulfilled", "ticket": "REQ0010001", "ticket_state": "closed_complete",
                         "ticket_update": "sent", "ticket_update_error": None}  # fmt: skip
    [request] = vendor.tables["sc_request"]
    assert (request["request_state"], request["state"]) == ("closed_complete", 3)
    assert journal_entries(request) == [f"Request fulfilled in assetgraph by {DESK}: at the desk"]
    # a request cancelled by its requester (it waits on the manager: L-003 is dear)
    dear = {"asset_id": gateway.asset_id("L-003")}
    answers = {**ANSWERS, "justification": "video editing for the marketing team"}
    second = gateway.post("employee", ANN, SUBMIT, item=dear, answers=answers)["data"]["submit_request"]
    cancelled = gateway.post("employee", ANN, CANCEL, id=second["id"])["data"]["cancel_request"]
    assert cancelled == {"state": "cancelled", "ticket_state": "closed_cancelled", "ticket_update": "sent"}
    assert vendor.tables["sc_request"][1]["request_state"] == "closed_cancelled"
    # a repair closed resolves its incident, with the close code and notes ServiceNow requires
    opened = gateway.post("service_desk", DESK, REPAIR, a={"asset_tag": "L-004"})["data"]["log_maintenance"]
    closed = gateway.post("service_desk", DESK, CLOSE, id=opened["id"])["data"]["close_maintenance"]
    assert closed == {
        "status": "closed",
        "ticket_state": "6",
        "ticket_update": "sent",
        "ticket_update_error": None,
    }
    [incident] = vendor.tables["incident"]
    note = f"Repair closed in assetgraph by {DESK}: keyboard replaced"
    assert (incident["state"], incident["close_code"], incident["close_notes"]) == (
        6,
        "Solution provided",
        note,
    )
    assert journal_entries(incident) == [note]
    # the admin sees each ticket's updates and what ServiceNow answered
    listed = gateway.post("admin", None, UPDATES)["data"]["tickets"]
    assert [(t["number"], [(u["state"], u["status"]) for u in t["updates"]]) for t in listed] == [
        ("REQ0010001", [("fulfilled", "sent")]),
        ("REQ0010002", [("cancelled", "sent")]),
        ("INC0010001", [("closed", "sent")]),
    ]
    assert listed[0]["updates"][0]["answer"]["request_state"] == "closed_complete"
    assert len([c for c in server.calls_to("servicenow") if c.method == "PATCH"]) == 3
