"""The demo generator: deterministic, fast, and as quirky and overlapping as promised.

Expected figures come from the demo's specification (shares of the estate, the quirks each
source must show), with tolerances; they are read back from the files, not from the
generator's own bookkeeping.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import socket
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import httpx
import openpyxl
import pandas as pd
import pytest
from support.demo import write_demo_config

from connectors.registry import connector_class
from federation.config.settings import Config, load_config, parse_config
from federation.demo import FILES, MARKER, generate_demo, read_marker
from federation.demo.estate import make_estate
from federation.demo.saas import OKTA_TOKEN, VendorPortTaken, start_simulator
from federation.pipeline.sync import transform_context
from transforms.mapping import map_stream

N = 3000
SHEETS = ("FY2025 Assets", "FY2026 Assets")
HEADER_ROW = 4  # 1-based: title, "Generated on", blank, header
SCIENTIFIC = re.compile(r"^\d\.\d+E\+\d+$")
CMDB_STATUS = {"1": "in_use", "2": "ordered", "3": "in_repair", "6": "in_stock", "7": "retired",
               "8": "lost"}  # fmt: skip
ENDPOINT_STATUS = {"Deployed": "in_use", "Ready to Deploy": "in_stock", "Archived": "retired",
                   "Pending Diagnostics": "in_repair", "Lost": "lost"}  # fmt: skip


def demo_config(base: Path, *, seed: int = 7, assets: int = N, path: str = "data/demo") -> Config:
    # vendor port 0: the simulated Okta and Microsoft 365 take any free port
    raw = {"demo": {"generate": True, "path": path, "assets": assets, "seed": seed, "vendor_port": 0}}
    return parse_config(raw, base_dir=base)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("demo")
    return generate_demo(demo_config(base))


def table(folder: Path, db: str, name: str) -> list[dict]:
    con = sqlite3.connect(folder / db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f'SELECT * FROM "{name}"')]
    finally:
        con.close()


def inventory(folder: Path) -> tuple[list[str], list[list[str]]]:
    text = (folder / "inventory.csv").read_bytes().decode("cp1252")
    rows = [r for r in csv.reader(text.split("\r")) if r]
    return rows[0], rows[1:]


def inventory_records(folder: Path) -> list[dict[str, str]]:
    header, rows = inventory(folder)
    # the repeated `Category` header becomes `Category_2`, as the spreadsheet connector does
    names = [h if h not in header[:i] else f"{h}_2" for i, h in enumerate(header)]
    return [dict(zip(names, r, strict=True)) for r in rows]


@functools.cache  # the files under test are never rewritten in place: read each workbook once
def finance_rows(folder: Path, *, data_only: bool = True) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(folder / "finance.xlsx", data_only=data_only)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def finance_assets(folder: Path) -> list[dict]:
    out = []
    for name, rows in finance_rows(folder).items():
        if name in SHEETS:
            header = rows[HEADER_ROW - 1]
            out += [dict(zip(header, r, strict=True)) for r in rows[HEADER_ROW:] if r[0]]
    return out


def serial_key(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    key = re.sub(r"\s+", "", value).upper()
    return key or None


def host_key(value: str | None) -> str | None:
    return value.lower().split(".")[0] if value else None


def usd(cost: object, currency: str) -> float:
    if isinstance(cost, str):  # `€1.599,62`
        cost = float(cost.lstrip("€").replace(".", "").replace(",", "."))
    return round(float(cost) * {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}[currency], 2)


# ---------------------------------------------------------------------------- generation


def test_writes_every_file_and_a_marker(demo: Path) -> None:
    assert demo.name == "demo"
    assert demo.parent.name == "data"
    for name in FILES:
        assert (demo / name).stat().st_size > 0
    marker = read_marker(demo)
    assert marker is not None
    assert (marker["seed"], marker["assets"]) == (7, N)


def _contents(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {"inventory.csv": (folder / "inventory.csv").read_bytes()}
    for db, names in (
        ("cmdb.sqlite", ("ci_computer", "sys_user", "cmn_location")),
        ("endpoint_team.sqlite", ("devices", "users")),
    ):
        for name in names:
            out[f"{db}:{name}"] = [tuple(r.values()) for r in table(folder, db, name)]
    out["finance.xlsx"] = finance_rows(folder)
    out["glpi"] = {f.name: f.read_bytes() for f in sorted((folder / "glpi").iterdir())}
    return out


def test_deterministic(tmp_path: Path, demo: Path) -> None:
    again = generate_demo(demo_config(tmp_path))
    assert _contents(again) == _contents(demo)
    other = generate_demo(demo_config(tmp_path / "other", seed=8))
    assert _contents(other)["inventory.csv"] != _contents(demo)["inventory.csv"]


@pytest.mark.parametrize("size", [pytest.param(10, id="smallest"), pytest.param(120, id="small")])
def test_small_estates(tmp_path: Path, size: int) -> None:
    folder = generate_demo(demo_config(tmp_path, assets=size))
    assert 0 < len(table(folder, "cmdb.sqlite", "ci_computer")) <= size
    assert len(finance_assets(folder)) <= size


# ------------------------------------------------------------------------------- marker


def _mtimes(folder: Path) -> dict[str, int]:
    return {name: (folder / name).stat().st_mtime_ns for name in FILES}


def test_regeneration_skipped_when_marker_matches(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    folder = generate_demo(config)
    before = _mtimes(folder)
    time.sleep(0.01)
    assert generate_demo(config) == folder
    assert _mtimes(folder) == before


def test_a_deleted_demo_file_stays_deleted(tmp_path: Path) -> None:
    # deleting a demo source is how one shows a failing source; the generator must not undo it
    config = demo_config(tmp_path)
    folder = generate_demo(config)
    (folder / "finance.xlsx").unlink()
    generate_demo(config)
    assert not (folder / "finance.xlsx").exists()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("force", id="force"),
        pytest.param("seed", id="other-seed"),
        pytest.param("size", id="other-size"),
        pytest.param("bad-marker", id="marker-unreadable"),
    ],
)
def test_regenerated_when_marker_differs(tmp_path: Path, change: str) -> None:
    folder = generate_demo(demo_config(tmp_path))
    before = _mtimes(folder)
    time.sleep(0.01)
    config = demo_config(tmp_path)
    if change == "seed":
        config = demo_config(tmp_path, seed=99)
    elif change == "size":
        config = demo_config(tmp_path, assets=500)
    elif change == "bad-marker":
        (folder / MARKER).write_text("{not json", encoding="utf-8")
    generate_demo(config, force=change == "force")
    after = _mtimes(folder)
    assert all(after[name] != before[name] for name in FILES)
    marker = read_marker(folder)
    assert marker is not None
    assert marker["seed"] == config.settings.demo.seed


def test_absolute_path_and_default_path(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    config = demo_config(tmp_path / "cfg", path=str(target), assets=50)
    assert generate_demo(config) == target
    defaults = parse_config({"demo": {"vendor_port": 0}}, base_dir=tmp_path / "plain")
    assert generate_demo(defaults) == tmp_path / "plain" / "data" / "demo"


def test_a_vendor_port_held_by_another_program_is_refused(tmp_path: Path) -> None:
    """The demo's okta and m365 sources read 127.0.0.1:<vendor_port>: when something else
    answers there, generating the demo stops instead of letting them read a stranger."""
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        config = parse_config({"demo": {"vendor_port": port, "assets": 50}}, base_dir=tmp_path)
        with pytest.raises(VendorPortTaken, match=rf"127\.0\.0\.1:{port} is taken"):
            generate_demo(config)
    assert not (tmp_path / "data" / "demo" / MARKER).exists()


def test_the_simulator_on_port_0_is_reused_by_its_port(tmp_path: Path) -> None:
    """A config naming the port this process's simulator got from port 0 reuses it (tests
    start it on port 0 and point the demo's sources at it)."""
    url = start_simulator(lambda: make_estate(7, 30), 0, estate_key=("tests", 30))
    port = int(url.rsplit(":", 1)[1])
    config = parse_config({"demo": {"vendor_port": port, "assets": 400}}, base_dir=tmp_path)
    assert generate_demo(config) == tmp_path / "data" / "demo"
    users = httpx.get(f"{url}/okta/api/v1/users", params={"limit": 200},
                      headers={"Authorization": f"SSWS {OKTA_TOKEN}"}).json()  # fmt: skip
    # the estate of the config (40 people), swapped in for the one it started with (30)
    assert len(users) == int(make_estate(7, 400).people["active"].sum())


