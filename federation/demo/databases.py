"""The demo's databases: the ServiceNow-like CMDB and the endpoint team's own store.

Each writer draws its quirks from its own seeded generator (changing one source does not
reshuffle the others), writes a fresh SQLite file under a temporary name and renames it into
place, and returns the figures it built in (recorded in the demo's marker file).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from federation.demo.estate import (
    BASE_DATE,
    LOCATIONS,
    SHORT_MAKER,
    Estate,
    select,
    source_rng,
    stamps,
    values,
)

CMDB_STATUS = {"in_use": "1", "ordered": "2", "in_repair": "3", "in_stock": "6", "retired": "7",
               "lost": "8"}  # fmt: skip
CMDB_MAKER = {"dell": "Dell Inc.", "hp": "Hewlett-Packard", "lenovo": "LENOVO",
              "apple": "Apple Inc."}  # fmt: skip
CMDB_CATEGORY = {"laptop": "Laptop", "desktop": "Desktop", "server": "Server", "tablet": "Tablet",
                 "monitor": "Monitor", "network": "Network Gear"}  # fmt: skip
ENDPOINT_STATUS = {"in_use": "Deployed", "in_stock": "Ready to Deploy",
                   "in_repair": "Pending Diagnostics", "retired": "Archived", "lost": "Lost",
                   "ordered": "Ordered"}  # fmt: skip
#: people on the endpoint team's books whom the CMDB has never heard of
CONTRACTORS = (("Ana Ribeiro", "Operations"), ("Tariq Haddad", "Engineering"),
               ("Mia Lindqvist", "Marketing"), ("Paulo Sérgio", "Engineering"),
               ("Chen Wei", "IT"))  # fmt: skip


def _sql_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return "INTEGER"
    return "REAL" if pd.api.types.is_float_dtype(series) else "TEXT"


#: the change stamp each demo database keeps up to date itself (as ServiceNow does with
#: sys_updated_on), so a write through the gateway is read again by the next incremental sync
_STAMPS = {"sys_updated_on": "%Y-%m-%d %H:%M:%S", "updated_at": "%Y-%m-%dT%H:%M:%SZ"}


def _column(frame: pd.DataFrame, column: str, key: str) -> str:
    sql = f'"{column}" {_sql_type(frame[column])}'
    if column == key and _sql_type(frame[column]) == "TEXT":
        # a new record gets an id as the tools do (ServiceNow: 32 hex digits)
        return sql + " PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(16))))"
    if column == key:
        return sql + " PRIMARY KEY"
    if column in _STAMPS:
        return sql + f" DEFAULT (strftime('{_STAMPS[column]}', 'now'))"
    return sql


def write_sqlite(path: Path, tables: dict[str, tuple[pd.DataFrame, str]]) -> None:
    """Tables (frame, primary key) into a fresh SQLite file, swapped in by rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        for name, (frame, key) in tables.items():
            cols = ", ".join(_column(frame, c, key) for c in frame.columns)
            con.execute(f'CREATE TABLE "{name}" ({cols})')
            for stamp, fmt in _STAMPS.items():
                if stamp in frame.columns:
                    con.execute(
                        f'CREATE TRIGGER "{name}__{stamp}" AFTER UPDATE ON "{name}" '
                        f'WHEN NEW."{stamp}" IS OLD."{stamp}" BEGIN '
                        f"UPDATE \"{name}\" SET \"{stamp}\" = strftime('{fmt}', 'now') "
                        f'WHERE "{key}" = NEW."{key}"; END'
                    )
            rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False)
            marks = ", ".join("?" * frame.shape[1])
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', (tuple(r) for r in rows))
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------- CMDB


