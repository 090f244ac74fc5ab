"""`insert_T_one` / `insert_T` create the record in the entity's home source and serve the new
entity at once; `delete_T_by_pk` / `delete_T` remove it from every source that holds it, and
refuse up front when a read-only source holds it too."""

from __future__ import annotations

from write_gateway import Gateway

INSERT = """
mutation($o: assets_insert_input!) { insert_assets_one(object: $o) { id asset_tag status category } }
"""


def test_an_insert_creates_the_record_in_the_home_source_and_serves_it(gateway: Gateway) -> None:
    new = {"asset_tag": "A-100", "serial_number": "SN100", "status": "in_stock", "category": "laptop"}
    body = gateway.post("admin", INSERT, o=new)
    assert "errors" not in body, body
    created = body["data"]["insert_assets_one"]
    assert (created["asset_tag"], created["status"], created["category"]) == ("A-100", "in_stock", "laptop")
    # in the CMDB, in its words: ServiceNow's 6 = in stock
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE asset_tag = 'A-100'") == 6
    assert gateway.cell("SELECT serial_number FROM ci_computer WHERE asset_tag = 'A-100'") == "SN100"
    assert gateway.asset("A-100")["id"] == created["id"]


def test_an_insert_of_something_the_graph_has_is_refused(gateway: Gateway) -> None:
    body = gateway.post("admin", INSERT, o={"asset_tag": "A-101", "serial_number": "sn001"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "exists already" in error["message"]
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE asset_tag = 'A-101'") == 0


def test_a_delete_removes_the_record_and_the_entity(gateway: Gateway) -> None:
    switch = gateway.asset("A-002")
    body = gateway.post(
        "admin", "mutation($id: uuid!) { delete_assets_by_pk(id: $id) { asset_tag } }", id=switch["id"]
    )
    assert "errors" not in body, body
    assert body["data"]["delete_assets_by_pk"] == {"asset_tag": "A-002"}
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE sys_id = 'c2'") == 0
    left = gateway.post("admin", '{ assets(where: {asset_tag: {_eq: "A-002"}}) { id } }')
    assert left["data"]["assets"] == []


def test_a_delete_of_an_entity_a_read_only_source_holds_is_refused(gateway: Gateway) -> None:
    laptop = gateway.asset("A-001")  # finance's sheet holds it too
    body = gateway.post(
        "admin", "mutation($id: uuid!) { delete_assets_by_pk(id: $id) { asset_tag } }", id=laptop["id"]
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "finance" in error["message"]
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE sys_id = 'c1'") == 1


def test_roles_without_insert_or_delete_have_neither(gateway: Gateway) -> None:
    body = gateway.post("network_team", INSERT, o={"asset_tag": "A-102"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    switch = gateway.asset("A-002")
    body = gateway.post(
        "network_team", "mutation($id: uuid!) { delete_assets_by_pk(id: $id) { id } }", id=switch["id"]
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE sys_id = 'c2'") == 1


def test_a_bulk_write_with_a_null_condition_is_refused_not_widened(gateway: Gateway) -> None:
    """An unset variable in a write's `where` is null: reads drop such a condition, a write
    would then touch every row the role sees. Refused, and nothing is written."""
    query = "mutation($tag: String) { delete_assets(where: {asset_tag: {_eq: $tag}}) { affected_rows } }"
    body = gateway.post("admin", query)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "null" in error["message"]
    body = gateway.post(
        "admin", 'mutation { update_assets(where: {}, _set: {status: "lost"}) { affected_rows } }'
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert gateway.cell("SELECT count(*) FROM ci_computer") == 5
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE install_status = 8") == 0