# ----------------------------------------------------------------------------- the CSV


def test_inventory_csv_bytes(demo: Path) -> None:
    data = (demo / "inventory.csv").read_bytes()
    assert b"\r" in data
    assert b"\n" not in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert "Zoë Müller" in text
    assert "José Ñúñez" in text
    header, rows = inventory(demo)
    assert header.count("Category") == 2
    assert header.count("") == 1
    assert all(len(r) == len(header) for r in rows)


def test_inventory_quirks(demo: Path) -> None:
    records = inventory_records(demo)
    model_numbers = [r["Model Number"] for r in records]
    assert sum(bool(SCIENTIFIC.match(m)) for m in model_numbers) > 0.1 * len(records)
    mangled = sum(bool(SCIENTIFIC.match(r["Serial Number"])) for r in records)
    assert 0.003 * len(records) <= mangled <= 0.02 * len(records)
    serials = {r["Serial Number"] for r in records}
    for placeholder in ("To Be Filled By O.E.M.", "Not Specified", "0123456789",
                        "System Serial Number"):  # fmt: skip
        assert placeholder in serials
    macs = " ".join(r["MAC Address"] for r in records)
    assert re.search(r"\b[0-9A-F]{2}(-[0-9A-F]{2}){5}\b", macs)
    assert re.search(r"\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b", macs)
    names = [r["Computer Name"] for r in records]
    assert any(n.endswith(".corp.example.com") for n in names)
    assert any(n.isupper() for n in names)
    assert any(n.islower() for n in names)
    for r in records[:50]:
        datetime.strptime(r["Last Seen"], "%m/%d/%Y %H:%M")
    assert {"zmuller", "jnunez"} <= {r["Assigned User"] for r in records}


