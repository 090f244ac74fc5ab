"""kind: glpi_inventory on inventories written here from the format's JSON schema, and on
the 20 examples of glpi-project/inventory_format when ../shared/peers is present."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from contract import ConnectorContract, read_all
from json_fixtures import LAPTOP, PRINTER, SWITCH, VM, WHITEBOX, computer, partial, peer, stamp, write

from connectors.base import SourceError
from connectors.glpi_inventory import GlpiInventoryConfig, GlpiInventoryConnector
from transforms.context import TransformContext
from transforms.mapping import map_stream

IDS = {d["deviceid"] for d in (LAPTOP, VM, WHITEBOX, SWITCH, PRINTER)}


def software_ids(*documents: dict[str, Any]) -> set[tuple[str, ...]]:
    """Record ids of the computers' software: [deviceid, name, version, arch]."""
    return {
        (d["deviceid"], s["name"], s.get("version") or "unversioned", s.get("arch") or "noarch")
        for d in documents
        for s in d["content"].get("softwares", [])
    }


def make(base: Path, path: str = "inventories", **overrides: Any) -> GlpiInventoryConnector:
    config = GlpiInventoryConfig.model_validate(
        {"name": "glpi", "kind": "glpi_inventory", "path": path, **overrides}
    )
    return GlpiInventoryConnector(config, base_dir=base)


