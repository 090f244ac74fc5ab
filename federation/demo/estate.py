"""The demo estate's ground truth: people, sites and assets, and which source knows which.

Everything comes from one seeded generator and a fixed base date, so the same seed and size
always give the same estate. The source writers (`databases.py`, `files.py`) render this truth
the way each source would, quirks included.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: "today" for the demo: every date is relative to it, never to the clock
BASE_DATE = pd.Timestamp("2026-11-01")

#: name, site code, city, country, legal entity currency
LOCATIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("New York HQ", "NYC", "New York", "United States", "USD"),
    ("Austin Office", "AUS", "Austin", "United States", "USD"),
    ("San Jose Data Center", "SJC", "San Jose", "United States", "USD"),
    ("London Office", "LON", "London", "United Kingdom", "GBP"),
    ("Berlin Office", "BER", "Berlin", "Germany", "EUR"),
    ("Munich Data Center", "MUC", "Munich", "Germany", "EUR"),
    ("Toronto Office", "TOR", "Toronto", "Canada", "USD"),
    ("Bengaluru Office", "BLR", "Bengaluru", "India", "USD"),
)
DATA_CENTERS = (2, 5)
BERLIN = 4

DEPARTMENTS = (
    "Engineering", "Sales", "Marketing", "Finance", "Human Resources",
    "IT", "Operations", "Legal", "Customer Support",
)  # fmt: skip

FIRST_NAMES = (
    "Zoë", "José", "Anna", "Liam", "Sofía", "Noah", "Chloé", "Lukas", "Maya", "Björn",
    "Emma", "Oliver", "Inès", "Mateo", "Hannah", "Raj", "Priya", "Søren", "Léa", "Ethan",
    "Olivia", "Jonas", "Amélie", "Daniel", "Fatima", "Marco", "Elena", "Kenji", "Aisha", "Tomás",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Ñúñez", "Smith", "García", "Schröder", "Johnson", "Dubois", "Patel", "Kowalski",
    "Jensen", "Brown", "Fernández", "Weiß", "Nguyen", "O'Brien", "Rossi", "Sharma", "Lefèvre",
    "Andersson", "Williams", "Becker", "Martínez", "Kim", "Hoffmann", "Çelik", "Taylor", "Wong",
    "Dahl", "Moreau", "Jäger",
)  # fmt: skip

#: category → probability in the estate (the rest of the universe is shaped from these)
CATEGORY_SHARE = {
    "laptop": 0.48, "desktop": 0.24, "server": 0.08,
    "tablet": 0.08, "monitor": 0.07, "network": 0.05,
}  # fmt: skip
CATEGORIES = tuple(CATEGORY_SHARE)

#: category → (manufacturer key, model, low cost, high cost) in USD
CATALOG: dict[str, tuple[tuple[str, str, int, int], ...]] = {
    "laptop": (
        ("dell", "Latitude 7440", 1200, 1900),
        ("dell", "XPS 13 9340", 1300, 2100),
        ("hp", "EliteBook 840 G10", 1100, 1800),
        ("lenovo", "ThinkPad X1 Carbon Gen 11", 1500, 2400),
        ("lenovo", "ThinkPad T14 Gen 4", 1000, 1600),
        ("apple", "MacBook Pro 14 M3", 1900, 2900),
        ("apple", "MacBook Air 13 M2", 1000, 1500),
    ),
    "desktop": (
        ("dell", "OptiPlex 7010", 700, 1300),
        ("hp", "EliteDesk 800 G9", 800, 1400),
        ("lenovo", "ThinkCentre M90q Gen 4", 750, 1250),
        ("apple", "iMac 24 M3", 1300, 1900),
    ),
    "server": (
        ("dell", "PowerEdge R760", 8000, 18000),
        ("hp", "ProLiant DL380 Gen11", 7000, 16000),
        ("lenovo", "ThinkSystem SR650 V3", 6500, 15000),
    ),
    "tablet": (
        ("apple", "iPad Pro 11", 800, 1300),
        ("lenovo", "Tab P12", 350, 550),
        ("dell", "Latitude 7350 Detachable", 1300, 1800),
    ),
    "monitor": (
        ("dell", "P2422H", 180, 320),
        ("hp", "E24 G5", 170, 290),
        ("lenovo", "ThinkVision T27i-30", 220, 380),
        ("apple", "Studio Display", 1500, 1600),
    ),
    "network": (
        ("hp", "Aruba CX 6300M", 3000, 9000),
        ("dell", "PowerSwitch S5248F-ON", 4000, 11000),
    ),
}

#: status → share among the assets that are neither on order nor shadow IT
STATUS_SHARE = {
    "in_use": 0.78, "in_stock": 0.09, "in_repair": 0.03,
    "retired": 0.08, "lost": 0.01, "ordered": 0.01,
}  # fmt: skip


def ascii_fold(text: str) -> str:
    """`Zoë Ñúñez` → `Zoe Nunez` (ß → ss); letters only survive into user names."""
    text = text.replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class Estate:
    """One row per real thing. `assets` carries the truth plus, per source, whether the source
    holds the asset (`in_cmdb`, `in_finance`, `in_inventory`, `in_endpoint`) and the quirk
    flags the writers apply."""

    people: pd.DataFrame
    assets: pd.DataFrame
    seed: int


SHORT_MAKER = {"dell": "Dell", "hp": "HP", "lenovo": "Lenovo", "apple": "Apple"}
#: the characters serial numbers are made of (no I or O, as vendors avoid them)
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str], n: int, p=None):
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def select(
    rng: np.random.Generator, eligible: np.ndarray, k: int, forced: np.ndarray | None = None
) -> np.ndarray:
    """A mask of exactly min(k, eligible) members: forced ones first, then at random."""
    priority = rng.random(eligible.size)
    if forced is not None:
        priority[forced & eligible] = -1.0
    priority[~eligible] = np.inf
    order = np.argsort(priority, kind="stable")
    mask = np.zeros(eligible.size, dtype=bool)
    mask[order[: min(k, int(eligible.sum()))]] = True
    return mask


def source_rng(estate: Estate, stream: int) -> np.random.Generator:
    """The generator one source writer draws its quirks from, independent of the others."""
    return np.random.default_rng([estate.seed, stream])


def values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as an object array, missing values as None (pandas reads them as NaN)."""
    series = frame[column]
    return series.astype(object).where(series.notna(), None).to_numpy()


