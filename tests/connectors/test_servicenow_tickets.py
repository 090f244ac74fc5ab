"""Tickets opened through kind: servicenow's Table API, against the stateful loopback ServiceNow
over real HTTP: numbers as ServiceNow gives them (INC0010001, REQ0010001), ServiceNow's
refusals (400, 401, 403) mapped to their kind, and a retry after a lost answer that finds the
ticket the first attempt opened instead of opening a second one."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from http_sync import FAST_RETRY, connector
from vendor_server import ServiceNow, VendorServer

from connectors.base import SourceError, WriteRefused
from connectors.servicenow import ServiceNowConnector

USER, PASSWORD = "itsm-bot", "sn-tickets-4410"
CORRELATION = "6f1c1a57-8a55-4f4b-9a3e-5c1c8f2b9d10"


@pytest.fixture
def snow() -> ServiceNow:
    return ServiceNow(USER, PASSWORD, {"incident": [], "sc_request": []}, readers={"viewer": "view-pass-77"})


@pytest.fixture
def server(snow: ServiceNow) -> Iterator[VendorServer]:
    srv = VendorServer([snow]).start()
    yield srv
    srv.stop()


def itsm(server: VendorServer, user: str = USER, password: str = PASSWORD) -> ServiceNowConnector:
    source = {"name": "itsm", "kind": "servicenow", "base_url": server.base("servicenow"),
              "auth": {"username": user, "password": password}, "retry": FAST_RETRY, "timeout": "1s",
              "entities": {"assets": None, "people": None, "locations": None}}  # fmt: skip
    made = connector(source)
    assert isinstance(made, ServiceNowConnector)
    return made


def test_tickets_get_the_next_number_of_their_table(server: VendorServer, snow: ServiceNow) -> None:
    client = itsm(server)
    first = client.open_ticket("incident", {"short_description": "repair of P000012"}, correlation_id="a" * 8)
    second = client.open_ticket(
        "incident", {"short_description": "repair of P000013"}, correlation_id="b" * 8
    )
    request = client.open_ticket("sc_request", {"short_description": "a laptop"}, correlation_id="c" * 8)
    assert (first["number"], second["number"], request["number"]) == (
        "INC0010001",
        "INC0010002",
        "REQ0010001",
    )
    assert re.fullmatch(r"[0-9a-f]{32}", first["sys_id"])
    assert first["sys_id"] != second["sys_id"]
    [stored, _] = snow.tables["incident"]
    # what ServiceNow holds: the fields sent, the tag, and the table's defaults (New)
    assert (stored["short_description"], stored["correlation_id"], stored["correlation_display"]) == (
        "repair of P000012", "a" * 8, "assetgraph"
    )  # fmt: skip
    assert (stored["state"], stored["number"], stored["sys_id"]) == ("1", "INC0010001", first["sys_id"])


def test_the_loopback_answers_a_post_as_servicenow_does(server: VendorServer) -> None:
    url = server.base("servicenow") + "/api/now/table/incident"
    created = httpx.post(url, json={"short_description": "x"}, auth=(USER, PASSWORD))
    assert created.status_code == 201
    assert created.json()["result"]["number"] == "INC0010001"
    garbage = httpx.post(url, content=b"{not json", auth=(USER, PASSWORD))
    assert garbage.status_code == 400
    assert garbage.json() == {
        "error": {"message": "Exception while reading request", "detail": "The payload is not valid JSON."},
        "status": "failure",
    }
    unauthenticated = httpx.post(url, json={"short_description": "x"}, auth=(USER, "wrong"))
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["message"] == "User Not Authenticated"
    assert unauthenticated.json()["status"] == "failure"
    forbidden = httpx.post(url, json={"short_description": "x"}, auth=("viewer", "view-pass-77"))
    assert forbidden.status_code == 403
    assert "ACL Exception" in forbidden.json()["error"]["detail"]


def test_a_retry_after_a_lost_answer_finds_the_ticket_already_opened(
    server: VendorServer, snow: ServiceNow
) -> None:
    client = itsm(server)
    # ServiceNow creates the record, but answers after the client has given up
    server.fail("servicenow", "slow", path="/incident", method="POST", delay=2.5)
    with pytest.raises(SourceError, match="may have been applied"):
        client.open_ticket("incident", {"short_description": "repair"}, correlation_id=CORRELATION)
    deadline = time.monotonic() + 30
    while not snow.tables["incident"]:  # the slow POST lands (a retry comes seconds later)
        assert time.monotonic() < deadline, "the slow POST never landed"
        time.sleep(0.05)
    again = client.open_ticket("incident", {"short_description": "repair"}, correlation_id=CORRELATION)
    assert again["number"] == "INC0010001"
    assert len(snow.tables["incident"]) == 1  # one ticket, not two
    posts = [c for c in server.calls_to("servicenow") if c.method == "POST"]
    assert len(posts) == 1  # the second attempt looked, and did not post again


@pytest.mark.parametrize(
    ("case", "kind", "message"),
    [
        pytest.param("wrong-password", SourceError, "check the credentials", id="401"),
        pytest.param("read-only-login", WriteRefused, "ACL Exception", id="403-acl"),
        pytest.param("unknown-table", WriteRefused, "Invalid table", id="400-table"),
        pytest.param(
            "unknown-field", WriteRefused, "not present in table incident: u_colour", id="400-field"
        ),
        pytest.param("mandatory", WriteRefused, "caller_id is mandatory", id="403-data-policy"),
    ],
)
def test_refusals_keep_servicenow_s_reason(
    server: VendorServer, snow: ServiceNow, case: str, kind: type[Exception], message: str
) -> None:
    client = itsm(server)
    table, values = "incident", {"short_description": "repair"}
    if case == "wrong-password":
        client = itsm(server, password="nope")
    elif case == "read-only-login":
        client = itsm(server, "viewer", "view-pass-77")
    elif case == "unknown-table":
        table = "u_tickets"
    elif case == "unknown-field":
        snow.strict = True
        values["u_colour"] = "red"
    else:
        snow.mandatory = {"incident": ["caller_id"]}
    with pytest.raises(kind, match=message) as caught:
        client.open_ticket(table, values, correlation_id=CORRELATION)
    if isinstance(caught.value, WriteRefused):
        assert caught.value.kind == ("forbidden" if case == "read-only-login" else "invalid")
    assert snow.tables["incident"] == []