# ---------------------------------------------------------------------------- the xlsx


def test_finance_workbook_layout(demo: Path) -> None:
    cached = finance_rows(demo)
    formulas = finance_rows(demo, data_only=False)
    assert list(cached) == [*SHEETS, "Summary"]
    for name in SHEETS:
        rows = cached[name]
        assert "register" in rows[0][0]
        assert rows[1][0].startswith("Generated on")
        header = rows[HEADER_ROW - 1]
        assert header[:3] == ("Asset Tag", "Serial", "Description")
        for column in ("Purchase Date", "Cost", "Currency", "Depreciation", "Department"):
            assert column in header
        cost_at = header.index("Cost")
        total = rows[-1]
        assert total[0] is None  # no asset tag: never an asset
        assert formulas[name][-1][cost_at].startswith("=SUM(")
        numeric = [r[cost_at] for r in rows[HEADER_ROW:-1] if isinstance(r[cost_at], float | int)]
        assert total[cost_at] == pytest.approx(sum(numeric), abs=0.05)
        dep_at = header.index("Depreciation")
        first = rows[HEADER_ROW]
        if isinstance(first[cost_at], float):
            assert formulas[name][HEADER_ROW][dep_at].startswith("=ROUND(")
            assert first[dep_at] == pytest.approx(round(first[cost_at] / 3, 2))
    summary = cached["Summary"]
    assert [r[0] for r in summary[1:3]] == list(SHEETS)
    assert all(str(v).startswith("=") for v in formulas["Summary"][1][1:])
    counts = {name: sum(1 for r in cached[name][HEADER_ROW:] if r[0]) for name in SHEETS}
    assert [r[1] for r in summary[1:3]] == [counts[s] for s in SHEETS]


