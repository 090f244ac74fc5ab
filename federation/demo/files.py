"""The demo's files: the discovery tool's CSV export and finance's fixed-asset workbook.

Like the database writers, each draws its quirks from its own seeded generator, writes under
a temporary name and renames into place, and returns the figures it built in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from federation.demo.estate import (
    DEPARTMENTS,
    SERIAL_ALPHABET,
    SHORT_MAKER,
    Estate,
    select,
    source_rng,
    values,
)

INVENTORY_MAKER = {"dell": "Dell Inc.", "hp": "HP", "lenovo": "LENOVO", "apple": "Apple Inc."}
INVENTORY_CATEGORY = {"laptop": "Notebook", "desktop": "Workstation", "server": "Server"}
PLACEHOLDER_SERIALS = ("To Be Filled By O.E.M.", "Not Specified", "0123456789",
                       "System Serial Number")  # fmt: skip
INVENTORY_HEADER = ("Device ID", "Computer Name", "Serial Number", "Manufacturer", "Model",
                    "Model Number", "Category", "Category", "OS", "MAC Address", "IP Address",
                    "Last Seen", "Assigned User", "Full Name", "", "Agent Version")  # fmt: skip
FINANCE_HEADER = ("Asset Tag", "Serial", "Description", "Entity", "Cost Center", "Department",
                  "Purchase Date", "Cost", "Currency", "Depreciation", "PO Number")  # fmt: skip
FINANCE_ENTITY = {"USD": "Example Inc.", "EUR": "Example GmbH", "GBP": "Example Ltd."}
FINANCE_SHEETS = ("FY2025 Assets", "FY2026 Assets")
#: spreadsheet row (0-based) of the finance header: a title, a "generated on" line, a gap
FINANCE_HEADER_ROW = 3


# ----------------------------------------------------------------------------- inventory


def write_inventory(estate: Estate, path: Path) -> dict[str, Any]:
    rng = source_rng(estate, 3)
    people = estate.people
    a = estate.assets[estate.assets["in_inventory"]]
    n, idx = len(a), a.index.to_numpy()
    host = values(a, "current_hostname")
    form = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])  # lower, UPPER, lower FQDN
    form[idx == 0] = 1
    names = [
        h + ".corp.example.com" if f == 2 else h.upper() if f == 1 else h
        for h, f in zip(host, form, strict=True)
    ]
    serial = values(a, "serial").copy()
    mangled = a["numeric_serial"].to_numpy()
    serial[mangled] = [f"{int(s):.5E}" for s in serial[mangled]]
    placeholder = select(rng, ~mangled & (idx >= 3), round(0.02 * n), forced=np.zeros(n, bool))
    serial[placeholder] = rng.choice(PLACEHOLDER_SERIALS, size=int(placeholder.sum()))
    macs = []
    mac_style = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])  # colon, dash upper, cisco dotted
    mac_style[idx == 0] = 2
    wifi = rng.integers(0, 2**24, size=n)
    for i, (mac, style) in enumerate(zip(values(a, "mac"), mac_style, strict=True)):
        found = [mac]
        if a["category"].iat[i] == "laptop" and wifi[i] % 3 == 0:
            found.append(mac[:9] + ":".join(f"{b:02x}" for b in int(wifi[i]).to_bytes(3, "big")))
        macs.append("; ".join(_mac_format(m, style) for m in found))
    model_no = np.where(
        rng.random(n) < 0.3,
        [f"{int(x):.5E}" for x in rng.integers(10**15, 10**16, size=n)],
        [f"{zlib.crc32(m.encode()):010d}"[:4] + m[:3].upper() for m in a["model"]],
    )
    os_text = [
        None if o is None else ("Microsoft " + o if o.startswith("Windows") else o) for o in values(a, "os")
    ]
    person = a["person"].to_numpy()
    held = person >= 0
    user = np.where(held, people["username"].to_numpy()[np.maximum(person, 0)], "")
    full = np.where(held, people["name"].to_numpy()[np.maximum(person, 0)], "")
    category = a["category"].to_numpy()
    rows = zip(
        np.arange(50001, 50001 + n),
        names,
        serial,
        a["maker"].map(INVENTORY_MAKER),
        a["model"],
        model_no,
        [INVENTORY_CATEGORY[c] for c in category],
        np.where(category == "server", "Infrastructure", "Hardware"),
        os_text,
        macs,
        values(a, "ip"),
        pd.DatetimeIndex(a["last_seen"]).strftime("%m/%d/%Y %H:%M"),
        user,
        full,
        np.where(rng.random(n) < 0.03, "x", ""),
        rng.choice(["7.4.1", "7.4.2", "8.0.0"], size=n),
        strict=True,
    )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r")
    writer.writerow(INVENTORY_HEADER)
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue().encode("cp1252"))
    os.replace(tmp, path)
    shadow = (a["group"] == "shadow").to_numpy()
    return {
        "assets": n,
        "only_here": int(shadow.sum()),
        "not_in_cmdb": int((~a["in_cmdb"].to_numpy()).sum()),
        "renamed_vs_cmdb": int(a["renamed"].sum()),
        "placeholder_serials": int(placeholder.sum()),
        "mangled_serials": int(mangled.sum()),
    }


def _mac_format(mac: str, style: int) -> str:
    if style == 1:
        return mac.replace(":", "-").upper()
    if style == 2:
        flat = mac.replace(":", "")
        return f"{flat[:4]}.{flat[4:8]}.{flat[8:]}"
    return mac


# ------------------------------------------------------------------------------- finance


def write_finance(estate: Estate, path: Path) -> dict[str, Any]:
    rng = source_rng(estate, 4)
    a = estate.assets[estate.assets["in_finance"]]
    n, idx = len(a), a.index.to_numpy()
    in_cmdb = a["in_cmdb"].to_numpy()
    currency = a["currency"].to_numpy()
    cost = a["local_cost"].to_numpy().copy()
    cost_off = select(rng, in_cmdb, round(0.05 * int(in_cmdb.sum())), forced=idx == 0)
    changed = cost * rng.choice([0.8, 0.9, 1.1, 1.19, 1.25], size=n)
    changed = np.where(
        currency == "EUR",
        np.round(changed * 4) / 4,
        np.where(currency == "GBP", np.round(changed), np.round(changed * 100) / 100),
    )
    cost = np.where(cost_off, changed, cost)
    cost[idx == 0] = 1749.75

    serial = values(a, "serial").copy()
    mode = rng.choice(4, size=n, p=[0.76, 0.12, 0.10, 0.02])  # as is, blank, lower, spaces
    mode[idx == 0] = 2
    mode[(idx > 0) & (idx < 3)] = 0
    ordered = (a["group"] == "ordered").to_numpy()
    mode[ordered] = 1
    numeric = a["numeric_serial"].to_numpy()
    typo = select(
        rng, in_cmdb & (mode == 0) & (idx >= 3) & ~numeric,
        max(3, round(0.004 * len(estate.assets))), forced=np.zeros(n, bool),
    )  # fmt: skip
    mismatches = []
    for i in np.flatnonzero(typo):
        s = serial[i]
        c = SERIAL_ALPHABET[(SERIAL_ALPHABET.index(s[-2]) + 1) % len(SERIAL_ALPHABET)]
        serial[i] = s[:-2] + c + s[-1]
        mismatches.append([a["asset_tag"].iat[i], s, serial[i]])
    serial = np.where(mode == 1, None, serial)
    serial[mode == 2] = [s.lower() for s in serial[mode == 2]]
    serial[mode == 3] = [f" {s}" if k % 2 else f"{s} " for k, s in enumerate(serial[mode == 3])]

    purchase = pd.DatetimeIndex(a["purchase"])
    as_text = rng.random(n) < 0.3
    as_text[idx == 0] = True
    cost_centers = {d: f"CC-{4100 + 100 * k}" for k, d in enumerate(DEPARTMENTS)}
    frame = pd.DataFrame(
        {
            "tag": values(a, "asset_tag"),
            "serial": serial,
            "description": (
                a["maker"].map(SHORT_MAKER) + " " + a["model"] + " (" + a["category"] + ")"
            ).to_numpy(),
            "entity": [FINANCE_ENTITY[c] for c in currency],
            "cost_center": a["department"].map(cost_centers).to_numpy(),
            "department": a["department"].to_numpy(),
            "date": list(purchase.to_pydatetime()),
            "date_text": [f"{d.month}/{d.day}/{d.year % 100:02d}" for d in purchase],
            "as_text": as_text,
            "cost": cost,
            "currency": currency,
            "year": purchase.year,
        }
    )
    sheets = {
        FINANCE_SHEETS[0]: frame[frame["year"] <= 2025],
        FINANCE_SHEETS[1]: frame[frame["year"] >= 2026],
    }
    totals = _write_workbook(path, sheets)
    return {
        "assets": n,
        "only_here": int(ordered.sum()),
        "not_in_cmdb": int((~in_cmdb).sum()),
        "cost_disagreements": int(cost_off.sum()),
        "tag_matches_serial_differs": mismatches,
        "blank_serials": int((mode == 1).sum()),
        "eur_text_costs": int((currency == "EUR").sum()),
        "sheets": totals,
    }


def _eur_text(amount: float) -> str:
    whole, cents = divmod(round(amount * 100), 100)
    return f"€{whole:,}".replace(",", ".") + f",{cents:02d}"


def _write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> dict[str, Any]:
    tmp = path.with_name(path.name + ".tmp")
    book = xlsxwriter.Workbook(str(tmp))
    book.set_properties(
        {"title": "Fixed-asset register", "author": "Finance", "created": dt.datetime(2026, 10, 31)}
    )
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    money = book.add_format({"num_format": "#,##0.00"})
    first = FINANCE_HEADER_ROW + 1
    totals: dict[str, Any] = {}
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write(0, 0, f"Example Corp. fixed-asset register: {name}", title)
        sheet.write(1, 0, "Generated on 31.10.2026 18:00 by SAP FI-AA export ZFA_REGISTER")
        sheet.write_row(FINANCE_HEADER_ROW, 0, FINANCE_HEADER, bold)
        cost_sum = dep_sum = 0.0
        for r, row in enumerate(rows.itertuples(index=False), start=first):
            excel_row = r + 1
            sheet.write_string(r, 0, row.tag)
            if isinstance(row.serial, str):
                sheet.write_string(r, 1, row.serial)
            sheet.write_row(r, 2, (row.description, row.entity, row.cost_center, row.department))
            if row.as_text:
                sheet.write_string(r, 6, row.date_text)
            else:
                sheet.write_datetime(r, 6, row.date, date_format)
            depreciation = round(row.cost / 3, 2)
            if row.currency == "EUR":  # the German entity's figures pasted in as text
                sheet.write_string(r, 7, _eur_text(row.cost))
                sheet.write_number(r, 9, depreciation, money)
            else:
                sheet.write_number(r, 7, row.cost, money)
                formula = f"=ROUND(H{excel_row}/3,2)"
                sheet.write_formula(r, 9, formula, money, depreciation)
                cost_sum += row.cost
            dep_sum += depreciation
            sheet.write_string(r, 8, row.currency)
            sheet.write_string(r, 10, f"PO-{row.date.year}-{r - first + 1:05d}")
        last = first + len(rows)  # 1-based number of the last data row
        total = first + len(rows)  # 0-based index of the total row
        sheet.write_string(total, 2, "Total")
        sheet.write_formula(total, 7, f"=SUM(H{first + 1}:H{last})", money, round(cost_sum, 2))
        sheet.write_formula(total, 9, f"=SUM(J{first + 1}:J{last})", money, round(dep_sum, 2))
        totals[name] = {
            "rows": len(rows),
            "total_row": total + 1,
            "numeric_cost_total": round(cost_sum, 2),
            "depreciation_total": round(dep_sum, 2),
        }
    summary = book.add_worksheet("Summary")
    summary.write_row(0, 0, ("Sheet", "Assets", "Cost (numeric cells)", "Depreciation"), bold)
    for r, (name, t) in enumerate(totals.items(), start=1):
        ref = f"'{name}'!"
        summary.write_string(r, 0, name)
        last = t["total_row"] - 1
        summary.write_formula(r, 1, f"=COUNTA({ref}A{first + 1}:A{last})", None, t["rows"])
        summary.write_formula(r, 2, f"={ref}H{t['total_row']}", money, t["numeric_cost_total"])
        summary.write_formula(r, 3, f"={ref}J{t['total_row']}", money, t["depreciation_total"])
    end = len(totals) + 1
    summary.write_string(end, 0, "Total")
    for col, letter in ((1, "B"), (2, "C"), (3, "D")):
        key = ("rows", "numeric_cost_total", "depreciation_total")[col - 1]
        value = round(sum(t[key] for t in totals.values()), 2)
        summary.write_formula(end, col, f"=SUM({letter}2:{letter}{end})", money, value)
    book.close()
    os.replace(tmp, path)
    return totals
