"""Sync throughput (records/s) of a paginated HTTP source, against a bare `requests` loop.

    .venv/bin/python benchmarks/bench_http_sync.py [--records 100000] [--page 1000]

Serves `--records` Snipe-IT-like hardware records (`{total, rows}`, `limit`/`offset`, nested
objects, decimal-comma costs, `{date, formatted}` dates) from a `VendorServer` on 127.0.0.1,
pre-rendered so the server is not the bottleneck. Measures, in one run:
  1. a bare loop: one `requests.Session`, every page fetched and decoded with `.json()`;
  2. `read`: the `snipeit` connector reading the same pages into raw frames;
  3. `sync`: a full `Syncer` run (read, normalise, snapshot, reconcile, publish).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.snipeit import SnipeItConfig, SnipeItConnector
from federation.config.settings import parse_config
from federation.demo.vendor_server import Call, Reply, Vendor, VendorServer
from federation.pipeline.sync import Syncer

TOKEN = "bench-token"


def record(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"Laptop {i}",
        "asset_tag": f"A{i:07d}",
        "serial": f"SN{i:09d}",
        "model": {"id": 1 + i % 40, "name": f"Model {i % 40}"},
        "category": {"id": 5, "name": "Laptops"},
        "manufacturer": {"id": 3, "name": ["Dell", "HP", "Lenovo", "Apple"][i % 4]},
        "status_label": {"id": 1, "name": ["Deployed", "Ready to Deploy"][i % 2], "status_meta": "deployed"},
        "location": {"id": 1 + i % 8, "name": f"Office {i % 8}"},
        "assigned_to": {"id": i % 5000, "username": f"user{i % 5000}", "type": "user"},
        "purchase_date": {"date": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}", "formatted": "x"},
        "purchase_cost": f"{1000 + i % 900},{i % 100:02d}",
        "updated_at": {"datetime": f"2024-01-01 00:{(i // 60) % 60:02d}:{i % 60:02d}", "formatted": "x"},
    }


class Hardware(Vendor):
    name = "snipeit"

    def __init__(self, n: int, page: int) -> None:
        rows = [record(i) for i in range(n)]
        #: offset → rendered body: the server only copies bytes
        self.pages = {
            o: json.dumps({"total": n, "rows": rows[o : o + page]}).encode() for o in range(0, n, page)
        }
        self.empty = json.dumps({"total": n, "rows": []}).encode()

    def answer(self, call: Call) -> Reply:
        if call.header("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "Unauthenticated."})
        return Reply(200, self.pages.get(int(call.arg("offset", "0") or 0), self.empty))


def bare_loop(base: str, page: int) -> int:
    count, offset = 0, 0
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        while True:
            body = session.get(
                f"{base}/api/v1/hardware", params={"limit": page, "offset": offset}, timeout=30
            ).json()
            count += len(body["rows"])
            offset += len(body["rows"])
            if not body["rows"] or offset >= body["total"]:
                return count


def source(base: str, page: int) -> dict[str, Any]:
    return {
        "name": "bench",
        "kind": "snipeit",
        "base_url": base,
        "auth": {"token": TOKEN},
        "paginator": {"limit": page},
        "entities": {"people": None, "licenses": None, "license_assignments": None},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    server = VendorServer([Hardware(args.records, args.page)]).start()
    base = server.base("snipeit")
    try:
        results = []
        t0 = time.perf_counter()
        n = bare_loop(base, args.page)
        results.append(("bare requests loop (.json())", n, time.perf_counter() - t0))

        config = SnipeItConfig.model_validate(source(base, args.page))
        connector = SnipeItConnector(config, base_dir=Path.cwd())
        t0 = time.perf_counter()
        n = sum(len(b.frame) for b in connector.read("assets"))
        results.append(("connector read (raw frames)", n, time.perf_counter() - t0))
        connector.close()

        with tempfile.TemporaryDirectory() as tmp:
            cfg = parse_config(
                {"store": {"path": f"{tmp}/store"}, "sources": [source(base, args.page)]}, base_dir=Path(tmp)
            )
            syncer = Syncer(cfg)
            t0 = time.perf_counter()
            report = syncer.run()
            elapsed = time.perf_counter() - t0
            syncer.close()
            result = report.sources[0]
            assert result.ok, result.error
            results.append(("full sync (read+map+store+publish)", args.records, elapsed))
    finally:
        server.stop()
    print(f"{args.records} records, pages of {args.page}, server on 127.0.0.1")
    for label, count, seconds in results:
        print(f"  {label:38s} {count:>8d} records {seconds:7.2f}s {count / seconds:>10,.0f} records/s")


if __name__ == "__main__":
    main()
