"""A messy estate, as a new user exported it (issue 11), with the truth of what it holds.

Four sources describe one set of machines and people:

- `hr` (CSV, UTF-8): people with Unicode names and internationalised emails
  (`user78.müller@example.com`, `…@exämple.de`), their name in two columns, their manager's
  email;
- `inventory` (CSV in Mac Roman, as Excel for Mac saves it): one `Name` column that holds the
  host name of computers and network gear but the model name of monitors and phones;
  network gear has no serial: only its host name and manufacturer name it;
- `network` (the network team's SQLite database): the same network devices by upper-case
  FQDN and a short vendor name;
- `finance` (CSV, UTF-8): asset tag, serial, cost and purchase date of everything it paid for.

Bad values are planted in known cells, and `MessyEstate` says which: `planted` (values of
ordinary fields, which must be blanked with a quality note, the record still merging) and
`planted_identity` (values the record is identified by, which must quarantine their row).
Everything else is valid, so a note or a quarantine entry not listed here is a bug.
Nothing here is read from the code under test: the truth is the generator's own.
"""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FIRST = ("Zoë", "José", "Anna", "Björn", "Chloé", "Søren", "Inès", "Łukasz", "Ngọc", "Aiko", "Liam", "Maya")
#: in emails, which the Mac Roman inventory also holds: letters Mac Roman can write
LAST = ("Müller", "Ñúñez", "O'Brien", "Schröder", "Weiß", "Çelik", "Jäger", "Nørgaard", "Smith", "Lefèvre")
DEPARTMENTS = ("Engineering", "Sales", "Finance", "IT", "Operations")
#: category → (inventory word, share of machines)
CATEGORIES = {
    "laptop": ("Laptop", 0.40),
    "desktop": ("Desktop", 0.18),
    "server": ("Server", 0.08),
    "network": ("Switch", 0.14),
    "monitor": ("Monitor", 0.12),
    "phone": ("Phone", 0.08),
}
COMPUTERS = ("laptop", "desktop", "server")
#: category → (manufacturer as the inventory writes it, its canonical name, models)
MAKERS = {
    "laptop": [("Dell Inc.", "Dell", ("Latitude 7440", "XPS 13")), ("LENOVO", "Lenovo", ("ThinkPad T14",))],
    "desktop": [("HP", "HP", ("EliteDesk 800 G6",)), ("Dell Inc.", "Dell", ("OptiPlex 7010",))],
    "server": [("Dell Inc.", "Dell", ("PowerEdge R650",))],
    "network": [("Cisco Systems, Inc.", "Cisco", ("Catalyst 9300",)),
                ("Juniper Networks", "Juniper", ("EX4400",))],
    "monitor": [("Dell Inc.", "Dell", ("Dell P2419H", "Dell U2723QE")),
                ("LG Electronics", "LG", ("LG 27UK850-W",))],
    "phone": [("Apple Inc.", "Apple", ("iPhone 15", "iPhone 14 Pro")),
              ("Samsung", "Samsung", ("Galaxy S23",))],
}  # fmt: skip
#: the network team's short vendor name per canonical manufacturer
NETWORK_VENDOR = {"Cisco": "Cisco", "Juniper": "JUNIPER"}
HOST_PREFIX = {"laptop": "lt", "desktop": "dt", "server": "srv", "network": "sw"}

#: the bad values planted, per (source, field): a cell no normaliser can read
BAD = {
    ("inventory", "purchase_date"): ["31/31/2024", "soon", "2024-13-45"],
    ("inventory", "cost"): ["TBD", "12,34,56", "lots"],
    ("inventory", "status"): ["Shredded?", "gone fishing"],
    ("inventory", "assigned_to"): ["x@y", "nobody@nowhere"],
    ("inventory", "category"): ["Toaster"],
    ("network", "ip_addresses"): ["10.0.0.999", "fe80::zz"],
    ("network", "status"): ["Shredded?"],
    ("finance", "cost"): ["TBD", "n/a €"],
    ("finance", "purchase_date"): ["31/02/2023"],
    ("hr", "manager"): ["boss@nowhere"],
}
#: the column of each planted field in its source
COLUMN = {
    ("inventory", "purchase_date"): "Purchased",
    ("inventory", "cost"): "Cost",
    ("inventory", "status"): "Status",
    ("inventory", "assigned_to"): "User",
    ("inventory", "category"): "Category",
    ("network", "ip_addresses"): "mgmt_ip",
    ("network", "status"): "state",
    ("finance", "cost"): "Cost",
    ("finance", "purchase_date"): "Purchase Date",
    ("hr", "manager"): "Manager",
}