def write_cmdb(estate: Estate, path: Path) -> dict[str, Any]:
    rng = source_rng(estate, 1)
    people = estate.people
    a = estate.assets[estate.assets["in_cmdb"]]
    n, idx = len(a), a.index.to_numpy()
    form = rng.choice(3, size=n, p=[0.8, 0.05, 0.15])  # lower, UPPER, UPPER FQDN
    form[idx == 0] = 2
    name = [
        None if h is None else (h.upper() + ".CORP.EXAMPLE.COM" if f == 2 else h.upper() if f else h)
        for h, f in zip(values(a, "hostname"), form, strict=True)
    ]
    # serial typos: one record given another's serial (copied from the row above, say)
    serial = values(a, "serial").copy()
    k_dup = max(2, round(0.002 * len(estate.assets)))
    candidates = np.flatnonzero(idx >= 3)
    picked = rng.choice(candidates, size=2 * k_dup, replace=False)
    duplicates = []
    for victim, source in zip(picked[:k_dup], picked[k_dup:], strict=True):
        serial[victim] = serial[source]
        duplicates.append([a["asset_tag"].iat[victim], a["asset_tag"].iat[source], serial[source]])
    person = a["person"].to_numpy()
    emails = people["email"].to_numpy()
    discovered = pd.DatetimeIndex(a["last_seen"]) - pd.to_timedelta(
        rng.integers(0, 14 * 86400, size=n), unit="s"
    )
    never = (a["status"] == "ordered").to_numpy() | (a["category"] == "monitor").to_numpy()
    computers = pd.DataFrame(
        {
            "sys_id": _sys_ids(rng, n),
            "asset_tag": values(a, "asset_tag"),
            "serial_number": serial,
            "name": name,
            "model_category": a["category"].map(CMDB_CATEGORY).to_numpy(),
            "manufacturer": a["maker"].map(CMDB_MAKER).to_numpy(),
            "model_id": (a["maker"].map(SHORT_MAKER) + " " + a["model"]).to_numpy(),
            "install_status": a["status"].map(CMDB_STATUS).to_numpy(),
            "assigned_to": np.where(person >= 0, emails[np.maximum(person, 0)], None),
            "location": [LOCATIONS[i][0] for i in a["location"]],
            "department": a["department"].to_numpy(),
            "purchase_date": pd.DatetimeIndex(a["purchase"]).strftime("%Y-%m-%d"),
            "warranty_expiration": pd.DatetimeIndex(a["warranty"]).strftime("%Y-%m-%d"),
            "cost": a["usd_cost"].to_numpy(),
            "mac_address": values(a, "mac"),
            "ip_address": values(a, "ip"),
            "os": values(a, "os"),
            "last_discovered": np.where(never, None, discovered.strftime("%Y-%m-%d %H:%M:%S")),
            "sys_updated_on": stamps(BASE_DATE, rng.integers(3600, 120 * 86400, size=n), "%Y-%m-%d %H:%M:%S"),
        }
    )
    mixed = rng.random(len(people)) < 0.05
    mixed[:2] = False
    user_email = np.where(mixed, [e.title().replace("@Example.Com", "@Example.com") for e in emails], emails)
    managers = people["manager"].to_numpy()
    usernames = people["username"].to_numpy()
    users = pd.DataFrame(
        {
            "sys_id": _sys_ids(rng, len(people)),
            "user_name": usernames,
            "email": user_email,
            "name": people["name"].to_numpy(),
            "first_name": people["first"].to_numpy(),
            "last_name": people["last"].to_numpy(),
            "department": people["department"].to_numpy(),
            "location": [LOCATIONS[i][0] for i in people["location"]],
            "active": np.where(people["active"], "true", "false"),
            "manager": np.where(managers >= 0, usernames[np.maximum(managers, 0)], None),
            "sys_updated_on": stamps(
                BASE_DATE, rng.integers(3600, 200 * 86400, size=len(people)), "%Y-%m-%d %H:%M:%S"
            ),
        }
    )
    locations = pd.DataFrame(
        {
            "sys_id": _sys_ids(rng, len(LOCATIONS)),
            "name": [loc[0] for loc in LOCATIONS],
            "u_site_code": [loc[1] for loc in LOCATIONS],
            "city": [loc[2] for loc in LOCATIONS],
            "country": [loc[3] for loc in LOCATIONS],
            "sys_updated_on": "2026-01-05 09:00:00",
        }
    )
    write_sqlite(
        path,
        {
            "ci_computer": (computers, "sys_id"),
            "sys_user": (users, "sys_id"),
            "cmn_location": (locations, "sys_id"),
        },
    )
    held = person >= 0
    return {
        "assets": n,
        "people": len(users),
        "locations": len(locations),
        "fqdn_names": int((form == 2).sum()),
        "duplicate_serials": duplicates,
        "terminated_people": int((~people["active"]).sum()),
        "assets_held_by_terminated": int((~people["active"].to_numpy()[person[held]]).sum()),
    }


