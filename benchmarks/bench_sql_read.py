"""Read 200k rows x 12 columns from PostgreSQL: the sql connector against pandas.read_sql and
a bare psycopg fetchall, in the same run.

    .venv/bin/python benchmarks/bench_sql_read.py [--rows 200000] [--repeat 3]

Uses ASSETGRAPH_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
creates and drops a table named bench_assets_<random>.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psycopg
import sqlalchemy as sa

from connectors.sql import SqlConnector, SqlSourceConfig

URL = os.environ.get("ASSETGRAPH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TABLE = f"bench_assets_{uuid.uuid4().hex[:8]}"

CREATE = f"""
CREATE TABLE {TABLE} AS
SELECT md5(i::text) AS sys_id, lpad(i::text, 8, '0') AS asset_tag, 'SN' || i AS serial,
       'host-' || i AS hostname, (ARRAY['laptop','desktop','server'])[i % 3 + 1] AS category,
       'Vendor ' || (i % 17) AS manufacturer, 'Model ' || (i % 101) AS model,
       (i % 64) + 1 AS ram_gb, round((random() * 3000)::numeric, 2) AS cost,
       date '2020-01-01' + (i % 1500) AS purchased,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute' AS updated_at,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'note ' || i END AS notes
FROM generate_series(1, %(rows)s) AS i
"""


def timed(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = fn()
        best = min(best, time.perf_counter() - start)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dsn = sa.make_url(URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(CREATE.replace("%(rows)s", str(int(args.rows))))
    engine = sa.create_engine(URL)
    config = SqlSourceConfig.model_validate(
        {"name": "bench", "kind": "sql", "url": URL, "entities": {"assets": {
            "table": TABLE, "id": "sys_id", "fields": {"asset_tag": "asset_tag"}}}}
    )  # fmt: skip
    connector = SqlConnector(config, base_dir=Path.cwd())

    def with_connector() -> int:
        return sum(len(b.frame) for b in connector.read("assets"))

    def with_read_sql() -> int:
        with engine.connect() as conn:
            return len(pd.read_sql(sa.text(f"SELECT * FROM {TABLE}"), conn))

    def with_fetchall() -> int:
        with psycopg.connect(dsn) as conn:
            return len(conn.execute(f"SELECT * FROM {TABLE}").fetchall())

    try:
        results = [
            ("sql connector (COPY → pyarrow, frames)", *timed(with_connector, args.repeat)),
            ("pandas.read_sql (SQLAlchemy)", *timed(with_read_sql, args.repeat)),
            ("psycopg fetchall (tuples, no frame)", *timed(with_fetchall, args.repeat)),
        ]
    finally:
        connector.close()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {TABLE}")
        engine.dispose()
    print(f"{args.rows:,} rows x 12 columns, best of {args.repeat}")
    print(f"{'method':<42} {'seconds':>8} {'rows':>9}")
    for name, seconds, rows in results:
        print(f"{name:<42} {seconds:>8.3f} {rows:>9,}")


if __name__ == "__main__":
    main()