@dataclass(frozen=True)
class Machine:
    key: int
    category: str
    manufacturer: str  # canonical
    maker_text: str  # as the inventory writes it
    model: str
    serial: str | None
    asset_tag: str | None
    hostname: str | None
    mac: str | None
    assignee: str | None  # email


@dataclass
class MessyEstate:
    folder: Path
    people: list[dict[str, str]]
    machines: list[Machine]
    #: (source, entity, record id, field, the cell as written) of every planted bad value
    #: of an ordinary field: each must come back as a quality note, its record merged
    planted: set[tuple[str, str, str, str, str]] = field(default_factory=set)
    #: (source, entity, record id, field) of every planted bad identity value: its row
    #: must be quarantined, and no other
    planted_identity: set[tuple[str, str, str, str]] = field(default_factory=set)
    #: record ids per source of each machine (machine key → {source: record id})
    records: dict[int, dict[str, str]] = field(default_factory=dict)

    def config(self, **extra: Any) -> dict[str, Any]:
        """config.yaml for the estate (paths relative to its folder)."""
        computers = ["laptop", "desktop", "server", "network"]
        return {
            "store": {"path": "store"},
            "sources": [
                {
                    "name": "hr",
                    "kind": "spreadsheet",
                    "path": "hr.csv",
                    "entities": {
                        "people": {
                            "id": "Employee ID",
                            "fields": {
                                "email": "Email",
                                "name": {"template": "{First Name} {Last Name}"},
                                "department": "Department",
                                "manager": "Manager",
                            },
                        }
                    },
                },
                {
                    "name": "inventory",
                    "kind": "spreadsheet",
                    "path": "inventory.csv",
                    "entities": {
                        "assets": {
                            "id": "Inventory ID",
                            "fields": {
                                "category": "Category",
                                # one column, two meanings: host name of computers, model of the rest
                                "hostname": {
                                    "column": "Name",
                                    "when": {"field": "category", "in": computers},
                                },
                                "model": {
                                    "column": "Name",
                                    "when": {"field": "category", "in": ["monitor", "phone"]},
                                },
                                "manufacturer": "Manufacturer",
                                "serial_number": "Serial",
                                "mac_addresses": "MAC",
                                "purchase_date": "Purchased",
                                "cost": "Cost",
                                "assigned_to": "User",
                                "status": "Status",
                            },
                        }
                    },
                },
                {
                    "name": "network",
                    "kind": "sql",
                    "url": "sqlite:///network.sqlite",
                    "entities": {
                        "assets": {
                            "table": "devices",
                            "id": "device_id",
                            "fields": {
                                "hostname": "hostname",
                                "manufacturer": "vendor",
                                "model": "model",
                                "ip_addresses": "mgmt_ip",
                                "status": "state",
                                "category": {"value": "network"},
                            },
                        }
                    },
                },
                {
                    "name": "finance",
                    "kind": "spreadsheet",
                    "path": "finance.csv",
                    "entities": {
                        "assets": {
                            "id": "Asset Tag",
                            "fields": {
                                "asset_tag": "Asset Tag",
                                "serial_number": "Serial",
                                "cost": "Cost",
                                "purchase_date": {"column": "Purchase Date", "format": "%Y-%m-%d"},
                            },
                        }
                    },
                },
            ],
            **extra,
        }