def _sys_ids(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.bytes(16 * n).hex()
    return [raw[i * 32 : (i + 1) * 32] for i in range(n)]


# ------------------------------------------------------------------------------ endpoint


def write_endpoint(estate: Estate, path: Path) -> dict[str, Any]:
    rng = source_rng(estate, 2)
    people = estate.people
    a = estate.assets[estate.assets["in_endpoint"]]
    n, idx = len(a), a.index.to_numpy()
    in_cmdb = a["in_cmdb"].to_numpy()
    status = a["status"].map(ENDPOINT_STATUS).to_numpy()
    disagree = select(rng, in_cmdb, round(0.04 * int(in_cmdb.sum())), forced=idx == 0)
    other = rng.choice(["Pending Diagnostics", "Lost", "Archived", "Ready to Deploy"], size=n)
    status = np.where(disagree, np.where(status == "Deployed", other, "Deployed"), status)
    status[idx == 0] = "Pending Diagnostics"
    tag = np.where((rng.random(n) < 0.10) & (idx >= 3), None, values(a, "asset_tag"))
    serial = values(a, "serial").copy()
    lower = (rng.random(n) < 0.03) & (idx >= 3)
    serial[lower] = [s.lower() for s in serial[lower]]
    person = a["person"].to_numpy()
    emails = np.where(person >= 0, people["email"].to_numpy()[np.maximum(person, 0)], None)
    contractor_rows = np.flatnonzero(~in_cmdb & (person >= 0))[: len(CONTRACTORS)]
    contractor_emails = [
        ".".join(nm.lower().replace("é", "e").split()) + "@contractors.example.net" for nm, _ in CONTRACTORS
    ]
    for row, email in zip(contractor_rows, contractor_emails, strict=False):
        emails[row] = email
    tablet = (a["category"] == "tablet").to_numpy()
    apple = (a["maker"] == "apple").to_numpy()
    cpu = np.where(
        apple,
        rng.choice(["Apple M2", "Apple M3", "Apple M3 Pro"], size=n),
        rng.choice(["Intel Core i5-1345U", "Intel Core i7-1365U", "Intel Core Ultra 7 165U"], n),
    )
    devices = pd.DataFrame(
        {
            "device_id": np.arange(1001, 1001 + n),
            "serial": serial,
            "asset_tag": tag,
            "hostname": values(a, "current_hostname"),
            "device_type": np.where(tablet, "Tablet", "Laptop"),
            "manufacturer": a["maker"].map(SHORT_MAKER).to_numpy(),
            "model": a["model"].to_numpy(),
            "status": status,
            "user_email": emails,
            "ram_gb": np.where(tablet, rng.choice([4, 8, 16], n), rng.choice([8, 16, 32, 64], n)),
            "cpu": cpu,
            "disk_gb": rng.choice([256, 512, 1024], size=n, p=[0.3, 0.5, 0.2]),
            "encryption": np.where(rng.random(n) < 0.93, "on", "off"),
            "last_checkin": pd.DatetimeIndex(a["last_seen"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": stamps(BASE_DATE, rng.integers(600, 60 * 86400, size=n), "%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    holders = np.unique(person[person >= 0])
    users = pd.DataFrame(
        {
            "email": list(people["email"].to_numpy()[holders]) + contractor_emails,
            # the team's tool shows "Last, First"
            "display_name": [f"{people['last'].iat[i]}, {people['first'].iat[i]}" for i in holders]
            + [f"{nm.split()[1]}, {nm.split()[0]}" for nm, _ in CONTRACTORS],
            "department": list(people["department"].to_numpy()[holders]) + [d for _, d in CONTRACTORS],
        }
    )
    write_sqlite(path, {"devices": (devices, "device_id"), "users": (users, "email")})
    return {
        "assets": n,
        "people": len(users),
        "status_disagreements": int(disagree.sum()),
        "missing_asset_tags": int(pd.isna(tag).sum()),
        "contractors": contractor_emails,
        "not_in_cmdb": int((~in_cmdb).sum()),
    }