def test_finance_quirks(demo: Path) -> None:
    rows = finance_assets(demo)
    costs = [r["Cost"] for r in rows]
    eur_text = [c for c in costs if isinstance(c, str)]
    assert eur_text
    assert all(re.fullmatch(r"€\d{1,3}(\.\d{3})*,\d{2}", c) for c in eur_text)
    assert all(r["Currency"] == "EUR" for r in rows if isinstance(r["Cost"], str))
    assert any(isinstance(c, float | int) for c in costs)
    dates = [r["Purchase Date"] for r in rows]
    assert any(isinstance(d, datetime) for d in dates)
    assert any(isinstance(d, str) and re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}", d) for d in dates)
    serials = [r["Serial"] for r in rows]
    assert any(s is None for s in serials)
    assert any(isinstance(s, str) and s != s.upper() for s in serials)
    assert any(isinstance(s, str) and s != s.strip() for s in serials)


# ------------------------------------------------------------------------- the SQLite


def test_cmdb_shape(demo: Path) -> None:
    computers = table(demo, "cmdb.sqlite", "ci_computer")
    assert all(re.fullmatch(r"[0-9a-f]{32}", c["sys_id"]) for c in computers)
    assert all(re.fullmatch(r"P\d{6}", c["asset_tag"]) for c in computers)
    assert {c["manufacturer"] for c in computers} == {
        "Dell Inc.", "Hewlett-Packard", "LENOVO", "Apple Inc.",
    }  # fmt: skip
    assert {c["install_status"] for c in computers} == set(CMDB_STATUS)
    assert any(c["name"] and c["name"].endswith(".CORP.EXAMPLE.COM") for c in computers)
    assert all(isinstance(c["cost"], float) for c in computers)
    stamps = sorted(c["sys_updated_on"] for c in computers)
    assert stamps[-1] < "2026-11-01"
    assert stamps[0] != stamps[-1]
    locations = table(demo, "cmdb.sqlite", "cmn_location")
    assert len(locations) == 8
    assert len({loc["country"] for loc in locations}) == 5
    assert {"United States", "Germany", "United Kingdom"} <= {loc["country"] for loc in locations}


def test_people(demo: Path) -> None:
    users = table(demo, "cmdb.sqlite", "sys_user")
    assert 270 <= len(users) <= 330
    by_user = {u["user_name"]: u for u in users}
    assert by_user["zmuller"]["name"] == "Zoë Müller"
    assert by_user["jnunez"]["name"] == "José Ñúñez"
    assert {u["manager"] for u in users if u["manager"]} <= set(by_user)
    gone = {u["email"].lower() for u in users if u["active"] == "false"}
    assert gone
    held = [c for c in table(demo, "cmdb.sqlite", "ci_computer") if c["assigned_to"] in gone]
    assert held  # the auditor's favourite question
    team = {u["email"] for u in table(demo, "endpoint_team.sqlite", "users")}
    cmdb_emails = {u["email"].lower() for u in users}
    assert cmdb_emails - team  # some people only in the CMDB
    assert team - cmdb_emails  # and a few only in the endpoint team's store


def test_endpoint_shape(demo: Path) -> None:
    devices = table(demo, "endpoint_team.sqlite", "devices")
    assert {d["device_type"] for d in devices} == {"Laptop", "Tablet"}
    assert set(ENDPOINT_STATUS) <= {d["status"] for d in devices}
    assert any(d["asset_tag"] is None for d in devices)
    assert {d["encryption"] for d in devices} == {"on", "off"}
    assert all(isinstance(d[c], int) for d in devices for c in ("device_id", "ram_gb", "disk_gb"))


# ----------------------------------------------------------------------------- overlaps


