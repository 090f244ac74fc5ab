"""GLPI inventories' software lists: mapped to software installations of their device,
replaced whole by a newer inventory that carries them, and synced onto the device's asset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml
from contract import read_all
from json_fixtures import LAPTOP, SWITCH, computer, partial, peer, write

from connectors.glpi_inventory import GlpiInventoryConfig, GlpiInventoryConnector
from federation.config.settings import Config, load_config
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from transforms.context import TransformContext
from transforms.mapping import map_stream

WINDOWS_SOFTWARE = [
    {"name": "Microsoft Visio - en-us", "publisher": "Microsoft Corporation", "version": "16.0.17928.20156",
     "arch": "x86_64", "from": "registry", "install_date": "2025-02-10"},
    {"name": "Zoom Workplace (64-bit)", "publisher": "Zoom Video Communications, Inc.",
     "version": "6.2.5 (48749)", "arch": "x86_64", "install_date": "1970-01-01"},
    {"name": "Zoom", "publisher": "Zoom Video Communications, Inc.", "version": "5.17.11 (34827)"},
    {"name": "7-Zip 23.01 (x64)", "publisher": "Igor Pavlov", "version": "23.01", "arch": "x86_64"},
]  # fmt: skip


def make(base: Path, path: str, **overrides: Any) -> GlpiInventoryConnector:
    config = GlpiInventoryConfig.model_validate(
        {"name": "glpi", "kind": "glpi_inventory", "path": path, **overrides}
    )
    return GlpiInventoryConnector(config, base_dir=base)


def mapped(
    connector: GlpiInventoryConnector, entity: str = "software_installations"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.concat([b.frame for b in read_all(connector, entity)], ignore_index=True)
    result = map_stream(frame, entity, connector.config.entities[entity], TransformContext(), source="glpi")
    return result.rows, result.quarantine


def with_software(document: dict[str, Any], software: list[dict[str, Any]]) -> dict[str, Any]:
    return {**document, "content": {**document["content"], "softwares": software}}


def test_a_software_list_becomes_installations_of_its_device(tmp_path: Path) -> None:
    write(tmp_path / "inv" / "lt-001.json", with_software(LAPTOP, WINDOWS_SOFTWARE), 0)
    write(tmp_path / "inv" / "sw.json", SWITCH, 1)  # SNMP inventories have no software list
    rows, quarantine = mapped(make(tmp_path, "inv"))
    assert quarantine.empty, quarantine.to_dict("records")
    got = rows[["asset_key", "product", "publisher", "version"]].itertuples(index=False, name=None)
    device = LAPTOP["deviceid"]
    assert sorted(got) == [
        (device, "7-Zip", "Igor Pavlov", "23.01"),
        (device, "Visio Plan 2", "Microsoft", "16.0.17928.20156"),
        (device, "Zoom", "Zoom", "5.17.11 (34827)"),
        (device, "Zoom", "Zoom", "6.2.5 (48749)"),
    ]
    dates = dict(zip(rows["version"], rows["installed_at"], strict=True))
    assert dates["16.0.17928.20156"] == pd.Timestamp("2025-02-10")
    assert pd.isna(dates["6.2.5 (48749)"])  # the epoch: an agent that did not know
    # the device's asset carries the deviceid the installations name it by
    assets, _ = mapped(make(tmp_path, "inv"), "assets")
    assert set(assets["device_id"]) == {LAPTOP["deviceid"], SWITCH["deviceid"]}


def test_a_newer_inventory_with_a_list_replaces_the_list(tmp_path: Path) -> None:
    write(tmp_path / "inv" / "lt-001.json", with_software(LAPTOP, WINDOWS_SOFTWARE), 0)
    # a partial inventory without software changes nothing; one with software replaces it all
    write(tmp_path / "inv" / "lt-001-os.json", partial(LAPTOP, operatingsystem={"name": "Windows"}), 1)
    rows, _ = mapped(make(tmp_path, "inv"))
    assert len(rows) == 4
    write(tmp_path / "inv" / "lt-001-soft.json", partial(LAPTOP, softwares=WINDOWS_SOFTWARE[3:]), 2)
    rows, _ = mapped(make(tmp_path, "inv"))
    assert rows["product"].tolist() == ["7-Zip"]


def test_the_format_examples_software(tmp_path: Path) -> None:
    rows, quarantine = mapped(make(tmp_path, str(peer("inventory_format/examples"))))
    assert quarantine.empty, quarantine.to_dict("records")
    per_device = rows.groupby("asset_key").size().to_dict()
    # computer_3_updated.json's list replaces computer_3.json's; computer_1's partial list its own
    assert per_device == {
        "LF014-2017-02-20-12-19-56": 3184,
        "glpixps-2018-07-09-09-07-13": 6,
        "Mi9TPro-TéléphoneM-2019-12-18-14-30-16": 3,
    }
    xps = rows[rows["asset_key"] == "glpixps-2018-07-09-09-07-13"]
    gitg = xps.loc[xps["product"] == "gitg", "version"].tolist()
    assert gitg == ["3.33.0-1.fc31"]  # 3.32.1 came with the full inventory; the partial replaced it
    phone = rows[rows["asset_key"].str.startswith("Mi9TPro")]
    # Android system apps carry the system image's stamp (2008-12-31): no install date
    assert phone["installed_at"].notna().sum() == 1


# ---------------------------------------------------------------------------------- synced
def configure(tmp_path: Path, source: dict[str, Any]) -> Config:
    raw = {"store": {"path": "store"}, "sources": [{"name": "glpi", "kind": "glpi_inventory", **source}]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(tmp_path / "config.yaml")


def synced(config: Config) -> duckdb.DuckDBPyConnection:
    syncer = Syncer(config)
    try:
        report = syncer.run()
    finally:
        syncer.close()
    assert [(r.source, r.error) for r in report.failed] == []
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    assert snapshot is not None
    return snapshot.cursor()


@pytest.fixture
def inventories(tmp_path: Path) -> Path:
    write(tmp_path / "inv" / "lt-001.json", with_software(LAPTOP, WINDOWS_SOFTWARE), 0)
    other = computer("lt-002-2025", name="LT-002", ssn="5CG0000002", macs=["3c:52:82:00:00:02"])
    write(tmp_path / "inv" / "lt-002.json", with_software(other, WINDOWS_SOFTWARE[1:2]), 1)
    return tmp_path


def test_installations_land_on_the_asset_of_their_device(inventories: Path) -> None:
    cur = synced(configure(inventories, {"path": "inv"}))
    got = cur.execute(
        "SELECT a.serial_number, s.product, s.source FROM software_installations s "
        "JOIN assets a ON a.id = s.asset_id ORDER BY 1, 2, s.version"
    ).fetchall()
    assert got == [
        ("5CG0000002", "Zoom", "glpi"),
        ("7XK2QY3", "7-Zip", "glpi"),
        ("7XK2QY3", "Visio Plan 2", "glpi"),
        ("7XK2QY3", "Zoom", "glpi"),
        ("7XK2QY3", "Zoom", "glpi"),
    ]
    assert cur.execute("SELECT count(*) FROM software_installations").fetchall() == [(5,)]


def test_installations_never_invent_the_asset_they_name(inventories: Path) -> None:
    # without the assets stream nothing in the graph has these deviceids: the installations
    # stay unresolved, and no asset is made up from them
    cur = synced(configure(inventories, {"path": "inv", "entities": {"assets": None}}))
    assert cur.execute("SELECT count(*) FROM assets").fetchall() == [(0,)]
    assert cur.execute("SELECT count(*), count(asset_id) FROM software_installations").fetchall() == [(5, 0)]
