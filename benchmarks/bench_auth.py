"""The cost of enforcement: a 100-row page and an aggregate as `admin` (no restriction)
against restricted roles (`network_team`: a row filter on a column; `employee`: a row filter
through a relationship, an `_or`, fewer columns), in the same process and the same run.

    .venv/bin/python benchmarks/bench_auth.py [--assets 100000] [--repeat 50]

Executes through each role's own schema with its access in the context (what /graphql does,
without HTTP and without the result cache), on a synthetic published store. Reports the
median and p90 per query.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from federation.access.policy import compile_policy
from federation.config.roles import RoleConfig
from federation.config.settings import ServerConfig
from federation.pipeline.store import Publisher, StoreReader
from schema.context import RequestContext
from schema.execute import decoded
from schema.roles import RoleSchemas

CATEGORIES = ["laptop", "desktop", "server", "network", "phone", "monitor"]
STATUSES = ["in_use", "in_use", "in_use", "in_stock", "in_repair", "retired"]


def frames(n_assets: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n_people = max(10, n_assets // 10)
    people = pd.DataFrame(
        {
            "id": [f"p{i:08d}" for i in range(n_people)],
            "email": [f"user{i}@example.com" for i in range(n_people)],
            "name": [f"User {i}" for i in range(n_people)],
            "department": rng.choice(["IT", "Finance", "Sales", "HR"], n_people),
            "employment_status": "active",
        }
    )
    locations = pd.DataFrame({"id": [f"l{i}" for i in range(20)], "name": [f"Site {i}" for i in range(20)]})
    assigned = rng.integers(0, n_people, n_assets)
    assets = pd.DataFrame(
        {
            "id": [f"a{i:08d}" for i in range(n_assets)],
            "asset_tag": [f"AT-{i:07d}" for i in range(n_assets)],
            "hostname": [f"host-{i}" for i in range(n_assets)],
            "name": [f"Asset {i}" for i in range(n_assets)],
            "category": rng.choice(CATEGORIES, n_assets),
            "status": rng.choice(STATUSES, n_assets),
            "manufacturer": rng.choice(["Dell", "HP", "Lenovo", "Apple", "Cisco"], n_assets),
            "model": "M",
            "cost": rng.integers(100, 5000, n_assets).astype(float),
            "location_id": [f"l{i % 20}" for i in range(n_assets)],
            "assigned_to_id": [f"p{a:08d}" for a in assigned],
        }
    )
    return {"assets": assets, "people": people, "locations": locations}


SERVER = ServerConfig(max_limit=1000)
QUERIES = {
    "page of 100": "{ assets(limit: 100, order_by: {asset_tag: asc}) { id asset_tag name category status "
    "location { name } } }",
    "page of 1000": "{ assets(limit: 1000, order_by: {asset_tag: asc}) { id asset_tag name category status "
    "location { name } } }",
    "aggregate": "{ assets_aggregate { aggregate { count } } }",
    "group_by": "{ assets_aggregate { group_by(fields: [status]) { keys count } } }",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text(encoding="utf-8"))
    roles = {name: RoleConfig.model_validate(body or {}) for name, body in raw["roles"].items()}
    policy = compile_policy(roles)
    schemas = RoleSchemas(policy)
    with tempfile.TemporaryDirectory() as tmp:
        Publisher(Path(tmp)).publish(frames(args.assets))
        snapshot = StoreReader(Path(tmp)).current()
        assert snapshot is not None
        actors: dict[str, dict[str, Any]] = {
            "admin": {"role": "admin"},
            "network_team": {"role": "network_team"},
            "employee": {"role": "employee", "email": "user42@example.com"},
        }
        print(f"{args.assets:,} assets; median / p90 of {args.repeat} runs, ms")
        print(f"{'query':<14}" + "".join(f"{role:>22}" for role in actors))
        for label, query in QUERIES.items():
            cells = []
            for role, actor in actors.items():
                access = policy.role(role)
                assert access is not None
                schema = schemas.schema(access)
                times = []
                rows = None
                for i in range(args.repeat + 3):
                    ctx = RequestContext(snapshot=snapshot, server=SERVER, actor=actor, access=access)
                    started = time.perf_counter()
                    result = decoded(schema.execute_sync(query, context_value=ctx))
                    elapsed = (time.perf_counter() - started) * 1000
                    if result.errors:
                        rows = result.errors[0].message[:18]
                        break
                    if i >= 3:
                        times.append(elapsed)
                    data = next(iter(result.data.values()))
                    rows = len(data) if isinstance(data, list) else (data.get("aggregate") or {}).get("count")
                if times:
                    p90 = statistics.quantiles(times, n=10)[-1]
                    cells.append(f"{statistics.median(times):7.2f} /{p90:6.2f} ({rows})")
                else:
                    cells.append(f"{'(not allowed)':>20}")
            print(f"{label:<14}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
