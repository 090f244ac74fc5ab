"""Writes of kind: servicenow against the stateful loopback Table API, over real HTTP:
PATCH/POST/DELETE, references written by name, ServiceNow's refusals mapped to their kind,
and retries that never send a POST twice."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from contract import read_all as batches
from http_sync import FAST_RETRY, connector
from test_servicenow import PASSWORD, USER, computer, sys_id, user
from vendor_server import ServiceNow, VendorServer

from connectors.base import SourceError, WriteRefused
from connectors.servicenow import ServiceNowConnector
from transforms.context import TransformContext
from transforms.reverse import map_record, to_source

CTX = TransformContext()


def read_all(client: ServiceNowConnector, entity: str) -> pd.DataFrame:
    return pd.concat(b.frame for b in batches(client, entity))


@pytest.fixture
def snow() -> ServiceNow:
    locations = [
        {"sys_id": sys_id("loca", i), "sys_updated_on": "2024-01-01 00:00:00", "name": name, "city": "x",
         "country": "United Kingdom"}
        for i, name in ((1, "London Office"), (2, "Paris Office"))
    ]  # fmt: skip
    return ServiceNow(
        USER,
        PASSWORD,
        {"cmdb_ci_computer": [computer(i) for i in range(4)], "sys_user": [user(i) for i in range(4)],
         "cmn_location": locations},
        readers={"auditor": "audit-pass-1"},
        mandatory={"cmdb_ci_computer": ["serial_number"]},
    )  # fmt: skip


@pytest.fixture
def server(snow: ServiceNow) -> Iterator[VendorServer]:
    srv = VendorServer([snow]).start()
    yield srv
    srv.stop()


def snow_source(server: VendorServer, user_name: str = USER, password: str = PASSWORD) -> ServiceNowConnector:
    source = {"name": "snow", "kind": "servicenow", "base_url": server.base("servicenow"),
              "auth": {"username": user_name, "password": password}, "retry": FAST_RETRY,
              "timeout": "2s"}  # fmt: skip
    made = connector(source)
    assert isinstance(made, ServiceNowConnector)
    return made


CI = sys_id("cmdb", 1)


def test_update_through_the_reverse_mapping_reads_back_and_shows_in_the_next_read(
    server: VendorServer,
) -> None:
    snow = snow_source(server)
    stream = snow.config.entities["assets"]
    values = {"status": "in_stock", "location": "Paris Office", "assigned_to": "user2@example.com",
              "purchase_date": "2025-02-03", "os": "Ubuntu 24.04"}  # fmt: skip
    raw = to_source(stream, "assets", values, CTX)
    assert raw["install_status.value"] == "6"  # the preset's `values:` name the codes
    back = snow.update("assets", CI, raw)
    assert back["install_status.value"] == "6"
    assert back["location.display_value"] == "Paris Office"
    row = map_record(back, "assets", stream, CTX, source="snow").rows.iloc[0]
    assert row["status"] == "in_stock"
    assert row["location_key"] == "Paris Office"
    assert row["assigned_to_key"] == "user2@example.com"
    assert row["purchase_date"] == pd.Timestamp("2025-02-03")
    frame = read_all(snow, "assets")
    assert frame.set_index("sys_id.value").loc[CI, "install_status.value"] == "6"
    patch = [c for c in server.calls_to("servicenow") if c.method == "PATCH"]
    assert patch[0].json["location"] == sys_id("loca", 2)  # the name looked up for its sys_id
    assert patch[0].json["assigned_to"] == sys_id("user", 2)
    snow.close()


def test_a_change_since_the_caller_read_is_a_conflict(server: VendorServer, snow: ServiceNow) -> None:
    client = snow_source(server)
    seen = client.fetch("assets", CI)
    assert seen is not None
    snow.tables["cmdb_ci_computer"][1]["os"] = ("macOS 15", "macOS 15")  # someone else, meanwhile
    with pytest.raises(WriteRefused) as refused:
        client.update(
            "assets",
            CI,
            {"os.display_value": "Linux"},
            expected={"os.display_value": seen["os.display_value"]},
        )
    assert refused.value.kind == "conflict"
    assert refused.value.fields[0]["field"] == "os.display_value"
    assert "macOS 15" in refused.value.fields[0]["message"]
    assert not [c for c in server.calls_to("servicenow") if c.method == "PATCH"]
    client.close()


def test_refusals_map_to_kinds(server: VendorServer) -> None:
    client = snow_source(server)
    with pytest.raises(WriteRefused) as missing:
        client.update("assets", "nope", {"os.value": "x"})
    assert missing.value.kind == "not_found"
    with pytest.raises(WriteRefused) as policy:
        client.update("assets", CI, {"serial_number.value": None})
    assert policy.value.kind == "invalid"
    assert policy.value.fields == [{"field": "", "message": "serial_number is mandatory"}]
    with pytest.raises(WriteRefused) as unknown:
        client.update("assets", CI, {"location.display_value": "Mars Base"})
    assert unknown.value.kind == "invalid"
    assert unknown.value.fields[0]["field"] == "location.display_value"
    reader = snow_source(server, "auditor", "audit-pass-1")
    with pytest.raises(WriteRefused) as forbidden:
        reader.update("assets", CI, {"os.value": "x"})
    assert forbidden.value.kind == "forbidden"
    assert "ACL Exception" in str(forbidden.value)
    client.close()
    reader.close()


def test_insert_and_delete(server: VendorServer) -> None:
    client = snow_source(server)
    made = client.insert("assets", {"asset_tag.value": "P999", "serial_number.value": "SN-NEW"})
    new_id = made["sys_id.value"]
    assert made["asset_tag.value"] == "P999"
    assert new_id in set(read_all(client, "assets")["sys_id.value"])
    client.delete("assets", new_id, expected={"asset_tag.value": "P999"})
    assert client.fetch("assets", new_id) is None
    with pytest.raises(WriteRefused) as gone:
        client.delete("assets", new_id)
    assert gone.value.kind == "not_found"
    client.close()


def test_patch_is_retried_after_429_and_5xx(server: VendorServer) -> None:
    client = snow_source(server)
    server.fail("servicenow", 429, path=CI, times=1)
    server.fail("servicenow", 502, path=CI, times=1)
    assert client.update("assets", CI, {"os.value": "Fedora"})["os.display_value"] == "Fedora"
    assert client.client.retries == 2
    client.close()


def test_a_post_is_not_sent_again_after_a_5xx(server: VendorServer, snow: ServiceNow) -> None:
    client = snow_source(server)
    before = len(snow.tables["cmdb_ci_computer"])
    server.fail("servicenow", 500, path="/cmdb_ci_computer", times=1)
    with pytest.raises(SourceError) as failed:
        client.insert("assets", {"asset_tag.value": "P777", "serial_number.value": "S"})
    assert not isinstance(failed.value, WriteRefused)
    assert "may have been applied" in str(failed.value)
    posts = [c for c in server.calls_to("servicenow") if c.method == "POST"]
    assert len(posts) == 1
    assert len(snow.tables["cmdb_ci_computer"]) == before
    server.fail("servicenow", 429, path="/cmdb_ci_computer", times=1)  # 429: not processed, so sent again
    assert (
        client.insert("assets", {"asset_tag.value": "P778", "serial_number.value": "S"})["asset_tag.value"]
        == "P778"
    )
    client.close()


def test_people_write_back_active_as_true_or_false(server: VendorServer) -> None:
    client = snow_source(server)
    stream = client.config.entities["people"]
    raw = to_source(stream, "people", {"employment_status": "terminated"}, CTX)
    assert raw == {"active.value": "false"}
    back = client.update("people", sys_id("user", 1), raw)
    assert (
        map_record(back, "people", stream, CTX, source="snow").rows.iloc[0]["employment_status"]
        == "terminated"
    )
    client.close()
