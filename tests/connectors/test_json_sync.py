"""JSON sources end to end: a GLPI agent folder, a NetBox dump and a purchases CSV synced,
reconciled and published; the same machines become one asset by serial or MAC address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from json_fixtures import (
    LAPTOP,
    PRINTER,
    SWITCH,
    VM,
    WHITEBOX,
    computer,
    network_device,
    partial,
    peer,
    write,
)

from federation.config.settings import Config, load_config
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer

PURCHASES = """\
Asset Tag,Serial,MAC,Manufacturer,Hostname
A-1001,7xk2qy3,,Dell Inc.,
A-1002,,00-1B-21-3A-4F-09,ASRock,
A-1003,FOC2231X0AB,,Cisco,
A-1004,CN0ZZZ999,,HP,
"""
CSV_SOURCE = {
    "name": "purchases",
    "kind": "spreadsheet",
    "path": "purchases.csv",
    "entities": {
        "assets": {
            "id": "Asset Tag",
            "fields": {"asset_tag": "Asset Tag", "serial_number": "Serial", "mac_addresses": "MAC",
                       "manufacturer": "Manufacturer", "hostname": "Hostname"},
        }
    },
}  # fmt: skip


def netbox_dump() -> list[dict[str, Any]]:
    def obj(model: str, pk: int | None, /, **fields: Any) -> dict[str, Any]:
        return {"model": model, "fields": fields, **({"pk": pk} if pk is not None else {})}

    return [
        obj("dcim.manufacturer", 1, name="Cisco"),
        obj("dcim.devicetype", 1, manufacturer=1, model="C9300-48P"),
        obj("dcim.devicerole", 1, name="Core Switch"),
        obj("dcim.devicerole", 2, name="Patch Panel"),
        obj("dcim.site", 1, name="HQ", slug="hq", physical_address=""),
        obj("dcim.device", 1, name="sw-core-1", serial="", asset_tag=None, device_type=1, role=1, site=1,
            status="active"),  # no serial in NetBox: it joins by its MAC address
        obj("dcim.device", 2, name="PP:B128", serial="", asset_tag=None, device_type=1, role=2, site=1,
            status="active"),
        obj("dcim.interface", 5, device=1, name="mgmt0", mac_address="70:1F:53:A0:B1:C2"),
    ]  # fmt: skip


def configure(tmp_path: Path, sources: list[dict[str, Any]]) -> Config:
    raw = {"store": {"path": "store"}, "sources": sources}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(tmp_path / "config.yaml")


@pytest.fixture
def estate(tmp_path: Path) -> Config:
    for minutes, document in enumerate([LAPTOP, VM, WHITEBOX, SWITCH, PRINTER]):
        write(tmp_path / "inventories" / f"{document['deviceid']}.json", document, minutes)
    write(tmp_path / "netbox.json", netbox_dump())
    (tmp_path / "purchases.csv").write_text(PURCHASES, encoding="utf-8")
    return configure(
        tmp_path,
        [
            {"name": "glpi", "kind": "glpi_inventory", "path": "inventories"},
            {"name": "netbox_dump", "kind": "netbox_export", "path": "netbox.json"},
            CSV_SOURCE,
        ],
    )


@pytest.fixture
def syncer(estate: Config) -> Iterator[Syncer]:
    s = Syncer(estate)
    yield s
    s.close()


def published(config: Config) -> duckdb.DuckDBPyConnection:
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    assert snapshot is not None
    return snapshot.cursor()


def sources_of(cur: duckdb.DuckDBPyConnection, where: str, *args: Any) -> dict[str, set[str]]:
    """entity id → the sources of its records, for the assets matching `where`."""
    rows = cur.execute(
        "SELECT a.id, r.source FROM assets a JOIN record_sources r ON r.entity_id = a.id "
        f"WHERE r.entity = 'assets' AND {where}",
        list(args),
    ).fetchall()
    out: dict[str, set[str]] = {}
    for entity_id, source in rows:
        out.setdefault(entity_id, set()).add(source)
    return out


def test_glpi_netbox_and_a_csv_reconcile_by_serial_and_mac(estate: Config, syncer: Syncer) -> None:
    report = syncer.run()
    assert [(r.source, r.error) for r in report.failed] == []
    assert {r.source: r.quarantined for r in report.sources} == {"glpi": 0, "netbox_dump": 0, "purchases": 0}
    cur = published(estate)
    # by serial: the CSV's lower-case serial is the BIOS's
    assert list(sources_of(cur, "a.serial_number = '7XK2QY3'").values()) == [{"glpi", "purchases"}]
    # by MAC: the whitebox's BIOS serial is a placeholder; the CSV knows its MAC (dashes)
    desk = sources_of(cur, "a.asset_tag = 'A-1002'")
    assert list(desk.values()) == [{"glpi", "purchases"}]
    row = cur.execute("SELECT serial_number, hostname, mac_addresses FROM assets WHERE asset_tag = 'A-1002'")
    assert row.fetchall() == [(None, "desk-17", ["00:1b:21:3a:4f:09"])]
    # the switch: GLPI and the CSV by serial, NetBox (no serial) by its interface's MAC
    switch = sources_of(cur, "a.serial_number = 'FOC2231X0AB'")
    assert list(switch.values()) == [{"glpi", "purchases", "netbox_dump"}]
    # 5 inventoried + 1 bought but never inventoried + NetBox's patch panel
    assert cur.execute("SELECT count(*) FROM assets").fetchall() == [(7,)]


def test_a_later_partial_inventory_syncs_incrementally_and_keeps_the_rest(
    estate: Config, syncer: Syncer
) -> None:
    syncer.run()
    os = {"full_name": "Microsoft Windows 11 Pro", "name": "Windows", "fqdn": "LT-001"}
    write(estate.base_dir / "inventories" / "LT-001-partial.json", partial(LAPTOP, operatingsystem=os), 30)
    report = syncer.run(["glpi"])
    assert report.sources[0].incremental == ["assets", "software_installations"]
    assert report.sources[0].records == 5 + 3  # five devices, the computers' one program each
    cur = published(estate)
    got = cur.execute("SELECT os, mac_addresses FROM assets WHERE serial_number = '7XK2QY3'").fetchall()
    assert got == [("Microsoft Windows 11 Pro", ["a4:bb:6d:11:22:33"])]


def test_a_bad_inventory_file_fails_only_its_source_with_its_path(estate: Config, syncer: Syncer) -> None:
    syncer.run()
    write(estate.base_dir / "inventories" / "truncated.json", b'{"deviceid": "x", "content": {', 40)
    report = syncer.run()
    failed = {r.source: r.error for r in report.failed}
    assert set(failed) == {"glpi"}
    assert "inventories/truncated.json: not valid JSON" in (failed["glpi"] or "")
    cur = published(estate)
    status = cur.execute("SELECT status, stale, error FROM source_status WHERE name = 'glpi'").fetchall()[0]
    assert status[:2] == ("failed", True)
    assert "truncated.json" in status[2]
    # its last good snapshot still merges with the CSV
    assert list(sources_of(cur, "a.serial_number = '7XK2QY3'").values()) == [{"glpi", "purchases"}]


def test_the_real_examples_merge_with_a_csv_by_serial_mac_and_host_name(tmp_path: Path) -> None:
    examples = peer("inventory_format/examples")
    dump = peer("netbox-demo-data/json/netbox-demo-v3.6.json")
    (tmp_path / "purchases.csv").write_text(
        "Asset Tag,Serial,MAC,Manufacturer,Hostname\n"
        "B-1,640hp72,,Dell,\n"  # the Dell XPS 13 of computer_1.json, by serial
        "B-2,,00-23-AC-6A-01-00,Cisco,\n"  # the Catalyst of networkequipment_2.json, by MAC
        "B-3,,,Cisco,dmi01-akron-rtr01.example.net\n",  # a NetBox demo router, by host name
        encoding="utf-8",
    )
    config = configure(
        tmp_path,
        [
            {"name": "glpi", "kind": "glpi_inventory", "path": str(examples)},
            {"name": "netbox_dump", "kind": "netbox_export", "path": str(dump)},
            CSV_SOURCE,
        ],
    )
    syncer = Syncer(config)
    try:
        report = syncer.run()
    finally:
        syncer.close()
    assert [(r.source, r.error) for r in report.failed] == []
    assert {r.source: (r.records, r.quarantined) for r in report.sources} == {
        "glpi": (11 + 3193, 0), "netbox_dump": (72 + 24, 0), "purchases": (3, 0)}  # fmt: skip
    cur = published(config)
    for tag in ("B-1", "B-2"):
        assert list(sources_of(cur, "a.asset_tag = ?", tag).values()) == [{"glpi", "purchases"}], tag
    assert list(sources_of(cur, "a.asset_tag = 'B-3'").values()) == [{"netbox_dump", "purchases"}]


def test_a_source_never_synced_before_reads_every_file(tmp_path: Path) -> None:
    doc = computer("only-2025", name="only", ssn="ONLY1", macs=["00:1b:21:3a:4f:aa"])
    write(tmp_path / "inv" / "only.json", doc)
    write(tmp_path / "inv" / "sw.json", network_device("sw", name="sw", serial="S1", mac="70:1f:53:00:00:01",
                                                       ips=["10.0.0.1"]))  # fmt: skip
    config = configure(tmp_path, [{"name": "glpi", "kind": "glpi_inventory", "path": "inv"}])
    syncer = Syncer(config)
    try:
        first = syncer.run()
        second = syncer.run()  # nothing changed: the files at the cursor only
    finally:
        syncer.close()
    assert first.sources[0].incremental == []
    assert (first.sources[0].records, second.sources[0].records) == (3, 3)  # 2 devices, 1 program
    assert second.sources[0].incremental == ["assets", "software_installations"]
