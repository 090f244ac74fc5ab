"""kind: netbox_export on `manage.py dumpdata` lists written here (NetBox 3.x and 4.2 shapes)
and on the NetBox demo data's JSON dump when ../shared/peers is present."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from contract import ConnectorContract, read_all
from json_fixtures import peer, write

from connectors.base import SourceError
from connectors.netbox_export import NetBoxExportConfig, NetBoxExportConnector, resolve
from transforms.context import TransformContext
from transforms.mapping import map_stream

HASH = "pbkdf2_sha256$320000$KyNg5z5jzFDJUGhtBQu8zC$OOs3eJU2VD8h"


def obj(model: str, pk: int | None, /, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "fields": fields}
    if pk is not None:
        out["pk"] = pk
    return out


def device(pk: int, name: str | None, serial: str = "", role: int = 1, site: int = 1, **extra: Any) -> dict:
    fields = {"name": name, "serial": serial, "asset_tag": None, "device_type": 1, "role": role, "site": site,
              "status": "active", "primary_ip4": None, "primary_ip6": None, "tenant": None,
              "platform": None, "location": None, "rack": None, "cluster": None}  # fmt: skip
    return obj("dcim.device", pk, **{**fields, **extra})


def dump(*devices: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        obj("contenttypes.contenttype", None, app_label="dcim", model="interface"),
        obj("auth.user", None, username="admin", password=HASH, email=""),
        obj("dcim.manufacturer", 3, name="Juniper", slug="juniper"),
        obj("dcim.devicetype", 1, manufacturer=3, model="EX4300-48T", slug="ex4300-48t"),
        obj("dcim.devicerole", 1, name="Access Switch", slug="access-switch"),
        obj("dcim.devicerole", 2, name="Patch Panel", slug="patch-panel"),
        obj("dcim.site", 1, name="DM-Akron", slug="dm-akron", physical_address="1 Main St, Akron, OH",
            region=None),
        obj("dcim.site", 2, name="DM-Camden", slug="dm-camden", physical_address="", region=None),
        *devices,
        obj("dcim.interface", 10, device=1, name="ge-0/0/0", mac_address="F4:CC:55:01:02:03"),
        obj("dcim.interface", 11, device=1, name="ge-0/0/1", mac_address=None),
        obj("dcim.interface", 12, device=2, name="ge-0/0/0", mac_address="f4cc.5501.0204"),
        obj("ipam.ipaddress", 7, address="10.0.1.1/24", assigned_object_type=["dcim", "interface"],
            assigned_object_id=10),
        obj("ipam.ipaddress", 8, address="10.0.2.1/24", assigned_object_type=["dcim", "interface"],
            assigned_object_id=12),
    ]  # fmt: skip


DEVICES = [
    device(1, "dmi01-akron-sw01", "JN11A2B3C4", primary_ip4=7),
    device(2, "dmi01-camden-sw01", "JN11A2B3C5", site=2),
    device(3, "PP:B128", role=2),
]


def make(base: Path, path: str = "netbox.json") -> NetBoxExportConnector:
    config = NetBoxExportConfig.model_validate({"name": "netbox_dump", "kind": "netbox_export", "path": path})
    return NetBoxExportConnector(config, base_dir=base)


def mapped(connector: NetBoxExportConnector, entity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.concat([b.frame for b in read_all(connector, entity)], ignore_index=True)
    stream = connector.config.entities[entity]
    result = map_stream(frame, entity, stream, TransformContext(), source="netbox_dump")
    return result.rows.set_index("record_id"), result.quarantine


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "netbox.json", dump(*DEVICES), 0)
    return tmp_path


@pytest.fixture
def connector(folder: Path) -> NetBoxExportConnector:
    return make(folder)


class TestNetBoxExportContract(ConnectorContract):
    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {"assets": {"1", "2", "3"}, "locations": {"1", "2"}}

    @pytest.fixture
    def change_records(self, folder: Path) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            devices = [DEVICES[0], device(2, "dmi01-camden-sw01", "JN11A2B3C9"), DEVICES[2], device(4, "new")]
            write(folder / "netbox.json", dump(*devices), 10)
            return {"assets": {"2", "4"}}

        return change

    @pytest.fixture
    def broken_connector(self, tmp_path: Path) -> NetBoxExportConnector:
        return make(tmp_path, "backups/netbox-missing.json")

    @pytest.fixture
    def broken_problem(self, tmp_path: Path) -> str:
        return "file or folder not found"


def test_references_are_resolved_for_the_mappings(connector: NetBoxExportConnector) -> None:
    rows, quarantine = mapped(connector, "assets")
    assert quarantine.empty, quarantine.to_dict("records")
    one = rows.loc["1"]
    assert (one["manufacturer"], one["model"], one["category"]) == ("Juniper", "EX4300-48T", "network")
    assert (one["serial_number"], one["hostname"], one["status"]) == (
        "JN11A2B3C4",
        "dmi01-akron-sw01",
        "in_use",
    )
    assert one["location_key"] == "DM-Akron"
    assert one["mac_addresses"] == ["f4:cc:55:01:02:03"]
    assert one["ip_addresses"] == ["10.0.1.1"]  # primary and assigned: the same address once
    two = rows.loc["2"]
    assert (two["mac_addresses"], two["ip_addresses"], two["location_key"]) == (
        ["f4:cc:55:01:02:04"], ["10.0.2.1"], "DM-Camden")  # fmt: skip
    panel = rows.loc["3"]
    assert (panel["name"], panel["hostname"], panel["category"]) == ("PP:B128", None, "other")
    sites, _ = mapped(connector, "locations")
    assert sites.loc["1"].to_dict() == {
        "name": "DM-Akron",
        "site": "dm-akron",
        "city": "1 Main St, Akron, OH",
    }


def test_nothing_but_devices_and_sites_is_read(connector: NetBoxExportConnector) -> None:
    for entity in ("assets", "locations"):
        frame = pd.concat([b.frame for b in read_all(connector, entity)])
        assert HASH not in frame.to_json(), entity


def test_netbox_42_mac_objects_and_numbered_content_types_resolve() -> None:
    objects = [
        obj("contenttypes.contenttype", 5, app_label="dcim", model="interface"),
        device(1, "sw1"),
        obj("dcim.interface", 10, device=1, name="eth0", mac_address=None),
        obj(
            "dcim.macaddress",
            1,
            mac_address="00:1B:63:84:45:E6",
            assigned_object_type=5,
            assigned_object_id=10,
        ),
        obj("ipam.ipaddress", 2, address="192.0.2.4/24", assigned_object_type=5, assigned_object_id=10),
        obj("ipam.ipaddress", 3, address="192.0.2.9/24", assigned_object_type=None, assigned_object_id=None),
    ]
    (dev,) = [o for o in resolve(objects) if o["model"] == "dcim.device"]
    (interface,) = dev["fields"]["interfaces"]
    assert [m["mac_address"] for m in interface["mac_addresses"]] == ["00:1B:63:84:45:E6"]
    assert [a["address"] for a in interface["ip_addresses"]] == ["192.0.2.4/24"]
    assert objects[1]["fields"]["site"] == 1  # the input is left as it was


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param({"results": []}, "not a NetBox export", id="api-answer"),
        pytest.param([{"id": 1, "name": "sw1"}], "not a NetBox export", id="list-of-other-objects"),
    ],
)
def test_a_file_that_is_not_a_dump_is_named(tmp_path: Path, content: Any, problem: str) -> None:
    write(tmp_path / "netbox.json", content)
    with pytest.raises(SourceError, match=f"netbox.json: {problem}"):
        read_all(make(tmp_path), "assets")


def test_the_netbox_demo_dump_reads_as_it_is(tmp_path: Path) -> None:
    path = peer("netbox-demo-data/json/netbox-demo-v3.6.json")
    connector = make(tmp_path, str(path))
    rows, quarantine = mapped(connector, "assets")
    assert quarantine.empty, quarantine.to_dict("records")
    assert len(rows) == 72
    assert rows["serial_number"].isna().all()  # the demo data has no serials
    rtr = rows.loc["1"]
    assert (rtr["name"], rtr["manufacturer"], rtr["model"]) == ("dmi01-akron-rtr01", "Cisco", "ISR 1111-8P")
    assert (rtr["category"], rtr["status"], rtr["location_key"]) == ("network", "in_use", "DM-Akron")
    panels = rows.loc[rows["name"].fillna("").str.startswith("PP:")]
    assert len(panels) == 6
    assert panels["hostname"].isna().all()
    assert rows["category"].value_counts().to_dict() == {"network": 39, "other": 32, "server": 1}
    sites, site_quarantine = mapped(connector, "locations")
    assert site_quarantine.empty
    assert len(sites) == 24
    assert sites.loc["24", "name"] == "Butler Communications"
