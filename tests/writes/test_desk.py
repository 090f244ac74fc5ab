"""Check-out and check-in by scan, as the service desk, over HTTP: the asset's status and
holder change at the owning source, the loan is kept, and the rules hold (in stock only, not
to someone who has left, only a loan can come back); a bulk call answers per scan."""

from __future__ import annotations

from datetime import UTC, datetime

from write_gateway import Gateway

from federation.workflow import CHECKOUTS, open_workflow_store

CHECKOUT = """
mutation($ref: AssetRef!, $p: uuid, $l: uuid, $due: timestamptz) {
  checkout_asset(asset: $ref, to_person: $p, to_location: $l, expected_checkin: $due, note: "new starter") {
    id asset_id asset_tag to_person_id checked_out_at expected_checkin actor
  }
}
"""
CHECKIN = """
mutation($ref: AssetRef!, $l: uuid) {
  checkin_asset(asset: $ref, to_location: $l, condition: "good") { asset_id checked_in_at condition }
}
"""
BULK = """
mutation($scans: [String!]!, $p: uuid) {
  checkout_assets(scans: $scans, to_person: $p) { scan ok asset_id code reason }
}
"""


def test_the_desk_checks_out_by_scan_and_the_source_holds_it(gateway: Gateway) -> None:
    ann = gateway.person("ann@example.com")
    # a QR code with the asset's URL; the desk has no `update` on cost and needs none
    body = gateway.post(
        "service_desk",
        CHECKOUT,
        ref={"scan": "https://assets.example.com/hardware/A-004"},
        p=ann,
        due="2030-01-01T00:00:00Z",
    )
    assert "errors" not in body, body
    loan = body["data"]["checkout_asset"]
    assert (loan["asset_tag"], loan["to_person_id"]) == ("A-004", ann)
    assert loan["actor"] == "test-service_desk"
    # ServiceNow's 1 = installed (in use), held by ann, at the source
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c4'") == 1
    assert gateway.cell("SELECT assigned_to FROM ci_computer WHERE sys_id = 'c4'") == "ann@example.com"
    asset = gateway.post(
        "service_desk", '{ assets(where: {asset_tag: {_eq: "A-004"}}) { status assigned_to { email } } }'
    )["data"]["assets"][0]
    assert asset == {"status": "in_use", "assigned_to": {"email": "ann@example.com"}}
    assert (
        gateway.post("service_desk", "{ checkouts(overdue: true) { asset_tag } }")["data"]["checkouts"] == []
    )
    # years pass (the loan moves back in time): it was due in 2020
    store = open_workflow_store(gateway.config)
    try:
        with store.transaction() as conn:
            out, due = datetime(2019, 6, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)
            conn.execute(CHECKOUTS.update().values(checked_out_at=out, expected_checkin=due))
    finally:
        store.close()
    overdue = gateway.post("service_desk", "{ checkouts(overdue: true) { asset_tag } }")
    assert overdue["data"]["checkouts"] == [{"asset_tag": "A-004"}]


def test_only_an_asset_in_stock_goes_out_and_never_to_someone_who_left(gateway: Gateway) -> None:
    ann, lee = gateway.person("ann@example.com"), gateway.person("lee@example.com")
    body = gateway.post("service_desk", CHECKOUT, ref={"asset_tag": "A-001"}, p=ann)  # in use
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "in_use" in error["message"]
    assert "in stock" in error["message"]
    body = gateway.post("service_desk", CHECKOUT, ref={"serial_number": "sn005"}, p=lee)  # terminated
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "lee@example.com" in error["message"]
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c5'") == 6
    assert gateway.post("service_desk", "{ checkouts { id } }")["data"]["checkouts"] == []


def test_check_in_brings_it_back_to_stock_and_only_a_loan_can_come_back(gateway: Gateway) -> None:
    ann = gateway.person("ann@example.com")
    london = gateway.asset("A-002")["location_id"]
    body = gateway.post("service_desk", CHECKIN, ref={"asset_tag": "A-005"}, l=london)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not checked out" in body["errors"][0]["message"]
    assert "errors" not in gateway.post("service_desk", CHECKOUT, ref={"asset_tag": "A-005"}, p=ann)
    body = gateway.post("service_desk", CHECKIN, ref={"scan": "A-005"}, l=london)
    assert "errors" not in body, body
    assert body["data"]["checkin_asset"]["condition"] == "good"
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c5'") == 6
    assert gateway.cell("SELECT assigned_to FROM ci_computer WHERE sys_id = 'c5'") is None
    assert gateway.cell("SELECT location FROM ci_computer WHERE sys_id = 'c5'") == "London Office"