def mapped(connector: GlpiInventoryConnector, cursor: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assets as the sync maps them: (rows by record id, quarantine)."""
    stream = connector.config.entities["assets"]
    frame = pd.concat([b.frame for b in read_all(connector, "assets", cursor)], ignore_index=True)
    result = map_stream(frame, "assets", stream, TransformContext(), source="glpi")
    return result.rows.set_index("record_id"), result.quarantine


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inventories = tmp_path / "inventories"
    for minutes, (name, document) in enumerate(
        [("LT-001.json", LAPTOP), ("srv-app.json", VM), ("DESK-17.json", WHITEBOX),
         ("sw-core-1.json", SWITCH), ("PRN-3.json", PRINTER)]
    ):  # fmt: skip
        write(inventories / name, document, minutes)
    # a later partial inventory: the operating system changed, nothing else was sent
    os = {"full_name": "Microsoft Windows 11 Pro", "name": "Windows", "fqdn": "LT-001"}
    write(inventories / "LT-001-partial.json", partial(LAPTOP, operatingsystem=os), 5)
    return tmp_path


@pytest.fixture
def connector(folder: Path) -> GlpiInventoryConnector:
    return make(folder)


class TestGlpiInventoryContract(ConnectorContract):
    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {"assets": IDS, "software_installations": software_ids(LAPTOP, VM, WHITEBOX)}

    @pytest.fixture
    def change_records(self, folder: Path) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            new = computer(
                "LT-002-2025-03-01-08-00-00", name="LT-002", ssn="5CG1234XYZ", macs=["3c:52:82:aa:bb:cc"]
            )
            write(folder / "inventories" / "LT-002.json", new, 20)
            moved = [{"description": "eth0", "mac": "0:1b:21:3a:4f:9", "ipaddress": "10.1.21.7"}]
            write(folder / "inventories" / "DESK-17-partial.json", partial(WHITEBOX, networks=moved), 21)
            return {
                "assets": {new["deviceid"], WHITEBOX["deviceid"]},
                "software_installations": software_ids(new),
            }

        return change

    @pytest.fixture
    def broken_connector(self, tmp_path: Path) -> GlpiInventoryConnector:
        return make(tmp_path, "no-such-folder")

    @pytest.fixture
    def broken_problem(self, tmp_path: Path) -> str:
        return f"file or folder not found: {tmp_path / 'no-such-folder'}"


def test_a_preset_source_needs_only_kind_and_path(connector: GlpiInventoryConnector) -> None:
    rows, quarantine = mapped(connector)
    assert quarantine.empty, quarantine.to_dict("records")
    laptop = rows.loc[LAPTOP["deviceid"]]
    assert (laptop["serial_number"], laptop["hostname"], laptop["manufacturer"]) == (
        "7XK2QY3",
        "lt-001",
        "Dell",
    )
    assert laptop["category"] == "laptop"
    # the physical interface only: loopback and the docker bridge are virtual
    assert laptop["mac_addresses"] == ["a4:bb:6d:11:22:33"]
    assert laptop["ip_addresses"] == ["10.1.20.31"]
    # the partial inventory changed the OS and kept everything it did not carry
    assert laptop["os"] == "Microsoft Windows 11 Pro"
    assert laptop["last_seen"] == pd.Timestamp(stamp(5))
    vm = rows.loc[VM["deviceid"]]
    assert (vm["category"], vm["manufacturer"], vm["hostname"]) == ("virtual_machine", "VMware", "srv-app")
    desk = rows.loc[WHITEBOX["deviceid"]]
    assert (desk["serial_number"], desk["asset_tag"], desk["manufacturer"]) == (None, None, None)
    assert (desk["category"], desk["mac_addresses"]) == ("desktop", ["00:1b:21:3a:4f:09"])
    switch = rows.loc[SWITCH["deviceid"]]
    assert (switch["serial_number"], switch["category"], switch["hostname"]) == (
        "FOC2231X0AB",
        "network",
        "sw-core-1",
    )
    assert (switch["mac_addresses"], switch["ip_addresses"]) == (["70:1f:53:a0:b1:c2"], ["10.0.0.2"])
    assert switch["location_key"] == "HQ rack 2"
    assert rows.loc[PRINTER["deviceid"], "category"] == "peripheral"


@pytest.mark.parametrize(
    ("ssn", "assettag"),
    [
        pytest.param("To be filled by O.E.M.", "To Be Filled By O.E.M.", id="oem"),
        pytest.param("0", "0000000000", id="zeros"),
        pytest.param("Default string", "Default string", id="default-string"),
        pytest.param("System Serial Number", "No Asset Tag", id="system-serial-number"),
        pytest.param("Not Specified", "Not Specified", id="not-specified"),
        pytest.param("   ", "release-keys", id="blank-and-android-build-tags"),
    ],
)
def test_placeholder_serials_and_asset_tags_are_no_serial(tmp_path: Path, ssn: str, assettag: str) -> None:
    doc = computer("pc-1", name="PC-1", ssn=ssn, assettag=assettag, macs=["00:1b:21:3a:4f:90"])
    write(tmp_path / "inventories" / "pc-1.json", doc)
    rows, quarantine = mapped(make(tmp_path))
    assert quarantine.empty
    assert rows.loc["pc-1", "serial_number"] is None
    if assettag != "No Asset Tag":
        assert rows.loc["pc-1", "asset_tag"] is None


@pytest.mark.parametrize(
    "mac",
    [
        pytest.param("A4-BB-6D-11-22-33", id="windows"),
        pytest.param("a4bb.6d11.2233", id="cisco"),
        pytest.param("A4:BB:6D:11:22:33", id="upper"),
        pytest.param("a4bb6d112233", id="bare"),
    ],
)
def test_mac_addresses_in_any_form_become_one(tmp_path: Path, mac: str) -> None:
    write(tmp_path / "inventories" / "pc.json", computer("pc", name="pc", ssn="ABC123", macs=[mac]))
    rows, _ = mapped(make(tmp_path))
    assert rows.loc["pc", "mac_addresses"] == ["a4:bb:6d:11:22:33"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param([LAPTOP], "found a list", id="a-list"),
        pytest.param(
            {"deviceid": "x", "action": "inventory"}, "found an object without `content`", id="no-content"
        ),
        pytest.param(
            b"<?xml version='1.0'?><REQUEST/>", "not valid JSON at line 1, column 1", id="xml-in-.json"
        ),
    ],
)
def test_a_file_that_is_not_an_inventory_is_named(folder: Path, content: Any, problem: str) -> None:
    write(folder / "inventories" / "stray.json", content, 9)
    with pytest.raises(SourceError) as info:
        read_all(make(folder), "assets")
    message = str(info.value)
    assert "inventories/stray.json: " in message
    assert problem in message, message


def test_a_document_without_deviceid_is_quarantined_with_its_file(folder: Path) -> None:
    doc = computer("x", name="NOID", ssn="NOID1", macs=[])
    del doc["deviceid"]
    write(folder / "inventories" / "noid.json", doc, 9)
    rows, quarantine = mapped(make(folder))
    assert set(rows.index) == IDS
    assert quarantine["reason"].tolist() == ["no id: column deviceid is empty"]
    assert '"_file": "inventories/noid.json"' in quarantine.loc[0, "raw"]


def test_the_defaults_can_be_overridden_or_dropped(folder: Path) -> None:
    connector = make(
        folder,
        entities={"assets": {"fields": {"serial_number": "content.bios.msn", "location": None}}},
    )
    stream = connector.config.entities["assets"]
    assert stream.fields["serial_number"].column == "content.bios.msn"
    assert "location" not in stream.fields
    assert stream.id == "deviceid"
    assert stream.fields["hostname"].columns == [
        "content.operatingsystem.fqdn",
        "content.network_device.name",
    ]
    rows, _ = mapped(connector)
    assert rows.loc[LAPTOP["deviceid"], "serial_number"] == "/7XK2QY3/CNWSC0021800JZ/"  # the board's


# ------------------------------------------------------------------ the format's own examples
def test_all_twenty_examples_of_the_format_read_and_map_as_they_are(tmp_path: Path) -> None:
    examples = peer("inventory_format/examples")
    assert len(list(examples.glob("*.json"))) == 20
    connector = make(tmp_path, str(examples))
    connector.check()
    rows, quarantine = mapped(connector)
    assert quarantine.empty, quarantine.to_dict("records")
    # 20 files, 11 devices: partial inventories and re-inventories merge by deviceid
    assert len(rows) == 11
    assert rows["category"].value_counts().to_dict() == {
        "network": 5,
        "laptop": 3,
        "peripheral": 2,
        "phone": 1,
    }
    xps = rows.loc["glpixps-2018-07-09-09-07-13"]
    assert (xps["serial_number"], xps["manufacturer"], xps["model"]) == ("640HP72", "Dell", "XPS 13 9350")
    assert xps["mac_addresses"] == ["00:e0:4c:68:01:db", "44:85:00:2b:90:bc"]
    assert xps["os"] == "Fedora 31 (Workstation Edition)"  # kept whatever partial came last
    toshiba = rows.loc["LF014-2017-02-20-12-19-56"]
    assert (toshiba["serial_number"], toshiba["asset_tag"], toshiba["hostname"]) == (
        "8C554721F",
        None,
        "lf014",
    )
    phone = rows.loc["Mi9TPro-TéléphoneM-2019-12-18-14-30-16"]
    assert (phone["name"], phone["asset_tag"], phone["hostname"]) == ("Mi9TPro-TéléphoneM", None, None)
    assert phone["mac_addresses"] == ["e0:dc:ff:ed:09:59"]
    switch = rows.loc["3k-1-pa3.glpi-project.infra-2020-12-31-11-28-51"]
    assert (switch["serial_number"], switch["hostname"]) == ("FOC1243W0ED", "3k-1-pa3")
    assert "127.0.0.1" not in switch["ip_addresses"]
    assert len(switch["ip_addresses"]) == 29
    assert rows.loc["CanonMX5970-2020-12-31-11-28-51", "serial_number"] == "SDFSDF9874"
