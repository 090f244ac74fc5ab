"""`update_T_by_pk` / `update_T` over HTTP: the write goes to the SQL source that owns the
field, in that source's vocabulary; the next query sees it without a sync; a change at the
source since the caller's snapshot is refused with CONFLICT and nothing is written; fields
and rows outside the role's grants are refused; every field lands in the change history."""

from __future__ import annotations

import sqlite3

from write_gateway import Gateway

from federation.pipeline.sync import Syncer
from federation.workflow import Change, open_workflow_store
from federation.writes.history import NO_ENTITY

UPDATE = (
    "mutation($id: uuid!, $set: assets_set_input) { update_assets_by_pk(pk_columns: {id: $id}, _set: $set) "
    "{ id status location { name } } }"
)


def test_an_update_reaches_the_owning_source_in_its_vocabulary_and_shows_at_once(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    assert asset["status"] == "in_use"
    body = gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_repair"})
    assert "errors" not in body, body
    assert body["data"]["update_assets_by_pk"]["status"] == "in_repair"
    # written as ServiceNow's code for "in maintenance", in the row the asset came from
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 3
    # the next query sees it, without a sync
    assert gateway.asset("A-001")["status"] == "in_repair"


def test_a_reference_is_written_as_the_source_names_it(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    london = gateway.asset("A-002")["location_id"]
    body = gateway.post("admin", UPDATE, id=asset["id"], set={"location_id": london})
    assert "errors" not in body, body
    assert body["data"]["update_assets_by_pk"]["location"] == {"name": "London Office"}
    assert gateway.cell("SELECT location FROM ci_computer WHERE sys_id = 'c1'") == "London Office"


def test_a_change_at_the_source_since_the_snapshot_is_a_conflict(
    gateway: Gateway,
) -> None:
    asset = gateway.asset("A-001")
    with sqlite3.connect(gateway.db) as con:  # someone else retires it at the source meanwhile
        con.execute("UPDATE ci_computer SET install_status = 7 WHERE sys_id = 'c1'")
    body = gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_repair"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert error["extensions"]["field"] == "status"
    assert error["extensions"]["source"] == "cmdb"
    assert error["extensions"]["seen"] == "in_use"
    assert error["extensions"]["current"] == "retired"
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 7


def test_a_field_owned_by_a_read_only_source_is_refused_naming_it(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    assert float(asset["cost"]) == 1234.5  # the books win for money
    body = gateway.post("admin", UPDATE, id=asset["id"], set={"cost": 99})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "finance" in error["message"]
    assert "read-only" in error["message"]
    assert gateway.cell("SELECT cost FROM ci_computer WHERE sys_id = 'c1'") == 1000


def test_a_role_sets_only_the_fields_its_actions_cover(gateway: Gateway) -> None:
    switch = gateway.asset("A-002")
    # network_team: `{update: [status, location, os]}` — reads the host name, may not set it
    body = gateway.post("network_team", UPDATE, id=switch["id"], set={"hostname": "core-1"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN", error
    assert "hostname" in error["message"]
    introspect = gateway.post("network_team", '{ __type(name: "assets_set_input") { inputFields { name } } }')
    names = {f["name"] for f in introspect["data"]["__type"]["inputFields"]}
    assert names == {"status", "location_id"}  # `os` is mapped by no source of this estate
    # the service desk checks assets out and in, and edits nothing
    refused = gateway.post("service_desk", UPDATE, id=switch["id"], set={"status": "lost"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    refused = gateway.post("employee", UPDATE, id=switch["id"], set={"status": "lost"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c2'") == 6
    assert gateway.cell("SELECT name FROM ci_computer WHERE sys_id = 'c2'") == "sw-002"


def test_rows_outside_the_role_filter_are_not_written_nor_moved_out(gateway: Gateway) -> None:
    laptop, switch = gateway.asset("A-001"), gateway.asset("A-002")
    # network_team sees only network assets: the laptop does not exist for it
    body = gateway.post("network_team", UPDATE, id=laptop["id"], set={"status": "lost"})
    assert body.get("errors") is None, body
    assert body["data"]["update_assets_by_pk"] is None
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 1
    many = gateway.post(
        "network_team",
        'mutation { update_assets(where: {status: {_eq: "in_use"}}, _set: {status: "in_repair"}) '
        "{ affected_rows returning { asset_tag status } } }",
    )
    assert "errors" not in many, many
    assert many["data"]["update_assets"]["affected_rows"] == 1
    assert many["data"]["update_assets"]["returning"] == [{"asset_tag": "A-003", "status": "in_repair"}]
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 1
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c3'") == 3
    # nor may a role move a row out of its own filter
    moved = UPDATE.replace("location { name }", "")
    body = gateway.post("stock_keeper", moved, id=switch["id"], set={"status": "in_use"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert "out of the assets role `stock_keeper` may see" in body["errors"][0]["message"]
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c2'") == 6


def test_every_field_accepted_or_refused_is_in_the_change_history(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_repair"})
    gateway.post("admin", UPDATE, id=asset["id"], set={"cost": 1})
    store = open_workflow_store(gateway.config)
    try:
        changes = store.history("assets", asset["id"])
    finally:
        store.close()
    outcomes = {(c.field, c.outcome) for c in changes}
    assert ("status", "accepted") in outcomes
    assert ("cost", "refused") in outcomes
    accepted = next(c for c in changes if c.outcome == "accepted")
    assert (accepted.before, accepted.after, accepted.source, accepted.record_id) == (
        "in_use",
        "in_repair",
        "cmdb",
        "c1",
    )
    assert accepted.role == "admin"


def test_a_later_sync_keeps_the_written_value(gateway: Gateway) -> None:
    asset = gateway.asset("A-002")
    gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_use"})
    syncer = Syncer(gateway.config)
    try:
        syncer.run(None)
    finally:
        syncer.close()
    assert gateway.asset("A-002")["status"] == "in_use"
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c2'") == 1


HISTORY = """
query($id: uuid!) {
  assets_by_pk(id: $id) { asset_tag history { field before after outcome source role reason } }
  changes(where: {entity_id: {_eq: $id}}, order_by: [{id: asc}]) { field outcome actor }
}
"""


def test_changes_and_history_show_what_the_role_may_read(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_repair"})
    gateway.post("admin", UPDATE, id=asset["id"], set={"cost": 1})
    body = gateway.post("auditor", HISTORY, id=asset["id"])
    assert "errors" not in body, body
    history = body["data"]["assets_by_pk"]["history"]
    # newest first: the refused cost change, then the accepted status change
    assert [(h["field"], h["outcome"]) for h in history] == [("cost", "refused"), ("status", "accepted")]
    assert history[1]["before"] == "in_use"
    assert history[1]["after"] == "in_repair"
    assert history[1]["source"] == "cmdb"
    assert "read-only" in history[0]["reason"]
    assert [c["field"] for c in body["data"]["changes"]] == ["status", "cost"]
    assert body["data"]["changes"][0]["actor"] == "test-admin"


def test_a_role_without_the_history_capability_has_neither_field(gateway: Gateway) -> None:
    body = gateway.post("service_desk", "{ changes { field } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    asset = gateway.asset("A-001")
    body = gateway.post(
        "service_desk", "query($id: uuid!) { assets_by_pk(id: $id) { history { field } } }", id=asset["id"]
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


def test_a_role_that_cannot_read_a_field_sees_none_of_its_changes(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_repair"})
    gateway.post("admin", UPDATE, id=asset["id"], set={"cost": 1})
    body = gateway.post(
        "cost_blind_auditor",
        "query($id: uuid!) { assets_by_pk(id: $id) { history { field } } changes { field } }",
        id=asset["id"],
    )
    assert "errors" not in body, body
    assert [h["field"] for h in body["data"]["assets_by_pk"]["history"]] == ["status"]
    assert [c["field"] for c in body["data"]["changes"]] == ["status"]


def _history(gateway: Gateway, entity_id: str) -> list[Change]:
    store = open_workflow_store(gateway.config)
    try:
        return store.history("assets", entity_id)
    finally:
        store.close()


def test_a_value_the_stale_snapshot_holds_is_still_checked_at_the_source(gateway: Gateway) -> None:
    """The caller sends the value its snapshot shows (a whole record), but the source changed
    since: not skipped as unchanged; the source is asked, and it is a CONFLICT."""
    asset = gateway.asset("A-001")
    with sqlite3.connect(gateway.db) as con:
        con.execute("UPDATE ci_computer SET install_status = 7 WHERE sys_id = 'c1'")
    body = gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_use"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert (error["extensions"]["seen"], error["extensions"]["current"]) == ("in_use", "retired")
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c1'") == 7
    # a whole record with a field a read-only source owns, unchanged: still accepted
    body = gateway.post(
        "admin", UPDATE, id=gateway.asset("A-002")["id"], set={"status": "lost", "cost": 5000}
    )
    assert "errors" not in body, body
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c2'") == 8


def test_a_refusal_is_recorded_on_the_field_it_concerns(gateway: Gateway) -> None:
    asset = gateway.asset("A-001")
    body = gateway.post("admin", UPDATE, id=asset["id"], set={"status": "in_repair", "cost": 1})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    reasons = {c.field: (c.outcome, c.reason or "") for c in _history(gateway, asset["id"])}
    assert reasons["cost"][0] == "refused"
    assert "read-only" in reasons["cost"][1]
    assert reasons["status"][0] == "refused"
    assert "read-only" not in reasons["status"][1]
    assert "`cost` was refused" in reasons["status"][1]


def test_a_refusal_at_the_door_is_in_the_history_without_what_the_role_cannot_see(gateway: Gateway) -> None:
    switch, laptop = gateway.asset("A-002"), gateway.asset("A-001")
    body = gateway.post("network_team", UPDATE, id=switch["id"], set={"hostname": "core-1"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    (change,) = _history(gateway, switch["id"])
    # the fields asked, and nothing read from the graph or the source
    assert (change.field, change.outcome, change.role, change.before) == (
        "hostname",
        "refused",
        "network_team",
        None,
    )
    assert "not writable by role `network_team`" in (change.reason or "")
    # the laptop is not a row network_team sees: its refusal does not name it
    body = gateway.post("network_team", UPDATE, id=laptop["id"], set={"hostname": "x"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert _history(gateway, laptop["id"]) == []
    store = open_workflow_store(gateway.config)
    try:
        door = store.history("assets", NO_ENTITY)
    finally:
        store.close()
    assert [(c.field, c.role) for c in door] == [("hostname", "network_team")]


def test_an_entity_whose_id_is_provisional_is_not_written_until_the_round_publishes(
    gateway: Gateway,
) -> None:
    """A publish made while a round still reads gives new entities provisional ids (the
    round's last publish may derive them otherwise): a write by such an id is refused with
    CONFLICT, and goes through by the id the round then publishes."""
    with sqlite3.connect(gateway.db) as con:
        con.execute(
            "INSERT INTO ci_computer VALUES ('c9', 'A-009', 'SN009', 'lt-009', 'Laptop', 6, "
            "'Berlin HQ', 800, NULL)"
        )
    syncer = Syncer(gateway.config)
    try:
        syncer.sync_sources([s for s in gateway.config.sources if s.name == "cmdb"])
        syncer.publish(remember=False)  # as the round does while slower reads go on
        provisional = gateway.asset("A-009")["id"]
        refused = gateway.post("admin", UPDATE, id=provisional, set={"status": "in_repair"})
        assert refused["errors"][0]["extensions"]["code"] == "CONFLICT", refused
        assert "its id may change when the round ends" in refused["errors"][0]["message"]
        assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c9'") == 6
        syncer.publish()  # the round's last publish
    finally:
        syncer.close()
    final = gateway.asset("A-009")["id"]
    written = gateway.post("admin", UPDATE, id=final, set={"status": "in_repair"})
    assert "errors" not in written, written
    assert gateway.cell("SELECT install_status FROM ci_computer WHERE sys_id = 'c9'") == 3