def test_a_bulk_check_out_answers_per_scan(gateway: Gateway) -> None:
    ann = gateway.person("ann@example.com")
    scans = ["A-004", "https://assets.example.com/hardware/SN005", "A-001", "NO-SUCH-TAG"]
    body = gateway.post("service_desk", BULK, scans=scans, p=ann)
    assert "errors" not in body, body
    results = body["data"]["checkout_assets"]
    assert [r["ok"] for r in results] == [True, True, False, False]
    assert "in stock" in results[2]["reason"]
    assert results[3]["code"] == "BAD_USER_INPUT"
    assert "NO-SUCH-TAG" in results[3]["reason"]
    statuses = gateway.post("admin", '{ assets(where: {asset_tag: {_in: ["A-004", "A-005"]}}) { status } }')[
        "data"
    ]["assets"]
    assert [s["status"] for s in statuses] == ["in_use", "in_use"]


def test_a_role_without_the_action_cannot_check_out(gateway: Gateway) -> None:
    ann = gateway.person("ann@example.com")
    body = gateway.post("network_team", CHECKOUT, ref={"asset_tag": "A-002"}, p=ann)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert "checkout" in body["errors"][0]["message"]
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c2'") == 6


MAINTAIN = """
mutation($ref: AssetRef!) {
  log_maintenance(asset: $ref, kind: "repair", notes: "screen cracked", cost: 120.5, ticket: "INC0012") {
    id status previous_status kind cost ticket
  }
}
"""


def test_an_open_repair_puts_the_asset_in_repair_at_its_source_and_closing_gives_it_back(
    gateway: Gateway,
) -> None:
    body = gateway.post("service_desk", MAINTAIN, ref={"asset_tag": "A-001"})
    assert "errors" not in body, body
    record = body["data"]["log_maintenance"]
    assert (record["status"], record["previous_status"], record["cost"]) == ("open", "in_use", 120.5)
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 3  # in maintenance
    again = gateway.post("service_desk", MAINTAIN, ref={"asset_tag": "A-001"})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT", again
    shown = gateway.post(
        "service_desk",
        '{ assets(where: {asset_tag: {_eq: "A-001"}}) { status maintenance { kind status ticket } } }',
    )["data"]["assets"][0]
    assert shown == {
        "status": "in_repair",
        "maintenance": [{"kind": "repair", "status": "open", "ticket": "INC0012"}],
    }
    closed = gateway.post(
        "service_desk",
        'mutation($id: uuid!) { close_maintenance(id: $id, notes: "screen replaced") { status } }',
        id=record["id"],
    )
    assert closed == {"data": {"close_maintenance": {"status": "closed"}}}, closed
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 1  # in use again
    assert gateway.asset("A-001")["status"] == "in_use"


def test_maintenance_needs_the_maintain_action(gateway: Gateway) -> None:
    body = gateway.post("network_team", MAINTAIN, ref={"asset_tag": "A-002"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c2'") == 6


def test_the_desk_may_not_move_an_asset_out_of_its_own_filter(gateway: Gateway) -> None:
    """`stock_desk` sees the stock only: a check-out would make the asset `in_use`, out of its
    sight; refused (FORBIDDEN), as `update` refuses it, and nothing written nor lent."""
    berlin = gateway.asset("A-004")["location_id"]
    body = gateway.post("stock_desk", CHECKOUT, ref={"asset_tag": "A-004"}, l=berlin)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN", error
    assert "out of the assets role `stock_desk` may see" in error["message"]
    bulk = gateway.post(
        "stock_desk",
        "mutation($s: [String!]!, $l: uuid) { checkout_assets(scans: $s, to_location: $l) { ok code } }",
        s=["A-005"],
        l=berlin,
    )
    assert bulk["data"]["checkout_assets"] == [{"ok": False, "code": "FORBIDDEN"}], bulk
    for record in ("c4", "c5"):
        assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = ?", record) == 6
    ids = [gateway.asset(tag)["id"] for tag in ("A-004", "A-005")]
    store = open_workflow_store(gateway.config)
    try:
        assert store.open_checkouts(ids) == {}
        refused = [c for c in store.history("assets", ids[0]) if c.role == "stock_desk"]
    finally:
        store.close()
    assert {(c.field, c.outcome) for c in refused} == {("status", "refused"), ("location_id", "refused")}
    assert all("FORBIDDEN" in (c.reason or "") for c in refused)
