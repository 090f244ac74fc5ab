"""A small estate that changes at random, for comparing publishes: devices and people, which of
four CSV sources (a CMDB, an inventory agent, finance, HR) knows what of each, and the changes
a round makes (values, identity keys that merge or split machines, records going and coming,
emails that assets point at, managers)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from federation.config.settings import Config, parse_config

MAKERS = ["Dell Inc.", "LENOVO", "HP", "Apple Inc."]
STATUSES = ["in use", "in stock", "in repair", "retired"]


@dataclass
class Estate:
    """Devices and people, and which source knows what of each."""

    rng: random.Random
    devices: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)

    def new_device(self) -> dict[str, Any]:
        i = len(self.devices)
        device = {
            "serial": f"SN{i:05d}",
            "tag": f"P{i:05d}",
            "macs": [f"aa:bb:cc:00:{i // 256:02x}:{i % 256:02x}"],
            "host": f"host-{i:04d}",
            "maker": self.rng.choice(MAKERS),
            "status": self.rng.choice(STATUSES),
            "cost": round(self.rng.uniform(300, 3000), 2),
            "owner": self.rng.randrange(max(len(self.people), 1)),
            "site": f"Site {self.rng.randrange(5)}",
            "in": {s for s in ("cmdb", "inventory", "finance") if self.rng.random() < 0.75} or {"cmdb"},
        }
        self.devices.append(device)
        return device

    def new_person(self) -> None:
        i = len(self.people)
        self.people.append(
            {
                "email": f"user{i}@example.com",
                "login": f"user{i}",
                "manager": f"user{self.rng.randrange(i)}@example.com" if i else "",
                "dept": self.rng.choice(["IT", "Sales", "Ops"]),
                "gone": False,
            }
        )

    def write(self, folder: Path) -> None:
        def rows(source: str) -> list[dict[str, Any]]:
            return [d for d in self.devices if source in d["in"]]

        people = self.people
        _csv(
            folder / "cmdb.csv",
            ["sys_id", "tag", "serial", "name", "maker", "status", "owner", "site"],
            [
                [
                    f"c{i}",
                    d["tag"],
                    d["serial"],
                    d["host"],
                    d["maker"],
                    d["status"],
                    _owner(people, d),
                    d["site"],
                ]
                for i, d in enumerate(self.devices)
                if "cmdb" in d["in"]
            ],
        )
        _csv(
            folder / "inventory.csv",
            ["device", "serial", "macs", "host", "maker", "status"],
            [
                # the inventory writes serials in lower case, padded: identity ignores both
                [
                    f"i{self.devices.index(d)}",
                    f" {d['serial'].lower()} ",
                    ";".join(d["macs"]),
                    d["host"],
                    d["maker"],
                    d["status"],
                ]
                for d in rows("inventory")
            ],
        )
        _csv(
            folder / "finance.csv",
            ["tag", "cost", "holder"],
            [[d["tag"], d["cost"], _owner(people, d, by="login")] for d in rows("finance")],
        )
        _csv(
            folder / "hr.csv",
            ["email", "login", "manager", "dept"],
            [[p["email"], p["login"], p["manager"], p["dept"]] for p in people if not p["gone"]],
        )

    def change(self, n: int) -> list[str]:
        """Change `n` things; return what was done (for a failure's message)."""
        done = []
        for _ in range(n):
            kind = self.rng.choice(
                [
                    "value",
                    "value",
                    "gone",
                    "new",
                    "merge",
                    "split",
                    "clash",
                    "email",
                    "alias",
                    "manager",
                    "mac",
                    "person",
                ]
            )
            d = self.rng.choice(self.devices)
            if kind == "value":
                d["status"], d["cost"] = self.rng.choice(STATUSES), round(self.rng.uniform(300, 3000), 2)
            elif kind == "gone":
                d["in"].discard(self.rng.choice(sorted(d["in"])))
            elif kind == "new":
                self.new_device()
            elif kind == "merge":  # the inventory now says another machine's serial
                other = self.rng.choice(self.devices)
                d["serial"] = other["serial"]
                d["in"] = {"inventory"}
            elif kind == "clash":  # another machine's tag: the serials differ, so not merged
                d["tag"] = self.rng.choice(self.devices)["tag"]
            elif kind == "split":  # one source's tag now differs
                d["tag"] = f"X{self.rng.randrange(10**6):06d}"
            elif kind == "email":
                p = self.rng.choice(self.people)
                p["email"] = f"{p['login']}.{self.rng.randrange(100)}@example.com"
            elif kind == "alias":  # HR gives someone another's email: two people merge, and
                # the login finance names the first by now points at the merged person
                p = self.rng.choice(self.people)
                p["email"] = f"user{self.rng.randrange(len(self.people))}@example.com"
            elif kind == "manager":
                p = self.rng.choice(self.people)
                p["manager"] = self.rng.choice(self.people)["email"]
            elif kind == "mac":  # a second network card: the MAC rule stops vetoing merges
                d["macs"] = [
                    *d["macs"],
                    f"aa:bb:cc:ff:{self.rng.randrange(256):02x}:{self.rng.randrange(256):02x}",
                ]
            else:
                self.rng.choice(self.people)["gone"] = True
            done.append(f"{kind} {d['tag']}")
        return done


def _owner(people: list[dict[str, Any]], device: dict[str, Any], by: str = "email") -> str:
    """Who holds the device, as the asset sources name them: the CMDB by the email the person
    was hired with, finance by login; HR's record may since say another email."""
    return f"user{device['owner']}@example.com" if by == "email" else f"user{device['owner']}"


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def estate_config(folder: Path) -> Config:
    def sheet(name: str, entity: str, id_: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "kind": "spreadsheet",
            "path": str(folder / f"{name}.csv"),
            "entities": {entity: {"id": id_, "fields": fields}},
        }

    raw = {
        "store": {"path": str(folder / "store")},
        "sources": [
            sheet(
                "cmdb",
                "assets",
                "sys_id",
                {
                    "asset_tag": "tag",
                    "serial_number": "serial",
                    "hostname": "name",
                    "manufacturer": "maker",
                    "status": "status",
                    "assigned_to": "owner",
                    "location": "site",
                },
            ),
            sheet(
                "inventory",
                "assets",
                "device",
                {
                    "serial_number": "serial",
                    "mac_addresses": "macs",
                    "hostname": "host",
                    "manufacturer": "maker",
                    "status": "status",
                },
            ),
            sheet(
                "finance",
                "assets",
                "tag",
                {"asset_tag": "tag", "cost": {"column": "cost", "currency": "EUR"}, "assigned_to": "holder"},
            ),
            sheet(
                "hr",
                "people",
                "login",
                {"email": "email", "username": "login", "manager": "manager", "department": "dept"},
            ),
        ],
    }
    return parse_config(raw, base_dir=folder)


def new_world(folder: Path, devices: int = 200, people: int = 40) -> Estate:
    world = Estate(random.Random(7))
    for _ in range(people):
        world.new_person()
    for _ in range(devices):
        world.new_device()
    # one machine with two network cards from the start: the MAC rule merges but never vetoes
    # (test_a_rule_turning_weak_merges_everything covers the change)
    world.devices[0]["macs"].append("aa:bb:cc:ee:00:01")
    world.devices[0]["in"].add("inventory")
    world.write(folder)
    return world
