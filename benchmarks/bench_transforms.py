"""Throughput of the mapping engine: 100k raw asset rows x 15 mapped fields.

Run: .venv/bin/python benchmarks/bench_transforms.py [ROWS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from connectors.base import StreamConfig
from transforms.context import TransformContext
from transforms.mapping import map_stream


def sample_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """Spreadsheet-like raw rows with the quirks the normalisers handle."""
    rng = np.random.default_rng(seed)
    pick = rng.choice

    def numbered(prefix: str, width: int) -> np.ndarray:
        return np.char.add(prefix, np.char.zfill(np.arange(rows).astype(str), width))

    months, days = rng.integers(1, 13, rows), rng.integers(1, 29, rows)
    years = rng.integers(18, 25, rows)
    us_dates = [f"{m}/{d}/{y}" for m, d, y in zip(months, days, years, strict=True)]
    macs = [f"AA-BB-CC-{i >> 16 & 255:02X}-{i >> 8 & 255:02X}-{i & 255:02X}" for i in range(rows)]
    ips = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(rows)]
    return pd.DataFrame(
        {
            "ID": np.arange(rows).astype(float),
            "Asset Tag": numbered("ICC-", 7),
            "Serial": pick(["C02X1234", "Not Specified", "5CD1234XYZ", " abc 123 "], rows),
            "Hostname": np.char.add(numbered("LT-", 6), ".corp.example.com"),
            "Item Name": pick(["Backhoe", "Dragline", "  Trencher  "], rows),
            "Category": pick(["Laptops", "Desktops", "Switch", "Mobile Phone"], rows),
            "Manufacturer": pick(["Dell Inc.", "LENOVO", "HP Inc.", "Apple Inc."], rows),
            "Model": pick(['Macbook Pro 13"', "Latitude 7440", "ThinkPad T14"], rows),
            "Status": pick(["Ready to Deploy", "Deployed", "Archived", "Pending"], rows),
            "Purchase Date": us_dates,
            "Purchase Cost": pick(["$1,299.00", "2266.13", "€1.599,62", "(12.50)"], rows),
            "MAC": macs,
            "IP": ips,
            "Checked Out To: Email": pick(["JDoe@Example.com", "", "a.b@example.com"], rows),
            "Location": pick(["HQ", "Warehouse", None], rows),
        }
    )


STREAM = StreamConfig(
    id="ID",
    fields={
        "asset_tag": "Asset Tag",
        "serial_number": "Serial",
        "hostname": "Hostname",
        "name": "Item Name",
        "category": "Category",
        "manufacturer": "Manufacturer",
        "model": "Model",
        "status": "Status",
        "purchase_date": "Purchase Date",
        "cost": "Purchase Cost",
        "mac_addresses": "MAC",
        "ip_addresses": "IP",
        "assigned_to": "Checked Out To: Email",
        "location": "Location",
        "warranty_end": "Purchase Date",
    },
)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    frame = sample_frame(rows)
    ctx = TransformContext(rates={"EUR": 1.08})
    map_stream(frame.head(1000), "assets", STREAM, ctx, source="bench")  # warm up
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        batch = map_stream(frame, "assets", STREAM, ctx, source="bench")
        best = min(best, time.perf_counter() - started)
    print(
        f"{rows} rows x {len(STREAM.fields)} fields: {best:.3f} s best of 3, "
        f"{rows / best:,.0f} rows/s ({len(batch.rows)} mapped, {len(batch.quarantine)} quarantined)"
    )


if __name__ == "__main__":
    main()