def make_messy_estate(folder: Path, machines: int = 300, seed: int = 11) -> MessyEstate:
    """Write the four sources into `folder` and return their truth."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    people = _people(rng, max(20, machines // 2))
    estate = MessyEstate(folder, people, _machines(rng, machines, people))
    bad = _plant(rng, estate)
    _write_hr(estate, bad)
    _write_inventory(estate, bad, rng)
    _write_network(estate, bad)
    _write_finance(estate, bad)
    return estate


def _people(rng: np.random.Generator, n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST) + i) % len(LAST)]
        local = f"user{i}.{last.lower().replace(' ', '')}"
        domain = "exämple.de" if i % 7 == 3 else "example.com"  # an internationalised domain
        out.append(
            {
                "id": f"E{i:04d}",
                "first": first,
                "last": last,
                "email": f"{local}@{domain}",
                "department": DEPARTMENTS[int(rng.integers(len(DEPARTMENTS)))],
            }
        )
    for i, person in enumerate(out):  # the first person manages everyone else
        person["manager"] = out[0]["email"] if i else ""
    return out


def _machines(rng: np.random.Generator, n: int, people: list[dict[str, str]]) -> list[Machine]:
    names = list(CATEGORIES)
    shares = np.array([CATEGORIES[c][1] for c in names])
    picked = rng.choice(len(names), size=n, p=shares / shares.sum())
    out = []
    counters: dict[str, int] = {}
    for key, index in enumerate(picked):
        category = names[index]
        text, canonical, models = MAKERS[category][int(rng.integers(len(MAKERS[category])))]
        counters[category] = counters.get(category, 0) + 1
        number = counters[category]
        network = category == "network"
        prefix = HOST_PREFIX.get(category)
        hostname = f"{prefix}-{'core' if network else ''}{number:04d}".replace("--", "-") if prefix else None
        user = category in ("laptop", "desktop", "phone", "monitor") and rng.random() < 0.8
        out.append(
            Machine(
                key=key,
                category=category,
                manufacturer=canonical,
                maker_text=text,
                model=models[int(rng.integers(len(models)))],
                serial=None if network else f"{canonical[:2].upper()}{key:06d}X{int(rng.integers(10, 99))}",
                asset_tag=None if network else f"AT-{key:05d}",
                hostname=hostname,
                mac=":".join(
                    f"{b:02x}" for b in (0x02, 0x1A, key >> 16 & 255, key >> 8 & 255, key & 255, 0x01)
                )
                if category in COMPUTERS
                else None,
                assignee=people[int(rng.integers(len(people)))]["email"] if user else None,
            )
        )
    return out


def _plant(rng: np.random.Generator, estate: MessyEstate) -> dict[tuple[str, str], dict[str, str]]:
    """(source, record id) → {column: bad cell}; fills `planted` and `planted_identity`."""
    bad: dict[tuple[str, str], dict[str, str]] = {}
    computers = [m for m in estate.machines if m.category in COMPUTERS]
    in_inventory = [m for m in estate.machines if _in_inventory(m)]
    network = [m for m in estate.machines if m.category == "network"]
    paid = [m for m in estate.machines if m.asset_tag is not None]
    pools = {"inventory": in_inventory, "network": network, "finance": paid}
    used: set[tuple[str, int]] = set()
    for (source, fld), cells in BAD.items():
        for cell in cells:
            if source == "hr":
                person = estate.people[1 + int(rng.integers(len(estate.people) - 1))]
                bad.setdefault(("hr", person["id"]), {})[COLUMN[source, fld]] = cell
                estate.planted.add(("hr", "people", person["id"], fld, cell))
                continue
            candidates = [m for m in pools[source] if (source, m.key) not in used]
            if fld == "assigned_to":  # a cell that has an assignee in the other rows
                candidates = [m for m in candidates if m.assignee is not None]
            if fld == "category":  # without a category the Name column maps to nothing: keep a serial
                candidates = [m for m in candidates if m.serial is not None]
            machine = candidates[int(rng.integers(len(candidates)))]
            used.add((source, machine.key))
            record = _record_id(source, machine)
            bad.setdefault((source, record), {})[COLUMN[source, fld]] = cell
            estate.planted.add((source, "assets", record, fld, cell))
    # two serials that Excel mangled: identity values, so their inventory rows are held back
    for machine in [m for m in computers if _in_inventory(m) and ("inventory", m.key) not in used][:2]:
        used.add(("inventory", machine.key))
        record = _record_id("inventory", machine)
        bad.setdefault(("inventory", record), {})["Serial"] = "6.37702E+15"
        estate.planted_identity.add(("inventory", "assets", record, "serial_number"))
    for machine in estate.machines:
        estate.records[machine.key] = {
            s: _record_id(s, machine)
            for s, ok in (
                ("inventory", _in_inventory(machine)),
                ("network", machine.category == "network"),
                ("finance", machine.asset_tag is not None),
            )
            if ok
        }
    return bad


def _in_inventory(machine: Machine) -> bool:
    return machine.key % 10 != 7  # the inventory misses a tenth of the machines


def _record_id(source: str, machine: Machine) -> str:
    if source == "inventory":
        return f"INV-{machine.key:05d}"
    if source == "network":
        return str(1000 + machine.key)
    return str(machine.asset_tag)


def _write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str, newline: str = "\n"
) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)


def _write_hr(estate: MessyEstate, bad: dict[tuple[str, str], dict[str, str]]) -> None:
    header = ["Employee ID", "First Name", "Last Name", "Email", "Department", "Manager"]
    rows = []
    for p in estate.people:
        cells = {"Manager": p["manager"], **bad.get(("hr", p["id"]), {})}
        rows.append([p["id"], p["first"], p["last"], p["email"], p["department"], cells["Manager"]])
    _write_csv(estate.folder / "hr.csv", header, rows, "utf-8")


def _write_inventory(
    estate: MessyEstate, bad: dict[tuple[str, str], dict[str, str]], rng: np.random.Generator
) -> None:
    header = ["Inventory ID", "Name", "Category", "Manufacturer", "Serial", "MAC", "Purchased", "Cost",
              "User", "Status"]  # fmt: skip
    rows = []
    for m in estate.machines:
        if not _in_inventory(m):
            continue
        record = _record_id("inventory", m)
        day = 1 + m.key % 28
        cells = {
            "Name": m.hostname if m.hostname is not None else m.model,
            "Category": CATEGORIES[m.category][0],
            "Manufacturer": m.maker_text,
            "Serial": m.serial or "",
            "MAC": (m.mac or "").upper().replace(":", "-"),
            "Purchased": f"{1 + m.key % 12:02d}/{day:02d}/2023",
            "Cost": f"${500 + m.key * 7:,}.00",
            "User": m.assignee or "",
            "Status": "In Use" if m.assignee else "In Stock",
            **bad.get(("inventory", record), {}),
        }
        rows.append([record, *(cells[h] for h in header[1:])])
    # Excel for Mac: Mac Roman, CR line ends
    _write_csv(estate.folder / "inventory.csv", header, rows, "mac_roman", newline="\r")


def _write_network(estate: MessyEstate, bad: dict[tuple[str, str], dict[str, str]]) -> None:
    path = estate.folder / "network.sqlite"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE devices (device_id INTEGER PRIMARY KEY, hostname TEXT, vendor TEXT, model TEXT, "
            "mgmt_ip TEXT, state TEXT)"
        )
        rows = []
        for m in estate.machines:
            if m.category != "network":
                continue
            record = _record_id("network", m)
            cells = {"mgmt_ip": f"10.20.{m.key >> 8 & 255}.{m.key & 255}", "state": "active",
                     **bad.get(("network", record), {})}  # fmt: skip
            fqdn = f"{m.hostname}.corp.example.com".upper()
            rows.append(
                (int(record), fqdn, NETWORK_VENDOR[m.manufacturer], m.model, cells["mgmt_ip"], cells["state"])
            )
        con.executemany("INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.close()


def _write_finance(estate: MessyEstate, bad: dict[tuple[str, str], dict[str, str]]) -> None:
    header = ["Asset Tag", "Serial", "Cost", "Purchase Date"]
    rows = []
    for m in estate.machines:
        if m.asset_tag is None:
            continue
        bought = f"2023-{1 + m.key % 12:02d}-{1 + m.key % 28:02d}"
        cells = {
            "Cost": f"{480 + m.key * 7}.50",
            "Purchase Date": bought,
            **bad.get(("finance", m.asset_tag), {}),
        }
        rows.append([m.asset_tag, m.serial or "", cells["Cost"], cells["Purchase Date"]])
    _write_csv(estate.folder / "finance.csv", header, rows, "utf-8")