def stamps(base: pd.Timestamp, seconds: np.ndarray, fmt: str) -> list[str]:
    """`base` minus each number of seconds, formatted."""
    return list((base - pd.to_timedelta(seconds, unit="s")).strftime(fmt))


def make_people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    first = _pick(rng, FIRST_NAMES, n)
    last = _pick(rng, LAST_NAMES, n)
    first[:2], last[:2] = ("Zoë", "José"), ("Müller", "Ñúñez")
    usernames: list[str] = []
    emails: list[str] = []
    seen: set[str] = set()
    for f, la in zip(first, last, strict=True):
        fa = "".join(c for c in ascii_fold(f).lower() if c.isalpha())
        lb = "".join(c for c in ascii_fold(la).lower() if c.isalpha())
        user, k = fa[0] + lb, 1
        while user in seen:
            k += 1
            user = f"{fa[0]}{lb}{k}"
        seen.add(user)
        usernames.append(user)
        emails.append(f"{fa}.{lb}{k if k > 1 else ''}@example.com")
    location = rng.choice([0, 0, 1, 3, 4, 4, 6, 7], size=n)
    location[:2] = (BERLIN, 1)
    department = _pick(rng, DEPARTMENTS, n)
    department[:2] = ("Engineering", "Sales")
    active = rng.random(n) >= 0.06
    active[:2] = (True, False)  # José Ñúñez has left and still holds a laptop
    n_managers = max(2, n // 10)
    manager = rng.integers(0, n_managers, size=n)
    manager = np.where(manager == np.arange(n), (manager + 1) % n_managers, manager)
    manager[0] = -1  # the top of the tree
    return pd.DataFrame(
        {
            "first": first,
            "last": last,
            "name": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
            "username": usernames,
            "email": emails,
            "department": department,
            "location": location,
            "active": active,
            "manager": manager,
        }
    )


def _serials(rng: np.random.Generator, makers: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    alphabet = np.array(list(SERIAL_ALPHABET))
    body = alphabet[rng.integers(0, alphabet.size, size=(makers.size, 9))]
    digits = rng.integers(10**11, 10**12, size=makers.size)
    prefix = {"dell": ("", 7), "hp": ("5CG", 7), "lenovo": ("PF", 6), "apple": ("C02", 9)}
    out = []
    for i, maker in enumerate(makers):
        if numeric[i]:
            out.append(str(digits[i]))
            continue
        head, length = prefix[maker]
        out.append(head + "".join(body[i, :length]))
    # a collision is astronomically rare, but keep serials unique whatever the seed
    seen: set[str] = set()
    for i, s in enumerate(out):
        if s in seen:
            out[i] = f"{s}{i}"
        seen.add(out[i])
    return np.asarray(out, dtype=object)


def _operating_systems(rng: np.random.Generator, category: np.ndarray, maker: np.ndarray) -> np.ndarray:
    n = category.size
    out = np.full(n, None, dtype=object)
    client = np.isin(category, ("laptop", "desktop"))
    mac = client & (maker == "apple")
    windows = _pick(
        rng, ("Windows 11 Enterprise", "Windows 10 Enterprise", "Ubuntu 22.04 LTS"), n,
        p=[0.75, 0.2, 0.05],
    )  # fmt: skip
    out[client] = windows[client]
    out[mac] = _pick(rng, ("macOS 14.6", "macOS 15.1"), n)[mac]
    servers = _pick(
        rng, ("Windows Server 2022 Datacenter", "Red Hat Enterprise Linux 9.4",
              "Ubuntu 24.04 LTS"), n,
    )  # fmt: skip
    out[category == "server"] = servers[category == "server"]
    tablets = {"apple": "iPadOS 17.6", "lenovo": "Android 14", "dell": "Windows 11 Pro"}
    network = {"hp": "ArubaOS-CX 10.13", "dell": "Dell SmartFabric OS10"}
    for i in np.flatnonzero(np.isin(category, ("tablet", "network"))):
        out[i] = (tablets if category[i] == "tablet" else network)[maker[i]]
    return out


def make_estate(seed: int, n: int) -> Estate:
    rng = np.random.default_rng(seed)
    people = make_people(rng, max(30, round(n / 10)))
    n_ordered = max(1, round(0.03 * n))  # bought, not delivered: only finance knows them
    n_shadow = max(1, round(0.04 * n))  # found by discovery only: shadow IT
    n_pool = n - n_ordered - n_shadow
    group = np.array(["pool"] * n_pool + ["ordered"] * n_ordered + ["shadow"] * n_shadow)
    pool, ordered, shadow = group == "pool", group == "ordered", group == "shadow"

    category = _pick(rng, CATEGORIES, n, p=list(CATEGORY_SHARE.values()))
    category[ordered] = _pick(rng, ("laptop", "laptop", "desktop", "monitor"), n_ordered)
    category[shadow] = _pick(rng, ("laptop", "laptop", "desktop", "server"), n_shadow)
    category[:2] = "laptop"
    maker = np.empty(n, dtype=object)
    model = np.empty(n, dtype=object)
    cost = np.empty(n, dtype=float)
    draws = rng.random((n, 2))
    for i, cat in enumerate(category):
        entries = CATALOG[cat]
        m, mod, lo, hi = entries[int(draws[i, 0] * len(entries))]
        maker[i], model[i], cost[i] = m, mod, lo + draws[i, 1] * (hi - lo)
    maker[0], model[0] = "lenovo", "ThinkPad X1 Carbon Gen 11"

    status = _pick(rng, tuple(STATUS_SHARE), n, p=list(STATUS_SHARE.values()))
    status[ordered] = "ordered"
    status[shadow] = "in_use"
    status[:3] = "in_use"
    numeric_serial = (rng.random(n) < 0.025) & np.isin(category, ("desktop", "server")) & ~ordered
    serial = _serials(rng, maker, numeric_serial)

    # who holds it, where it is
    holdable = np.isin(category, ("laptop", "desktop", "tablet")) | (
        (category == "monitor") & (rng.random(n) < 0.5)
    )
    person = np.where(holdable & (status == "in_use"), rng.integers(0, len(people), size=n), -1)
    person[shadow] = rng.integers(0, len(people), size=n_shadow)
    person[:3] = (0, 1, 1)
    location = rng.integers(0, len(LOCATIONS), size=n)
    in_dc = np.isin(category, ("server",)) | ((category == "network") & (rng.random(n) < 0.4))
    location[in_dc] = rng.choice(DATA_CENTERS, size=int(in_dc.sum()))
    held = person >= 0
    location[held] = people["location"].to_numpy()[person[held]]
    department = _pick(rng, DEPARTMENTS, n)
    department[held] = people["department"].to_numpy()[person[held]]
    department[np.isin(category, ("server", "network"))] = "IT"

    # dates and money
    age_days = rng.integers(20, 6 * 365, size=n)
    age_days[status == "retired"] += 2 * 365
    age_days[status == "ordered"] = rng.integers(2, 45, size=int((status == "ordered").sum()))
    age_days[0] = (BASE_DATE - pd.Timestamp("2025-03-14")).days
    purchase = (BASE_DATE - pd.to_timedelta(age_days, unit="D")).to_numpy()
    years = np.where(np.isin(category, ("server", "network")), 5, 3)
    warranty = (pd.DatetimeIndex(purchase) + pd.to_timedelta(years * 365, unit="D")).to_numpy()
    currency = np.asarray([LOCATIONS[i][4] for i in location], dtype=object)
    # local amounts chosen so that the USD figure is exact in cents at the configured rates:
    # EUR in quarters (x 1.08), GBP in whole pounds (x 1.27)
    local = np.round(cost * 100) / 100
    local = np.where(currency == "EUR", np.round(cost / 1.08 * 4) / 4, local)
    local = np.where(currency == "GBP", np.round(cost / 1.27), local)
    local[0] = 1599.75
    usd_cents = np.where(
        currency == "EUR",
        np.round(local * 108),
        np.where(currency == "GBP", np.round(local * 127), np.round(local * 100)),
    )

    # network identity
    nic = rng.integers(0, 2**24, size=n)
    oui = {"dell": 0xF8BC12, "hp": 0x3C5282, "lenovo": 0x54EE75, "apple": 0xA483E7}
    has_nic = category != "monitor"
    mac = [
        ":".join(f"{b:02x}" for b in ((oui[m] << 24) | int(x)).to_bytes(6, "big")) if h else None
        for m, x, h in zip(maker, nic, has_nic, strict=True)
    ]
    ip = [
        f"10.{loc + 10}.{((i + 1) >> 8) & 255}.{(i + 1) & 255}" if h and s != "ordered" else None
        for i, (loc, h, s) in enumerate(zip(location, has_nic, status, strict=True))
    ]
    prefix = {"laptop": "lt", "desktop": "ws", "server": "srv", "tablet": "tab", "network": "sw"}
    hostname = [
        (f"{prefix[c]}-{LOCATIONS[loc][1].lower()}-{i + 1:04d}" if c in ("server", "network")
         else f"{prefix[c]}-{i + 1:05d}") if c in prefix else None
        for i, (c, loc) in enumerate(zip(category, location, strict=True))
    ]  # fmt: skip
    shadow_names = _pick(rng, list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"), n_shadow * 7)
    for j, i in enumerate(np.flatnonzero(shadow)):
        hostname[i] = "DESKTOP-" + "".join(shadow_names[j * 7 : j * 7 + 7])
    os_name = _operating_systems(rng, category, maker)
    seen_days = np.where(status == "retired", rng.integers(60, 400, size=n), rng.integers(0, 9, n))
    last_seen = (
        BASE_DATE
        - pd.to_timedelta(seen_days, unit="D")
        - pd.to_timedelta(rng.integers(0, 86400, size=n), unit="s")
    ).to_numpy()

    # who knows what: exact shares of the whole universe
    cmdb_capable = pool & np.isin(category, ("laptop", "desktop", "server", "tablet"))
    not_in_cmdb = select(rng, cmdb_capable, n_pool - round(0.85 * n), forced=None)
    not_in_cmdb[:3] = False
    in_cmdb = pool & ~not_in_cmdb
    discoverable = np.isin(category, ("laptop", "desktop", "server"))
    in_inventory = select(rng, pool & discoverable, round(0.70 * n), forced=not_in_cmdb | (np.arange(n) < 3))
    in_inventory |= shadow
    endpoint_kind = np.isin(category, ("laptop", "tablet"))
    in_endpoint = select(
        rng,
        pool & endpoint_kind & (status != "ordered"),
        round(0.40 * n),
        forced=(not_in_cmdb & (category == "tablet")) | (np.arange(n) < 2),
    )
    # finance paid for everything the CMDB missed: only shadow IT escapes the books
    in_finance = select(rng, pool, round(0.57 * n), forced=not_in_cmdb | (np.arange(n) < 2))
    in_finance |= ordered

    # machines renamed since the CMDB last heard of them: discovery and the endpoint team see
    # the new name, the CMDB keeps the old one (same serial)
    nameable = in_cmdb & in_inventory & np.array([h is not None for h in hostname])
    renamed = select(rng, nameable, round(0.10 * int(nameable.sum())), forced=np.arange(n) < 1)
    current = list(hostname)
    usernames = people["username"].to_numpy()
    for i in np.flatnonzero(renamed):
        if i == 0:
            current[i] = "zmuller-x1"
        elif person[i] >= 0:
            current[i] = f"{usernames[person[i]]}-{category[i][:2]}{i % 100:02d}"
        else:
            current[i] = hostname[i].replace("srv-", "db-").replace("ws-", "kiosk-")
            current[i] = current[i].replace("lt-", "loaner-").replace("sw-", "core-")

    assets = pd.DataFrame(
        {
            "group": group,
            "asset_tag": [f"P{i + 1:06d}" if g != "shadow" else None for i, g in enumerate(group)],
            "serial": serial,
            "numeric_serial": numeric_serial,
            "category": category,
            "maker": maker,
            "model": model,
            "status": status,
            "person": person,
            "location": location,
            "department": department,
            "purchase": purchase,
            "warranty": warranty,
            "currency": currency,
            "local_cost": local,
            "usd_cost": usd_cents / 100,
            "mac": mac,
            "ip": ip,
            "hostname": hostname,
            "current_hostname": current,
            "renamed": renamed,
            "os": os_name,
            "last_seen": last_seen,
            "in_cmdb": in_cmdb,
            "in_finance": in_finance,
            "in_inventory": in_inventory,
            "in_endpoint": in_endpoint,
        }
    )
    return Estate(people=people, assets=assets, seed=seed)
