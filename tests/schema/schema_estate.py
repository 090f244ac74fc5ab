"""A small hand-written estate published to a temporary store, and helpers to query it.

Expected values in the tests are worked out by hand from the tables below.

assets (cost; category/status; location; assignee):
  a01 1500  laptop/in_use      HQ     alice   a11 4000  network/in_use   DC1   bob
  a02 1500  laptop/in_use      HQ     bob     a12 3000  network/in_use   DC1   -
  a03 2500  laptop/in_use      HQ     carol   a13  800  phone/in_use     -     alice
  a04 1200  laptop/in_repair   Store  dave    a14  700  phone/lost       -     bob
  a05 1800  laptop/in_stock    Store  -       a15  600  phone/in_use     -     erin
  a06  900  desktop/in_use     HQ     erin    a16  500  tablet/in_use    HQ    frank
  a07  700  desktop/retired    Store  -       a17  400  monitor/in_use   HQ    carol
  a08 12000 server/in_use      DC1    alice   a18  400  monitor/in_stock Store -
  a09 9000  server/in_use      DC1    bob     a19    -  virtual_machine/in_use  DC1 bob
  a10    -  server/retired     DC1    -       a20    -  virtual_machine/ordered DC1 -
people: alice (IT, no manager), bob (IT, → alice), carol (Finance, → alice),
        dave (Finance, terminated, → carol), erin (Sales, → carol), frank (no dept, → erin)
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from federation.access.policy import unrestricted
from federation.config.settings import ServerConfig
from federation.pipeline.store import Publisher, StoreReader
from schema.build import build_schema
from schema.context import RequestContext
from schema.execute import decoded


def aid(n: int) -> str:
    return f"a0000000-0000-4000-8000-{n:012d}"


def pid(name: str) -> str:
    return {
        "alice": "b0000000-0000-4000-8000-000000000001",
        "bob": "b0000000-0000-4000-8000-000000000002",
        "carol": "b0000000-0000-4000-8000-000000000003",
        "dave": "b0000000-0000-4000-8000-000000000004",
        "erin": "b0000000-0000-4000-8000-000000000005",
        "frank": "b0000000-0000-4000-8000-000000000006",
    }[name]


def lid(name: str) -> str:
    return {
        "HQ": "c0000000-0000-4000-8000-000000000001",
        "DC1": "c0000000-0000-4000-8000-000000000002",
        "Store Room": "c0000000-0000-4000-8000-000000000003",
    }[name]


LOCATIONS = [
    ("HQ", "Main", "London", "GB"),
    ("DC1", "North", "Frankfurt", "DE"),
    ("Store Room", "Main", "London", "GB"),
]

PEOPLE = [
    ("alice", "alice@example.com", "Alice Admin", "IT", "active", None),
    ("bob", "bob@example.com", "Bob Builder", "IT", "active", "alice"),
    ("carol", "carol@example.com", "Carol Chen", "Finance", "active", "alice"),
    ("dave", "dave@example.com", "Dave Doe", "Finance", "terminated", "carol"),
    ("erin", "erin@example.com", "Erin Eve", "Sales", "active", "carol"),
    ("frank", "frank@example.com", "Frank Fox", None, "unknown", "erin"),
]

D = date.fromisoformat
# n, tag, serial, hostname, name, category, manufacturer, model, status, location, person,
# department, purchase_date, cost
ASSETS: list[tuple[Any, ...]] = [
    (
        1,
        "AT-001",
        "SN001",
        "lap-001",
        "Alice laptop",
        "laptop",
        "Dell",
        "Latitude 7440",
        "in_use",
        "HQ",
        "alice",
        "IT",
        D("2023-01-10"),
        1500.0,
    ),
    (
        2,
        "AT-002",
        "SN002",
        "lap-002",
        "Bob laptop",
        "laptop",
        "Dell",
        "Latitude 7440",
        "in_use",
        "HQ",
        "bob",
        "IT",
        D("2023-02-15"),
        1500.0,
    ),
    (
        3,
        "AT-003",
        "SN003",
        "lap-003",
        "Carol laptop",
        "laptop",
        "Apple",
        "MacBook Pro",
        "in_use",
        "HQ",
        "carol",
        "Finance",
        D("2023-03-20"),
        2500.0,
    ),
    (
        4,
        "AT-004",
        "SN004",
        "lap-004",
        "Dave laptop",
        "laptop",
        "Apple",
        "MacBook Air",
        "in_repair",
        "Store Room",
        "dave",
        "Finance",
        D("2022-06-01"),
        1200.0,
    ),
    (
        5,
        "AT-005",
        "SN005",
        "lap-005",
        "Spare laptop",
        "laptop",
        "Lenovo",
        "ThinkPad X1",
        "in_stock",
        "Store Room",
        None,
        None,
        D("2024-01-05"),
        1800.0,
    ),
    (
        6,
        "AT-006",
        "SN006",
        "desk-001",
        "Erin desktop",
        "desktop",
        "Dell",
        "OptiPlex",
        "in_use",
        "HQ",
        "erin",
        "Sales",
        D("2021-09-09"),
        900.0,
    ),
    (
        7,
        "AT-007",
        "SN007",
        "desk-002",
        "Old desktop",
        "desktop",
        "HP",
        "EliteDesk",
        "retired",
        "Store Room",
        None,
        None,
        D("2018-04-04"),
        700.0,
    ),
    (
        8,
        "AT-008",
        "SN008",
        "srv-001",
        "DB server",
        "server",
        "Dell",
        "PowerEdge R750",
        "in_use",
        "DC1",
        "alice",
        "IT",
        D("2022-11-11"),
        12000.0,
    ),
    (
        9,
        "AT-009",
        "SN009",
        "srv-002",
        "App server",
        "server",
        "HPE",
        "ProLiant",
        "in_use",
        "DC1",
        "bob",
        "IT",
        D("2022-11-12"),
        9000.0,
    ),
    (
        10,
        "AT-010",
        "SN010",
        "srv-003",
        "Old server",
        "server",
        "HPE",
        "ProLiant",
        "retired",
        "DC1",
        None,
        "IT",
        D("2015-01-01"),
        None,
    ),
    (
        11,
        "AT-011",
        "SN011",
        "sw-001",
        "Core switch",
        "network",
        "Cisco",
        "Catalyst",
        "in_use",
        "DC1",
        "bob",
        "IT",
        D("2020-05-05"),
        4000.0,
    ),
    (
        12,
        "AT-012",
        "SN012",
        "fw-001",
        "Firewall",
        "network",
        "Fortinet",
        "FortiGate",
        "in_use",
        "DC1",
        None,
        "IT",
        D("2021-02-02"),
        3000.0,
    ),
    (
        13,
        "AT-013",
        "SN013",
        None,
        "Alice phone",
        "phone",
        "Apple",
        "iPhone 15",
        "in_use",
        None,
        "alice",
        "IT",
        D("2023-09-22"),
        800.0,
    ),
    (
        14,
        "AT-014",
        "SN014",
        None,
        "Bob phone",
        "phone",
        "Samsung",
        "Galaxy S24",
        "lost",
        None,
        "bob",
        "IT",
        D("2024-02-29"),
        700.0,
    ),
    (
        15,
        "AT-015",
        "SN015",
        None,
        "Erin phone",
        "phone",
        "Apple",
        "iPhone 14",
        "in_use",
        None,
        "erin",
        "Sales",
        D("2022-10-10"),
        600.0,
    ),
    (
        16,
        "AT-016",
        "SN016",
        None,
        "Frank tablet",
        "tablet",
        "Apple",
        "iPad",
        "in_use",
        "HQ",
        "frank",
        None,
        D("2023-06-06"),
        500.0,
    ),
    (
        17,
        "AT-017",
        "SN017",
        None,
        "Monitor A",
        "monitor",
        "Dell",
        "U2723",
        "in_use",
        "HQ",
        "carol",
        "Finance",
        D("2023-07-07"),
        400.0,
    ),
    (
        18,
        "AT-018",
        "SN018",
        None,
        "Monitor B",
        "monitor",
        "Dell",
        "U2723",
        "in_stock",
        "Store Room",
        None,
        None,
        D("2023-07-07"),
        400.0,
    ),
    (
        19,
        "AT-019",
        None,
        "vm-001",
        "Build VM",
        "virtual_machine",
        None,
        None,
        "in_use",
        "DC1",
        "bob",
        "IT",
        None,
        None,
    ),
    (
        20,
        "AT-020",
        None,
        "vm-002",
        "Test VM",
        "virtual_machine",
        None,
        None,
        "ordered",
        "DC1",
        None,
        "IT",
        None,
        None,
    ),
]

T = datetime.fromisoformat
EXTRA: dict[int, dict[str, Any]] = {
    1: {
        "last_seen": T("2024-05-01T10:00:00+00:00"),
        "attributes": {"ram_gb": 16, "gpu": False},
        "mac_addresses": ["aa:bb:cc:00:00:01"],
        "os": "Windows 11",
    },
    2: {
        "last_seen": T("2024-05-02T09:30:00+02:00"),
        "mac_addresses": ["aa:bb:cc:00:00:02", "aa:bb:cc:00:00:22"],
        "os": "Windows 11",
    },
    3: {"attributes": {"ram_gb": 32}, "os": "macOS 14"},
    8: {
        "last_seen": T("2024-04-30T23:00:00+00:00"),
        "attributes": {"rack": "R1", "u": 4},
        "mac_addresses": ["aa:bb:cc:00:00:08"],
        "os": "Ubuntu 22.04",
    },
}

ASSET_COLUMNS = [
    "id", "asset_tag", "serial_number", "hostname", "name", "category", "manufacturer",
    "model", "status", "location_id", "assigned_to_id", "department", "purchase_date", "cost",
]  # fmt: skip


def frames() -> dict[str, pd.DataFrame]:
    assets = []
    for row in ASSETS:
        n, *rest = row
        record = dict(zip(ASSET_COLUMNS, [aid(n), *rest], strict=True))
        record["location_id"] = lid(record["location_id"]) if record["location_id"] else None
        person = record["assigned_to_id"]
        record["assigned_to_id"] = pid(person) if person else None
        record["cost_currency"] = "USD" if record["cost"] is not None else None
        extra = dict(EXTRA.get(n, {}))
        if "attributes" in extra:
            extra["attributes"] = json.dumps(extra["attributes"])
        record.update(extra)
        assets.append(record)
    people = [
        {
            "id": pid(key),
            "email": email,
            "name": name,
            "department": dept,
            "employment_status": status,
            "manager_id": pid(manager) if manager else None,
        }
        for key, email, name, dept, status, manager in PEOPLE
    ]
    locations = [
        {"id": lid(name), "name": name, "site": site, "city": city, "country": country}
        for name, site, city, country in LOCATIONS
    ]
    fetched = datetime(2024, 5, 3, 8, 0, tzinfo=UTC)
    record_sources = [
        ("assets", aid(1), "cmdb", "c-1", fetched),
        ("assets", aid(1), "intune", "i-1", fetched),
        ("assets", aid(2), "cmdb", "c-2", fetched),
    ]
    provenance = [
        ("assets", aid(1), "cost", "cmdb", "c-1", "1500", fetched),
        ("assets", aid(1), "hostname", "intune", "i-1", '"lap-001"', fetched),
        ("assets", aid(2), "cost", "cmdb", "c-2", "1500", fetched),
    ]
    conflicts = [
        ("assets", aid(1), "cost", "cmdb", "c-1", "1500"),
        ("assets", aid(1), "cost", "sheet", "s-1", "1450"),
        ("assets", aid(1), "hostname", "intune", "i-1", '"lap-001"'),
        ("assets", aid(1), "hostname", "cmdb", "c-1", '"LAP-001"'),
    ]
    status = [
        ("cmdb", "sql", "ok", fetched, fetched, 20, False, None),
        ("intune", "msgraph", "ok", fetched, fetched, 2, False, None),
        ("sheet", "excel", "failed", fetched, datetime(2024, 5, 1, tzinfo=UTC), 1, True,
         "connection refused"),
    ]  # fmt: skip
    quarantine = [
        ("sheet", "assets", "r-9", "purchase_date: not a date", '{"purchase_date": "31/02/2023"}',
         datetime(2024, 5, 3, 8, 0, tzinfo=UTC)),
        ("sheet", "assets", "r-10", "cost: not a number", '{"cost": "lots"}',
         datetime(2024, 5, 3, 8, 1, tzinfo=UTC)),
        ("cmdb", "people", "c-99", "email: missing", '{"name": "Nobody"}',
         datetime(2024, 5, 3, 7, 0, tzinfo=UTC)),
    ]  # fmt: skip
    ambiguities = [
        ("assets", "cmdb", "c-50", "serial_number", [aid(1), aid(2)], "matched two assets"),
    ]
    # values blanked in merged records: (source, record id, field, value, reason); c-1 and
    # i-1 merged into asset 1, c-2 into asset 2, h-7 into no asset of this estate (a person)
    notes = [
        ("cmdb", "assets", "c-1", "purchase_date", '"31/31/24"', "cannot read '31/31/24' as a date"),
        ("intune", "assets", "i-1", "cost", '"lots"', "cannot read 'lots' as an amount"),
        ("cmdb", "assets", "c-1", "attributes", '"ram=16"', "not a JSON object"),
        ("cmdb", "assets", "c-2", "status", '"Shredded?"', "unknown status 'Shredded?'"),
        ("cmdb", "assets", "c-2", "cost", '"TBD"', "cannot read 'TBD' as an amount"),
        ("hr", "people", "h-7", "employment_status", '"sabbatical"',
         "unknown employment status 'sabbatical'"),
    ]  # fmt: skip
    merged = {"c-1": aid(1), "i-1": aid(1), "c-2": aid(2)}
    quality = [(*n, datetime(2024, 5, 3, 8, 0, tzinfo=UTC)) for n in notes]
    record_quality = [(e, merged[r], f, s, r, v, why) for s, e, r, f, v, why in notes if r in merged]
    quality_summary = [
        ("cmdb", "assets", "cost", "cannot read … as an amount", 1),
        ("intune", "assets", "cost", "cannot read … as an amount", 1),
        ("cmdb", "assets", "status", "unknown status …", 1),
        ("cmdb", "assets", "purchase_date", "cannot read … as a date", 1),
        ("cmdb", "assets", "attributes", "not a JSON object", 1),
        ("hr", "people", "employment_status", "unknown employment status …", 1),
    ]

    def frame(rows: list[tuple[Any, ...]], columns: str) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=columns.split())

    return {
        "assets": pd.DataFrame(assets),
        "people": pd.DataFrame(people),
        "locations": pd.DataFrame(locations),
        "record_sources": frame(record_sources, "entity entity_id source record_id fetched_at"),
        "provenance": frame(provenance, "entity entity_id field source record_id value fetched_at"),
        "conflicts": frame(conflicts, "entity entity_id field source record_id value"),
        "source_status": frame(
            status,
            "name kind status last_sync_at last_success_at record_count stale error",
        ),
        "quarantine": frame(quarantine, "source entity record_id reason raw quarantined_at"),
        "ambiguities": frame(ambiguities, "entity source record_id rule candidate_ids reason"),
        "quality": frame(quality, "source entity record_id field value reason noted_at"),
        "record_quality": frame(record_quality, "entity entity_id field source record_id value reason"),
        "quality_summary": frame(quality_summary, "source entity field reason count"),
    }


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    Publisher(root).publish(frames())
    return root


@pytest.fixture(scope="session")
def schema() -> Any:
    return build_schema()


class Runner:
    def __init__(self, root: Path, schema: Any, server: ServerConfig | None = None) -> None:
        self.reader = StoreReader(root)
        self.schema = schema
        self.server = server or ServerConfig()
        self.access = unrestricted()
        self.ctx: RequestContext | None = None

    def context(self) -> RequestContext:
        snapshot = self.reader.current()
        assert snapshot is not None
        return RequestContext(
            snapshot=snapshot, server=self.server, actor={"role": "admin"}, access=self.access
        )

    def result(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        self.ctx = self.context()
        return decoded(self.schema.execute_sync(query, variables, context_value=self.ctx))

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.result(query, variables)
        assert result.errors is None, result.errors
        return result.data

    def error(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        result = self.result(query, variables)
        assert result.errors, result.data
        return result.errors[0]


@pytest.fixture
def run(store: Path, schema: Any) -> Runner:
    return Runner(store, schema)
