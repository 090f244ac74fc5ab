"""A synthetic estate of N assets (default 1M) through the whole gateway.

    .venv/bin/python benchmarks/bench_estate.py                 # 1,000,000 assets
    .venv/bin/python benchmarks/bench_estate.py --assets 100000 # quicker

Builds two overlapping sources (a CMDB table in SQLite with every asset, an inventory CSV
with 70% of them, disagreeing on host names and statuses), then reports:

- sync time (read + normalise + snapshot, reconcile + publish) and the process's peak memory
  (the sources are generated in a child process, so generation does not count);
- incremental reconciliation: 1% of the inventory's rows change (`--change`), the inventory is
  synced again, and its publish (merging only what changed into a copy of the last publish)
  is timed beside a publish of the same state merging everything;
- latency of a filtered, sorted 50-row page with two relations, and of an aggregate grouped
  by category and status, through the GraphQL schema (parse, validate, resolve, serialise) —
  next to the same questions asked of DuckDB directly, in the same process, same snapshot.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CATEGORIES = np.array(["laptop", "desktop", "server", "network", "monitor", "tablet"])
STATUSES = np.array(["1", "6", "7", "3", "2"])  # ServiceNow install_status codes
MAKERS = np.array(["Dell Inc.", "LENOVO", "HP", "Apple Inc.", "Cisco Systems, Inc."])


def generate(folder: Path, n: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    serial = pd.Series(idx).map(lambda i: f"SN{i:09d}")
    people = max(10, n // 10)
    owner = rng.integers(0, people, n)
    cmdb = pd.DataFrame(
        {
            "sys_id": pd.Series(idx).map(lambda i: f"{i:032x}"),
            "asset_tag": pd.Series(idx).map(lambda i: f"P{i:07d}"),
            "serial_number": serial,
            "name": pd.Series(idx).map(lambda i: f"HOST-{i:07d}.CORP.EXAMPLE.COM"),
            "model_category": CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
            "manufacturer": MAKERS[rng.integers(0, len(MAKERS), n)],
            "install_status": STATUSES[rng.integers(0, len(STATUSES), n)],
            "assigned_to": pd.Series(owner).map(lambda p: f"user{p}@example.com"),
            "location": pd.Series(rng.integers(0, 40, n)).map(lambda s: f"Site {s}"),
            "purchase_date": pd.Series(
                pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2500, n), unit="D")
            ).dt.strftime("%Y-%m-%d"),
            "cost": np.round(rng.uniform(100, 5000, n), 2),
            "sys_updated_on": "2026-10-01 00:00:00",
        }
    )
    with sqlite3.connect(folder / "cmdb.sqlite") as con:
        cmdb.to_sql("ci_computer", con, index=False, chunksize=100_000)
    seen = rng.random(n) < 0.7
    inv = pd.DataFrame(
        {
            "Device ID": idx[seen] + 10_000_000,
            "Computer Name": pd.Series(idx[seen]).map(lambda i: f"host-{i:07d}"),
            "Serial Number": serial[seen].str.lower().to_numpy(),
            "Manufacturer": cmdb["manufacturer"][seen].to_numpy(),
            "Status": np.where(rng.random(seen.sum()) < 0.9, "in use", "in repair"),
            "Last Seen": "10/30/2026 08:00",
        }
    )
    inv.to_csv(folder / "inventory.csv", index=False)


def config_for(folder: Path) -> dict[str, object]:
    return {
        "store": {"path": str(folder / "store")},
        "reconcile": {"assets": {"precedence": {"default": ["cmdb", "inventory"]}}},
        "sources": [
            {
                "name": "cmdb",
                "kind": "sql",
                "url": f"sqlite:///{folder / 'cmdb.sqlite'}",
                "entities": {
                    "assets": {
                        "table": "ci_computer",
                        "id": "sys_id",
                        "cursor": "sys_updated_on",
                        "fields": {
                            "asset_tag": "asset_tag",
                            "serial_number": "serial_number",
                            "hostname": "name",
                            "category": "model_category",
                            "manufacturer": "manufacturer",
                            "status": "install_status",
                            "assigned_to": "assigned_to",
                            "location": "location",
                            "purchase_date": "purchase_date",
                            "cost": {"column": "cost", "currency": "USD"},
                        },
                    }
                },
            },
            {
                "name": "inventory",
                "kind": "spreadsheet",
                "path": str(folder / "inventory.csv"),
                "entities": {
                    "assets": {
                        "id": "Device ID",
                        "fields": {
                            "hostname": "Computer Name",
                            "serial_number": "Serial Number",
                            "manufacturer": "Manufacturer",
                            "status": "Status",
                            "last_seen": "Last Seen",
                        },
                    }
                },
            },
        ],
    }


PAGE = """{ assets(where: {category: {_eq: "laptop"}, status: {_eq: "in_use"}},
            order_by: [{hostname: asc}], limit: 50, offset: 500) {
    id asset_tag serial_number hostname category status cost purchase_date
    location { name } assigned_to { email } } }"""
PAGE_SQL = """
WITH page AS (SELECT id, asset_tag, serial_number, hostname, category, status, cost,
                     purchase_date, location_id, assigned_to_id
              FROM assets WHERE category = 'laptop' AND status = 'in_use'
              ORDER BY hostname ASC, id ASC LIMIT 50 OFFSET 500)
