"""The demo's installed software: GLPI agent inventories of the laptops and desktops in use.

`installations` is the truth: which product is on which asset. Three licensed products are
installed — Visio (the desktop app of Visio Plan 2), Slack and Zoom — on the first machine
of most of their seat holders, and, deliberately, on machines of people without a seat (so
Visio ends up under-licensed); the rest is software no license covers (Microsoft 365 Apps,
browsers, 7-Zip, Power BI Desktop). Each product is written under the names its installers
use on each platform (`Zoom Workplace (64-bit)`, `zoom.us`, `zoom`), with a leftover older
Zoom beside the new one on some Windows machines.

`write_glpi` renders the truth as one GLPI agent inventory (JSON) per machine, filed one
document a line per site.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from federation.demo.estate import LOCATIONS, Estate, source_rng, values
from federation.demo.saas import APPS, app_members, sku_holders

#: licensed product → (where the seats come from, share of holders who install it, installs
#: on machines of people without a seat per 100 people)
LICENSED = {"Visio Plan 2": ("VISIOCLIENT", 1.0, 5), "Slack": ("slack", 0.85, 6), "Zoom": ("zoom", 0.6, 8)}
#: product → platform → (name, publisher, version); platforms without an entry do not get it
NAMES: dict[str, dict[str, tuple[str, str, str]]] = {
    "Visio Plan 2": {"windows": ("Microsoft Visio - en-us", "Microsoft Corporation", "16.0.17928.20156")},
    "Slack": {
        "windows": ("Slack (Machine - MSI)", "Slack Technologies Inc.", "4.41.97"),
        "mac": ("Slack", "Slack Technologies, Inc.", "4.41.97"),
        "linux": ("slack-desktop", "Slack Technologies", "4.41.97"),
    },
    "Zoom": {
        "windows": ("Zoom Workplace (64-bit)", "Zoom Video Communications, Inc.", "6.2.5 (48749)"),
        "mac": ("zoom.us", "Zoom Video Communications, Inc.", "6.2.5 (41891)"),
        "linux": ("zoom", "Zoom Video Communications, Inc.", "6.2.5.4751"),
    },
}
#: the leftover per-user Zoom some Windows machines still carry beside Zoom Workplace
OLD_ZOOM = ("Zoom", "Zoom Video Communications, Inc.", "5.17.11 (34827)")
#: unlicensed software every machine of a platform has, and some have
COMMON: dict[str, tuple[tuple[str, str, str], ...]] = {
    "windows": (
        ("Microsoft 365 Apps for enterprise - en-us", "Microsoft Corporation", "16.0.17928.20156"),
        ("Microsoft Edge", "Microsoft Corporation", "130.0.2849.56"),
        ("Google Chrome", "Google LLC", "130.0.6723.92"),
        (
            "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135",
            "Microsoft Corporation",
            "14.38.33135.0",
        ),
    ),
    "mac": (
        ("Microsoft Word", "Microsoft Corporation", "16.90"),
        ("Microsoft Excel", "Microsoft Corporation", "16.90"),
        ("Google Chrome", "Google LLC", "130.0.6723.92"),
    ),
    "linux": (
        ("firefox", "Ubuntu", "132.0+build1"),
        ("libreoffice-core", "The Document Foundation", "7.3.7"),
    ),
}
SOME: dict[str, tuple[tuple[str, str, str], ...]] = {
    "windows": (
        ("7-Zip 23.01 (x64)", "Igor Pavlov", "23.01"),
        ("Mozilla Firefox (x64 en-US)", "Mozilla", "132.0"),
        ("Microsoft Power BI Desktop (x64)", "Microsoft Corporation", "2.137.1102.0"),
    ),
    "mac": (("Firefox", "Mozilla", "132.0"),),
    "linux": (("p7zip-full", "Ubuntu", "16.02+dfsg-8"),),
}
ARCH = {"windows": "x86_64", "mac": "arm64", "linux": "x86_64"}
FROM = {"windows": "registry", "mac": "pkgutil", "linux": "deb"}


def _platform(os_name: str | None) -> str | None:
    if not isinstance(os_name, str):
        return None
    return next(
        (p for k, p in (("Windows", "windows"), ("macOS", "mac"), ("Ubuntu", "linux")) if k in os_name), None
    )


def machines(estate: Estate) -> pd.DataFrame:
    """The machines with a GLPI agent: laptops and desktops in use, nine in ten of them."""
    a = estate.assets
    rng = source_rng(estate, 6)
    platform = a["os"].map(_platform)
    agent = (
        (a["group"] == "pool").to_numpy()
        & a["category"].isin(("laptop", "desktop")).to_numpy()
        & (a["status"] == "in_use").to_numpy()
        & platform.notna().to_numpy()
        & (rng.random(len(a)) < 0.9)
    )
    return a.assign(platform=platform)[agent]


def holders(estate: Estate) -> dict[str, np.ndarray]:
    """Licensed product → who holds a seat (a mask over the estate's people)."""
    skus = sku_holders(estate)
    apps = {name: app_id for app_id, name, _, _ in APPS}
    members = app_members(estate)
    out = {}
    for product, (seat, _, _) in LICENSED.items():
        if seat in skus:
            out[product] = skus[seat]
            continue
        mask = np.zeros(len(estate.people), dtype=bool)
        mask[[i for i, _ in members[apps[seat]]]] = True
        out[product] = mask
    return out


def installations(estate: Estate) -> pd.DataFrame:
    """One row per program on a machine: asset (estate index), platform, name, publisher,
    version, and `product`, the licensed product it is (None for unlicensed software)."""
    rng = source_rng(estate, 7)
    m = machines(estate)
    platform = dict(zip(m.index, m["platform"], strict=True))
    person = dict(zip(m.index, m["person"], strict=True))
    rows: list[tuple[Any, ...]] = []
    for i, kind in platform.items():
        rows += [(i, kind, *entry, None) for entry in COMMON[kind]]
        rows += [(i, kind, *entry, None) for entry in SOME[kind] if rng.random() < 0.4]
    seated = holders(estate)
    first: dict[int, int] = {}  # each person's first machine
    for i, p in person.items():
        first.setdefault(p, i)
    for product, (_, share, extra_per_100) in LICENSED.items():
        names = NAMES[product]
        eligible = {i for i, kind in platform.items() if kind in names}
        chosen = [first[p] for p in np.flatnonzero(seated[product]) if p in first]
        chosen = [i for i in chosen if i in eligible and rng.random() < share]
        others = sorted(i for i in eligible if person[i] < 0 or not seated[product][person[i]])
        k = max(1, round(extra_per_100 * len(estate.people) / 100))
        chosen += [int(i) for i in rng.choice(others, size=min(k, len(others)), replace=False)]
        for i in sorted(chosen):
            rows.append((i, platform[i], *names[platform[i]], product))
            if product == "Zoom" and platform[i] == "windows" and rng.random() < 0.1:
                rows.append((i, platform[i], *OLD_ZOOM, product))
    return pd.DataFrame(rows, columns=["asset", "platform", "name", "publisher", "version", "product"])


def write_glpi(estate: Estate, folder: Path) -> dict[str, Any]:
    """One inventory per machine, as the agents' collector files them: one NDJSON file per
    site in `folder` (replaced whole, by rename), modified when its newest machine was seen."""
    rng = source_rng(estate, 8)
    truth = installations(estate).sort_values("asset", kind="stable")
    a = estate.assets
    seen = pd.DatetimeIndex(a["last_seen"])
    purchased = pd.DatetimeIndex(a["purchase"]).strftime("%Y-%m-%d")
    installed = seen[truth["asset"]] - pd.to_timedelta(rng.integers(1, 700, len(truth)), unit="D")
    truth = truth.assign(install_date=installed.strftime("%Y-%m-%d"))
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    by_asset: dict[int, list[dict[str, Any]]] = {}
    columns = ("asset", "platform", "name", "publisher", "version", "install_date")
    for i, kind, name, publisher, version, day in zip(*(truth[c].tolist() for c in columns), strict=True):
        by_asset.setdefault(i, []).append(
            {"name": name, "publisher": publisher, "version": version, "arch": ARCH[kind],
             "from": FROM[kind], "install_date": day}
        )  # fmt: skip
    sites: dict[str, list[bytes]] = {}
    newest: dict[str, float] = {}
    host_of, serial, tag, model, os_name = (
        values(a, c) for c in ("current_hostname", "serial", "asset_tag", "model", "os")
    )
    site_of = [LOCATIONS[loc][1].lower() for loc in a["location"]]
    stamps = (seen.tz_localize("UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    for i, software in by_asset.items():
        host = host_of[i]
        document = {
            "deviceid": f"{host}-{purchased[i]}-09-00-00",
            "itemtype": "Computer",
            "action": "inventory",
            "content": {
                "bios": {
                    "ssn": serial[i],
                    "assettag": tag[i],
                    "smodel": model[i],
                },
                "hardware": {"name": host.upper(), "vmsystem": "Physical"},
                "operatingsystem": {"full_name": os_name[i], "fqdn": host},
                "softwares": software,
            },
        }
        site = site_of[i]
        sites.setdefault(site, []).append(orjson.dumps(document))
        newest[site] = max(newest.get(site, 0.0), float(stamps[i]))
    for site, lines in sites.items():
        path = tmp / f"{site}.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        os.utime(path, (newest[site], newest[site]))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    licensed = truth.dropna(subset=["product"])
    return {
        "machines": len(by_asset),
        "installations": len(truth),
        "installed": {p: int(g["asset"].nunique()) for p, g in licensed.groupby("product")},
    }


__all__ = ["LICENSED", "NAMES", "holders", "installations", "machines", "write_glpi"]
