"""Files for the JSON connectors' tests: writing documents with a chosen modification time,
GLPI agent inventories built from the format's JSON schema, and the peer files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

PEERS = Path(__file__).resolve().parents[3] / "shared" / "peers"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def peer(relative: str) -> Path:
    """A file or folder of ../shared/peers: skipped when absent, a failure under CI=true."""
    path = PEERS / relative
    if not path.exists():
        reason = f"peer files not present at {path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def write(path: Path, content: Any, minutes: float = 0, *, ndjson: bool = False) -> Path:
    """Write JSON (or one document a line) and set the modification time to T0 + minutes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif ndjson:
        path.write_text("".join(json.dumps(d) + "\n" for d in content), encoding="utf-8")
    else:
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")
    touch(path, minutes)
    return path


def touch(path: Path, minutes: float) -> None:
    stamp = (T0 + timedelta(minutes=minutes)).timestamp()
    os.utime(path, (stamp, stamp))


def stamp(minutes: float) -> str:
    """The `_modified` text of a file written by `write(..., minutes)`."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


# --------------------------------------------------------------------- GLPI agent documents
def computer(
    deviceid: str,
    *,
    name: str,
    ssn: str,
    macs: list[str],
    ips: list[str] = (),  # type: ignore[assignment]
    chassis: str | None = "Laptop",
    vmsystem: str = "Physical",
    assettag: str | None = None,
    manufacturer: str = "Dell Inc.",
    model: str = "Latitude 7420",
    os_name: str = "Microsoft Windows 11 Pro",
    fqdn: str | None = None,
    itemtype: str | None = "Computer",
) -> dict[str, Any]:
    """A computer inventory as the agent writes it (schema: inventory.schema.json)."""
    networks: list[dict[str, Any]] = [
        {"description": "lo", "ipaddress": "127.0.0.1", "mac": "00:00:00:00:00:00",
         "status": "up", "type": "loopback", "virtualdev": True},
        {"description": "docker0", "ipaddress": "172.17.0.1", "mac": "02:42:9f:3a:11:02",
         "status": "up", "type": "bridge", "virtualdev": True},
    ]  # fmt: skip
    for n, mac in enumerate(macs):
        network = {"description": f"eth{n}", "mac": mac, "status": "up", "type": "ethernet",
                   "virtualdev": False}  # fmt: skip
        if n < len(ips):
            network["ipaddress"] = ips[n]
        networks.append(network)
    bios = {"bdate": "2023-01-05", "bmanufacturer": manufacturer, "bversion": "1.12.0",
            "mmanufacturer": manufacturer, "mmodel": "0XCDYT", "msn": f"/{ssn}/CNWSC0021800JZ/",
            "smanufacturer": manufacturer, "smodel": model, "ssn": ssn}  # fmt: skip
    if assettag is not None:
        bios["assettag"] = assettag
    hardware = {"name": name, "uuid": "4c4c4544-0051-3310-8052-b4c04f4e4433", "memory": 16000}
    if chassis is not None:
        hardware["chassis_type"] = chassis
    hardware["vmsystem"] = vmsystem
    document: dict[str, Any] = {
        "deviceid": deviceid,
        "action": "inventory",
        "content": {
            "versionclient": "GLPI-Agent_v1.7.1",
            "bios": bios,
            "hardware": hardware,
            "operatingsystem": {"full_name": os_name, "name": "Windows", "fqdn": fqdn or name},
            "networks": networks,
            "softwares": [{"name": "7-Zip 23.01 (x64)", "publisher": "Igor Pavlov", "version": "23.01"}],
        },
    }
    if itemtype is not None:
        document["itemtype"] = itemtype
    return document


def partial(full: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """A partial inventory of the same device: bios and hardware, plus the given sections."""
    content = {k: full["content"][k] for k in ("versionclient", "bios", "hardware")}
    return {**{k: v for k, v in full.items() if k != "content"}, "partial": True,
            "content": {**content, **sections}}  # fmt: skip


def network_device(
    deviceid: str, *, name: str, serial: str, mac: str, ips: list[str], kind: str = "Networking"
) -> dict[str, Any]:
    """An SNMP `netinventory` of a switch or printer."""
    itemtype = {"Networking": "NetworkEquipment", "Printer": "Printer"}.get(kind, "NetworkEquipment")
    return {
        "deviceid": deviceid,
        "action": "netinventory",
        "itemtype": itemtype,
        "content": {
            "versionclient": "GLPI-Agent_v1.7.1",
            "network_device": {
                "type": kind,
                "name": name,
                "serial": serial,
                "mac": mac,
                "ips": ips,
                "manufacturer": "Cisco",
                "model": "C9300-48P",
                "location": "HQ rack 2",
                "firmware": "17.9.4",
            },
            "network_ports": [{"ifnumber": 1, "ifname": "Gi1/0/1", "mac": mac}],
        },
    }


# an estate of five devices: a laptop, a VM, a whitebox with placeholder serials, a switch, a printer
LAPTOP = computer(
    "LT-001-2025-02-01-10-00-00",
    name="LT-001",
    ssn="7XK2QY3",
    macs=["A4-BB-6D-11-22-33"],
    ips=["10.1.20.31"],
    os_name="Microsoft Windows 10 Pro",
)
VM = computer(
    "srv-app-2025-02-01-10-00-00",
    name="srv-app",
    chassis="Other",
    vmsystem="VMware",
    ssn="VMware-42 1b ba bd 7c 88 9e 5a-2b 1e 9c e6 7d a9 77 01",
    macs=["00:50:56:9a:01:02"],
    manufacturer="VMware, Inc.",
    model="VMware Virtual Platform",
    fqdn="srv-app.corp.example.com",
)
WHITEBOX = computer(
    "desk-17-2025-02-01-10-00-00",
    name="DESK-17",
    ssn="To be filled by O.E.M.",
    assettag="Default string",
    chassis="Mini Tower",
    macs=["0:1b:21:3a:4f:9"],
    manufacturer="To Be Filled By O.E.M.",
    model="B450M Pro4",
)
SWITCH = network_device(
    "sw-core-1-2025-02-01-10-00-00",
    name="sw-core-1.corp.example.com",
    serial="FOC2231X0AB",
    mac="70:1f:53:a0:b1:c2",
    ips=["10.0.0.2", "127.0.0.1"],
)
PRINTER = network_device(
    "prn-3-2025-02-01-10-00-00",
    name="PRN-3",
    serial="VNB3K12345",
    mac="a0:d3:c1:22:33:44",
    ips=["10.1.30.5"],
    kind="Printer",
)