SELECT page.*, l.name, p.email FROM page
LEFT JOIN locations l ON l.id = page.location_id
LEFT JOIN people p ON p.id = page.assigned_to_id"""
AGGREGATE = """{ assets_aggregate { aggregate { count sum { cost } }
    group_by(fields: [category, status]) { keys count sum { cost } } } }"""
AGGREGATE_SQL = """SELECT category, status, count(*), sum(cost) FROM assets
    GROUP BY category, status ORDER BY category, status"""


def change_and_resync(syncer: Any, folder: Path, share: float) -> tuple[int, float, float, str]:
    """Change `share` of the inventory's statuses and read it again; return the rows changed,
    the seconds of the publish that follows and of a publish of the same state merging
    everything."""
    inv = pd.read_csv(folder / "inventory.csv")
    rng = np.random.default_rng(5)
    rows = rng.choice(len(inv), max(1, int(len(inv) * share)), replace=False)
    inv.loc[rows, "Status"] = np.where(inv.loc[rows, "Status"] == "in use", "in repair", "in use")
    inv.to_csv(folder / "inventory.csv", index=False)
    inventory = next(s for s in syncer.config.sources if s.name == "inventory")
    syncer.sync_sources([inventory])
    t0 = time.perf_counter()
    report = syncer.publish()[1]
    incremental_s = time.perf_counter() - t0
    syncer.store.con.execute("DELETE FROM reconcile_state")  # forget what the last publish was
    t0 = time.perf_counter()
    syncer.publish()
    full_s = time.perf_counter() - t0
    how = "incremental" if report.incremental else f"FULL: {report.merged_all_because}"
    return len(rows), incremental_s, full_s, how


def _median_ms(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--change", type=float, default=0.01, help="share of inventory rows changed")
    parser.add_argument("--dir", help="work folder (default: a temporary one)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="assetgraph-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.generate_only:
        generate(folder, args.assets)
        return

    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--generate-only", "--assets", str(args.assets), "--dir", str(folder)],
        check=True,
    )
    gen_s = time.perf_counter() - t0

    from federation.access.policy import compile_policy
    from federation.config.roles import RoleConfig
    from federation.config.settings import parse_config
    from federation.pipeline.store import StoreReader
    from federation.pipeline.sync import Syncer
    from schema.context import RequestContext
    from schema.execute import decoded
    from schema.roles import RoleSchemas

    config = parse_config(config_for(folder), base_dir=folder)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    syncer = Syncer(config)
    t0 = time.perf_counter()
    report = syncer.run()
    sync_s = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    delta = change_and_resync(syncer, folder, args.change)
    syncer.close()

    snapshot = StoreReader(folder / "store").current()
    assert snapshot is not None
    everything = {"types": {"*": {"columns": "*", "allow_aggregations": True}}}
    policy = compile_policy({"admin": RoleConfig.model_validate(everything)})
    access = policy.role("admin")
    assert access is not None
    schema = RoleSchemas(policy).schema(access)
    actor = {"role": "admin"}

    def ctx() -> RequestContext:
        return RequestContext(snapshot=snapshot, server=config.settings.server, actor=actor, access=access)

    def gql(query: str) -> None:
        result = schema.execute_sync(query, context_value=ctx())
        assert not result.errors, result.errors
        json.dumps(decoded(result).data)

    def sql(query: str) -> None:
        snapshot.cursor().execute(query).fetchall()

    for q in (PAGE, AGGREGATE):
        gql(q)  # warm the parser and DuckDB's caches
    page_gql = _median_ms(lambda: gql(PAGE), args.runs)
    page_sql = _median_ms(lambda: sql(PAGE_SQL), args.runs)
    agg_gql = _median_ms(lambda: gql(AGGREGATE), args.runs)
    agg_sql = _median_ms(lambda: sql(AGGREGATE_SQL), args.runs)

    counts = report.reconcile.entities if report.reconcile else {}
    records = sum(r.records for r in report.sources)
    print(f"estate: {args.assets:,} assets; generated in {gen_s:.1f}s (child process)")
    print(
        f"sync:   {records:,} source records → {counts.get('assets', 0):,} assets, "
        f"{counts.get('people', 0):,} people, {counts.get('locations', 0):,} locations"
    )
    for r in report.sources:
        print(
            f"        {r.source:<10} {r.records:>10,} records in {r.seconds:6.1f}s "
            f"({r.records / max(r.seconds, 1e-9):,.0f} records/s)"
        )
    reconcile_s = sync_s - sum(r.seconds for r in report.sources)
    print(f"        total {sync_s:.1f}s (reconcile + publish {reconcile_s:.1f}s)")
    print(f"memory: peak RSS {peak_mib:,.0f} MiB (before sync {rss_before / 1024:,.0f} MiB)")
    changed, incremental_s, full_s, how = delta
    print(
        f"change: {changed:,} inventory rows ({args.change:.0%}); publish merging what changed "
        f"{incremental_s:.1f}s ({how}), merging everything {full_s:.1f}s: "
        f"{incremental_s / full_s:.2f} of a full rebuild"
    )
    print(f"{'query':<34}{'GraphQL ms':>12}{'DuckDB ms':>12}{'ratio':>8}")
    print(f"{'50-row page, 2 relations':<34}{page_gql:>12.1f}{page_sql:>12.1f}{page_gql / page_sql:>8.1f}")
    print(f"{'aggregate by category, status':<34}{agg_gql:>12.1f}{agg_sql:>12.1f}{agg_gql / agg_sql:>8.1f}")


if __name__ == "__main__":
    main()
