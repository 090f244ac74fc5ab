"""An employee's request over HTTP, with the demo's laptop form and roles: the form as JSON
Schema, an incomplete answer refused field by field, a complete one submitted; the manager
approves above the threshold; the service desk fulfils, checking the laptop out in the CMDB;
each requester and approver sees only their own requests and those waiting on them; every
transition is in the history."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from request_gateway import ANN, BOB, CY, DESK, LEADER, NOMGR, RequestGateway

FORM = "query($item: request_item!) { request_form(item: $item) }"
SUBMIT = """mutation($item: request_item!, $answers: jsonb!) {
  submit_request(item: $item, answers: $answers) { id state waiting_on_email waiting_on_role steps }
}"""
REQUESTS = "{ requests(order_by: [{submitted_at: asc}]) { id state requester waiting_on_email } }"
TRANSITION = """mutation($id: uuid!) { %s(id: $id%s) {
  id state reason asset_id checkout_id fulfilled_by history { field before after actor outcome } } }"""
PURPOSE = "travelling to customer sites every week"


def _submit(gw: RequestGateway, email: str, item: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    return gw.post("employee", email, SUBMIT, item=item, answers=answers)


def _act(
    gw: RequestGateway, role: str, email: str, mutation: str, rid: str, extra: str = ""
) -> dict[str, Any]:
    return gw.post(role, email, TRANSITION % (mutation, extra), id=rid)


def _code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


def test_the_form_is_json_schema_2020_12_with_its_conditions(gateway: RequestGateway) -> None:
    cheap, dear = gateway.asset_id("L-002"), gateway.asset_id("L-003")
    forms = {}
    for name, asset in (("cheap", cheap), ("dear", dear)):
        body = gateway.post("employee", ANN, FORM, item={"asset_id": asset})
        assert "errors" not in body, body
        forms[name] = body["data"]["request_form"]
        Draft202012Validator.check_schema(forms[name]["schema"])
        assert forms[name]["form"] == "laptop"
        assert forms[name]["ui_schema"]["purpose"] == {"ui:widget": "textarea"}
    assert "justification" not in forms["cheap"]["schema"]["properties"]
    assert "justification" in forms["dear"]["schema"]["required"]
    # the cost itself is not in the form: the employee may not read it
    assert "2500" not in str(forms["dear"])
    # a catalog entry (a model) gets the same form
    body = gateway.post("employee", ANN, FORM, item={"category": "laptop", "model": "macbook pro 16"})
    assert body["data"]["request_form"]["schema"]["required"] == forms["dear"]["schema"]["required"]
    # no form for phones; and an asset the employee does not see does not exist for them
    assert _code(gateway.post("employee", ANN, FORM, item={"asset_id": gateway.asset_id("P-005")})) == (
        "BAD_USER_INPUT"
    )
    hidden = gateway.post("employee", CY, FORM, item={"asset_id": gateway.asset_id("L-001")})  # Ann's
    assert hidden["errors"][0]["message"].startswith("item.asset_id: no asset")


def test_incomplete_answers_come_back_field_by_field(gateway: RequestGateway) -> None:
    dear = {"asset_id": gateway.asset_id("L-003")}
    body = _submit(gateway, ANN, dear, {"delivery": "ship", "purpose": "work"})
    assert _code(body) == "BAD_USER_INPUT"
    fields = {f["field"]: f["message"] for f in body["errors"][0]["extensions"]["fields"]}
    assert set(fields) == {"purpose", "shipping_address", "justification"}
    assert "too short" in fields["purpose"]
    assert body["data"] is None or body["data"]["submit_request"] is None
    assert gateway.post("employee", ANN, REQUESTS)["data"]["requests"] == []


def test_a_request_from_submission_to_fulfilment(gateway: RequestGateway) -> None:
    laptop = gateway.asset_id("L-003")
    answers = {"purpose": PURPOSE, "justification": "video editing for the marketing team"}
    submitted = _submit(gateway, ANN, {"asset_id": laptop}, answers)["data"]["submit_request"]
    assert (submitted["state"], submitted["waiting_on_email"]) == ("submitted", BOB)
    rid = submitted["id"]

    # who sees it: Ann (hers) and Bob (waiting on him); not a colleague, not the desk yet
    assert [r["id"] for r in gateway.post("employee", ANN, REQUESTS)["data"]["requests"]] == [rid]
    assert [r["id"] for r in gateway.post("employee", BOB, REQUESTS)["data"]["requests"]] == [rid]
    assert gateway.post("employee", CY, REQUESTS)["data"]["requests"] == []
    assert gateway.post("service_desk", DESK, REQUESTS)["data"]["requests"] == []

    assert _code(_act(gateway, "employee", ANN, "approve_request", rid)) == "FORBIDDEN"  # her own
    assert _code(_act(gateway, "employee", CY, "approve_request", rid)) == "BAD_USER_INPUT"  # unseen
    assert _code(_act(gateway, "service_desk", DESK, "fulfil_request", rid)) == "BAD_USER_INPUT"  # not yet

    approved = _act(gateway, "employee", BOB, "approve_request", rid)["data"]["approve_request"]
    assert approved["state"] == "approved"
    desk_sees = gateway.post("service_desk", DESK, REQUESTS)["data"]["requests"]
    assert [r["id"] for r in desk_sees] == [rid]

    done = _act(gateway, "service_desk", DESK, "fulfil_request", rid)["data"]["fulfil_request"]
    assert (done["state"], done["asset_id"], done["fulfilled_by"]) == ("fulfilled", laptop, DESK)
    assert done["checkout_id"] is not None
    # checked out in the CMDB itself: in use (ServiceNow code 1), held by Ann
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c3'") == 1
    assert gateway.cell("SELECT assigned_to FROM ci_computer WHERE sys_id = 'c3'") == ANN

    steps = [(h["field"], h["before"], h["after"], h["actor"], h["outcome"]) for h in done["history"]]
    assert [s for s in steps if s[0] == "state"] == [
        ("state", None, "submitted", ANN, "accepted"),
        ("state", "submitted", "approved", ANN, "refused"),
        ("state", "submitted", "approved", BOB, "accepted"),
        ("state", "approved", "fulfilled", DESK, "accepted"),
    ]
    assert ("asset_id", None, laptop, DESK, "accepted") in steps
    assert _code(_act(gateway, "employee", ANN, "cancel_request", rid)) == "CONFLICT"  # too late


def test_below_the_threshold_no_approval_is_needed(gateway: RequestGateway) -> None:
    cheap = {"asset_id": gateway.asset_id("L-002")}
    body = _submit(gateway, NOMGR, cheap, {"purpose": PURPOSE})
    submitted = body["data"]["submit_request"]
    assert (submitted["state"], submitted["waiting_on_role"]) == ("approved", "service_desk")
    # above it, with no manager on record, the request cannot go anywhere: refused, said why
    dear = {"asset_id": gateway.asset_id("L-004")}
    refused = _submit(gateway, NOMGR, dear, {"purpose": PURPOSE, "justification": "x" * 30})
    assert "no manager is on record" in refused["errors"][0]["message"]


def test_reject_and_cancel(gateway: RequestGateway) -> None:
    model = {"category": "laptop", "model": "MacBook Pro 16"}
    answers = {"purpose": PURPOSE, "justification": "video editing for the marketing team"}
    first = _submit(gateway, ANN, model, answers)["data"]["submit_request"]["id"]
    second = _submit(gateway, CY, model, answers)["data"]["submit_request"]["id"]
    rejected = _act(gateway, "employee", BOB, "reject_request", first, ', reason: "one per year"')
    assert rejected["data"]["reject_request"]["state"] == "rejected"
    assert rejected["data"]["reject_request"]["reason"] == "one per year"
    assert _code(_act(gateway, "employee", BOB, "cancel_request", second)) == "FORBIDDEN"  # not his
    cancelled = _act(gateway, "employee", CY, "cancel_request", second)["data"]["cancel_request"]
    assert cancelled["state"] == "cancelled"
    # the list filters and sorts like any table, inside what the caller sees
    query = """query($s: String) { requests(where: {state: {_eq: $s}}, order_by: [{submitted_at: desc}]) {
        id requester } }"""
    assert gateway.post("employee", CY, query, s="cancelled")["data"]["requests"] == [
        {"id": second, "requester": CY}
    ]
    assert gateway.post("employee", CY, query, s="rejected")["data"]["requests"] == []  # Ann's
    rejected_list = gateway.post("employee", ANN, query, s="rejected")["data"]["requests"]
    assert [r["id"] for r in rejected_list] == [first]
    bad = gateway.post("employee", ANN, "{ requests(where: {colour: {_eq: 1}}) { id } }")
    assert _code(bad) == "BAD_USER_INPUT"
    # roles without any request action have no request fields at all
    body = gateway.post("finance", "fin@example.com", REQUESTS)
    assert _code(body) == "FORBIDDEN"
    # the it_leader approves role steps only: nothing of Bob's employees is waiting on it
    assert gateway.post("it_leader", LEADER, REQUESTS)["data"]["requests"] == []


CHANGES = """{ changes(where: {entity: {_eq: "requests"}}, order_by: [{id: asc}]) {
  entity entity_id field before after actor role outcome } }"""


def test_every_transition_is_in_the_change_history(gateway: RequestGateway) -> None:
    model = {"category": "laptop", "model": "MacBook Pro 16"}
    answers = {"purpose": PURPOSE, "justification": "video editing for the marketing team"}
    kept = _submit(gateway, ANN, model, answers)["data"]["submit_request"]["id"]
    dropped = _submit(gateway, ANN, model, answers)["data"]["submit_request"]["id"]
    rejected = _submit(gateway, CY, model, answers)["data"]["submit_request"]["id"]
    assert "errors" not in _act(gateway, "employee", BOB, "approve_request", kept)
    assert "errors" not in _act(gateway, "service_desk", DESK, "fulfil_request", kept)
    assert "errors" not in _act(gateway, "employee", ANN, "cancel_request", dropped)
    assert "errors" not in _act(gateway, "employee", BOB, "reject_request", rejected, ', reason: "no"')

    body = gateway.post("employee_history", ANN, CHANGES)
    assert "errors" not in body, body
    states = [
        (c["entity_id"], c["before"], c["after"], c["actor"], c["role"])
        for c in body["data"]["changes"]
        if c["field"] == "state" and c["outcome"] == "accepted"
    ]
    # Ann's two requests, every transition with who made it and as which role; not Cy's
    assert states == [
        (kept, None, "submitted", ANN, "employee"),
        (dropped, None, "submitted", ANN, "employee"),
        (kept, "submitted", "approved", BOB, "employee"),
        (kept, "approved", "fulfilled", DESK, "service_desk"),
        (dropped, "submitted", "cancelled", ANN, "employee"),
    ]
    assert {c["entity_id"] for c in body["data"]["changes"]} == {kept, dropped}
    # Cy sees her rejected request's transitions only
    cy = gateway.post("employee_history", CY, CHANGES)["data"]["changes"]
    assert [(c["before"], c["after"], c["actor"]) for c in cy if c["field"] == "state"] == [
        (None, "submitted", CY),
        ("submitted", "rejected", BOB),
    ]
    # the history needs the `changes` capability: the employee role has none
    assert _code(gateway.post("employee", ANN, CHANGES)) == "FORBIDDEN"