def test_coverage_shares(demo: Path) -> None:
    assert 0.82 * N <= len(table(demo, "cmdb.sqlite", "ci_computer")) <= 0.88 * N
    assert 0.56 * N <= len(finance_assets(demo)) <= 0.64 * N
    assert 0.70 * N <= len(inventory_records(demo)) <= 0.78 * N  # ~70% plus ~4% shadow IT
    assert 0.36 * N <= len(table(demo, "endpoint_team.sqlite", "devices")) <= 0.44 * N


def test_only_in_one_source(demo: Path) -> None:
    cmdb = table(demo, "cmdb.sqlite", "ci_computer")
    devices = table(demo, "endpoint_team.sqlite", "devices")
    records = inventory_records(demo)
    finance = finance_assets(demo)
    tags = {c["asset_tag"] for c in cmdb} | {d["asset_tag"] for d in devices}
    serials = {serial_key(c["serial_number"]) for c in cmdb}
    serials |= {serial_key(d["serial"]) for d in devices}
    serials |= {serial_key(r["Serial Number"]) for r in records}
    finance_only = [
        r for r in finance if r["Asset Tag"] not in tags and serial_key(r["Serial"]) not in serials
    ]
    assert 0.02 * N <= len(finance_only) <= 0.05 * N  # ~3% on order

    known_serials = serials - {serial_key(r["Serial Number"]) for r in records}
    known_serials |= {serial_key(r["Serial"]) for r in finance}
    macs = {c["mac_address"] for c in cmdb}
    hosts = {host_key(c["name"]) for c in cmdb} | {host_key(d["hostname"]) for d in devices}
    inventory_only = [
        r
        for r in records
        if serial_key(r["Serial Number"]) not in known_serials
        and not {m.replace("-", ":").lower() for m in r["MAC Address"].split("; ")} & macs
        and host_key(r["Computer Name"]) not in hosts
    ]
    assert 0.03 * N <= len(inventory_only) <= 0.06 * N  # ~4% shadow IT


def test_disagreements(demo: Path) -> None:
    cmdb = table(demo, "cmdb.sqlite", "ci_computer")
    by_tag = {c["asset_tag"]: c for c in cmdb}
    by_serial = {serial_key(c["serial_number"]): c for c in cmdb}

    finance = [r for r in finance_assets(demo) if r["Asset Tag"] in by_tag]
    off = [r for r in finance if usd(r["Cost"], r["Currency"]) != by_tag[r["Asset Tag"]]["cost"]]
    assert 0.03 <= len(off) / len(finance) <= 0.07  # ~5% cost disagreements

    devices = [d for d in table(demo, "endpoint_team.sqlite", "devices")]
    paired = [(d, by_serial[serial_key(d["serial"])]) for d in devices
              if serial_key(d["serial"]) in by_serial]  # fmt: skip
    differ = [d for d, c in paired if ENDPOINT_STATUS[d["status"]] != CMDB_STATUS[c["install_status"]]]
    assert 0.02 <= len(differ) / len(paired) <= 0.07  # ~4% status disagreements

    records = [r for r in inventory_records(demo) if serial_key(r["Serial Number"]) in by_serial]
    renamed = [
        r for r in records
        if host_key(r["Computer Name"]) != host_key(by_serial[serial_key(r["Serial Number"])]["name"])
    ]  # fmt: skip
    assert 0.07 <= len(renamed) / len(records) <= 0.14  # ~10% other host name, same serial

    mismatched = [
        r for r in finance
        if serial_key(r["Serial"]) and serial_key(r["Serial"]) != serial_key(
            by_tag[r["Asset Tag"]]["serial_number"])
    ]  # fmt: skip
    assert 3 <= len(mismatched) <= 0.02 * len(finance)  # same tag, other serial
    counts: dict[str | None, int] = {}
    for c in cmdb:
        counts[c["serial_number"]] = counts.get(c["serial_number"], 0) + 1
    assert 1 <= sum(1 for v in counts.values() if v > 1) <= 20  # serial typed twice


