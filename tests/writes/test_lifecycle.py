"""`insert_T_one` / `insert_T` create the record in the entity's home source and serve the new
entity at once; `delete_T_by_pk` / `delete_T` remove it from every source that holds it, and
refuse up front when a read-only source holds it too."""

from __future__ import annotations

import sqlite3

import pytest
from write_gateway import Gateway

from federation.pipeline.store import StoreReader
from federation.workflow import Change, open_workflow_store
from federation.writes import Caller, WriteError, Writer
from federation.writes.lifecycle import insert

CALLER = Caller("test-admin", "admin")

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


def _history(gateway: Gateway, entity_id: str) -> list[Change]:
    store = open_workflow_store(gateway.config)
    try:
        return store.history("assets", entity_id)
    finally:
        store.close()


def test_a_delete_refused_part_way_publishes_and_records_what_it_removed(gateway: Gateway) -> None:
    """Two laptops, the source refuses the second: the first is gone at the source, so it is
    gone from the graph too and its removal is in the history; the second is refused."""
    first, second = sorted((gateway.asset(t)["id"], t) for t in ("A-004", "A-005"))
    kept = {"A-004": "c4", "A-005": "c5"}[second[1]]
    with sqlite3.connect(gateway.db) as con:
        con.execute(
            f"CREATE TRIGGER keep BEFORE DELETE ON ci_computer WHEN old.sys_id = '{kept}' "
            "BEGIN SELECT RAISE(ABORT, 'this record is protected'); END"
        )
    body = gateway.post(
        "admin",
        'mutation { delete_assets(where: {asset_tag: {_in: ["A-004", "A-005"]}}) { affected_rows } }',
    )
    (error,) = body["errors"]
    assert first[0] in error["message"], error  # says what was removed before the refusal
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE asset_tag = ?", first[1]) == 0
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE asset_tag = ?", second[1]) == 1
    served = gateway.post("admin", '{ assets(where: {asset_tag: {_in: ["A-004", "A-005"]}}) { asset_tag } }')
    assert served["data"]["assets"] == [{"asset_tag": second[1]}]
    assert [(c.field, c.outcome, c.record_id) for c in _history(gateway, first[0])] == [
        ("id", "accepted", {"A-004": "c4", "A-005": "c5"}[first[1]])
    ]
    assert [(c.field, c.outcome) for c in _history(gateway, second[0])] == [("id", "refused")]


def test_a_delete_is_conditional_on_what_the_caller_saw(gateway: Gateway) -> None:
    laptop = gateway.asset("A-004")
    assert laptop["status"] == "in_stock"
    with sqlite3.connect(gateway.db) as con:  # someone hands it out at the source meanwhile
        con.execute("UPDATE ci_computer SET install_status = 1 WHERE sys_id = 'c4'")
    body = gateway.post(
        "admin", "mutation($id: uuid!) { delete_assets_by_pk(id: $id) { id } }", id=laptop["id"]
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert (error["extensions"]["field"], error["extensions"]["seen"], error["extensions"]["current"]) == (
        "status",
        "in_stock",
        "in_use",
    )
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE sys_id = 'c4'") == 1
    assert [(c.field, c.outcome) for c in _history(gateway, laptop["id"])] == [("id", "conflict")]


INSERT_MANY = "mutation($o: [assets_insert_input!]!) { insert_assets(objects: $o) { affected_rows } }"


def test_an_insert_with_one_serial_twice_is_refused(gateway: Gateway) -> None:
    rows = [
        {"asset_tag": "A-200", "serial_number": "SN200"},
        {"asset_tag": "A-201", "serial_number": "sn200"},
    ]
    body = gateway.post("admin", INSERT_MANY, o=rows)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "objects[1]" in error["message"]
    assert "objects[0]" in error["message"]
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE asset_tag IN ('A-200', 'A-201')") == 0


def test_an_insert_that_exists_already_names_no_id(gateway: Gateway) -> None:
    existing = gateway.asset("A-001")["id"]
    body = gateway.post("admin", INSERT, o={"asset_tag": "A-101", "serial_number": "sn001"})
    (error,) = body["errors"]
    assert "exists already" in error["message"]
    assert existing not in error["message"]
    assert existing not in str(error["extensions"])


def test_an_insert_checks_identity_against_the_newest_snapshot(gateway: Gateway) -> None:
    """Two inserts of one serial, the second read its snapshot before the first was
    published: the identity check, under the writer's lock, sees the first's entity."""
    stale = StoreReader(gateway.config.resolve(gateway.config.settings.store.path)).current()
    assert stale is not None
    first = gateway.post("admin", INSERT, o={"asset_tag": "A-300", "serial_number": "SN300"})
    assert "errors" not in first, first
    writer = Writer(gateway.config)
    try:
        with pytest.raises(WriteError, match="exists already"):
            insert(writer, stale, "assets", [{"asset_tag": "A-301", "serial_number": "SN300"}], CALLER)
    finally:
        writer.close()
    assert gateway.cell("SELECT count(*) FROM ci_computer WHERE serial_number = 'SN300'") == 1