def test_showcase_laptop_in_all_four_sources(demo: Path) -> None:
    """P000001: one laptop, four sources, each telling its own story."""
    cmdb = {c["asset_tag"]: c for c in table(demo, "cmdb.sqlite", "ci_computer")}["P000001"]
    device = {d["asset_tag"]: d for d in table(demo, "endpoint_team.sqlite", "devices")}["P000001"]
    serial = cmdb["serial_number"]
    found = [r for r in inventory_records(demo) if r["Serial Number"] == serial]
    assert len(found) == 1
    seen = found[0]
    books = {r["Asset Tag"]: r for r in finance_assets(demo)}["P000001"]

    assert device["serial"] == serial
    assert books["Serial"] == serial.lower()
    assert (cmdb["name"], device["hostname"], seen["Computer Name"]) == (
        "LT-00001.CORP.EXAMPLE.COM", "zmuller-x1", "ZMULLER-X1",
    )  # fmt: skip
    assert (cmdb["install_status"], device["status"]) == ("1", "Pending Diagnostics")
    assert cmdb["cost"] == 1727.73  # = €1,599.75 at 1.08
    assert (books["Cost"], books["Currency"]) == ("€1.749,75", "EUR")
    assert cmdb["assigned_to"] == device["user_email"] == "zoe.muller@example.com"
    assert seen["Assigned User"] == "zmuller"
    assert re.fullmatch(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}.*", seen["MAC Address"])
    assert cmdb["location"] == "Berlin Office"


def test_glpi_inventories_carry_the_software_of_the_machines_in_use(demo: Path) -> None:
    files = sorted((demo / "glpi").iterdir())
    assert files
    assert all(f.suffix == ".ndjson" for f in files)
    docs = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    marker = read_marker(demo)
    assert marker is not None
    assert len(docs) == marker["figures"]["glpi"]["machines"] > N / 3
    assert len({d["deviceid"] for d in docs}) == len(docs)
    cmdb = {r["serial_number"]: r for r in table(demo, "cmdb.sqlite", "ci_computer")}
    known = [cmdb.get(d["content"]["bios"]["ssn"]) for d in docs]
    # machines in use, most of them in the CMDB too (which misses 15% of the estate)
    assert sum(r is not None and r["install_status"] == "1" for r in known) > 0.8 * len(docs)
    names = {}
    for d in docs:
        for s in d["content"]["softwares"]:
            names.setdefault(s["name"], set()).add(d["content"]["operatingsystem"]["full_name"].split()[0])
    assert names["Microsoft Visio - en-us"] == {"Windows"}  # Visio has no Mac or Linux app
    assert names["zoom.us"] == {"macOS"}
    assert sum(len(d["content"]["softwares"]) for d in docs) == marker["figures"]["glpi"]["installations"]


# ------------------------------------------------------------------- the demo config.yaml


def test_config_yaml_reads_the_demo_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repo's config.yaml loads, and every stream it declares maps the generated files
    with only the intended quarantines: finance's Total rows (no asset tag) and the
    inventory serials Excel turned into `1.23457E+11`."""
    config = load_config(write_demo_config(tmp_path, monkeypatch))
    assert config.settings.demo is not None
    assert config.settings.demo.generate
    generate_demo(config)
    ctx = transform_context(config)
    quarantined: dict[str, set[str]] = {}
    for source in config.sources:
        connector = connector_class(source.kind)(source, base_dir=config.base_dir)
        try:
            connector.check()
            for entity, stream in source.entities.items():
                frame = pd.concat([b.frame for b in connector.read(entity)], ignore_index=True)
                out = map_stream(frame, entity, stream, ctx, source=source.name)
                assert len(out.rows) > 0
                reasons = {re.sub(r"'[^']*'", "…", r) for r in out.quarantine["reason"]}
                if reasons:
                    quarantined[f"{source.name}.{entity}"] = reasons
        finally:
            connector.close()
    assert set(quarantined) <= {"finance.assets", "inventory.assets"}
    assert all(r.startswith("no id:") for r in quarantined["finance.assets"])
    assert all("scientific notation" in r for r in quarantined["inventory.assets"])
