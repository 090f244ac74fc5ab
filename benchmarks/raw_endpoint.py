"""The baseline of bench_query.py: what a good hand-written endpoint would do for Q1-Q4.

    .venv/bin/python benchmarks/raw_endpoint.py SNAPSHOT.duckdb PORT

Starlette on uvicorn (127.0.0.1), a DuckDB cursor per thread on the snapshot opened read-only,
the SQL below (filter + order + limit on `assets`, LEFT JOINs for location and assignee),
rows turned into the GraphQL response's dicts, orjson. It answers bench_query's POSTs by
their operationName and ignores the query text and the credentials.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import duckdb
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LIMITS = {"Q1": 20, "Q2": 1000}
PAGE_SQL = """
WITH page AS (
    SELECT id, asset_tag, serial_number, hostname, category, status, manufacturer,
           cost::DOUBLE AS cost, purchase_date, last_seen, location_id, assigned_to_id
    FROM assets WHERE category = $category AND status = $status
    ORDER BY hostname, id LIMIT $limit OFFSET $offset)
SELECT page.* EXCLUDE (location_id, assigned_to_id), l.name, p.email
FROM page
LEFT JOIN locations l ON l.id = page.location_id
LEFT JOIN people p ON p.id = page.assigned_to_id
ORDER BY page.hostname, page.id"""
GROUPS_SQL = """SELECT category, status, count(*) FROM assets WHERE cost >= $min_cost
GROUP BY category, status ORDER BY category, status"""
COUNT_SQL = "SELECT count(*) FROM assets WHERE category = $category AND status = $status"
#: the page's columns before location and assignee, in the SELECT's order
PAGE_KEYS = ("id", "asset_tag", "serial_number", "hostname", "category", "status", "manufacturer",
             "cost", "purchase_date", "last_seen")  # fmt: skip


def raw_app(snapshot: Path) -> Starlette:
    con = duckdb.connect(str(snapshot), read_only=True)
    local = threading.local()

    def run(name: str, v: dict[str, Any]) -> dict[str, Any]:
        cur = getattr(local, "cur", None) or con.cursor()
        local.cur = cur
        if name in LIMITS:
            out = []
            for r in cur.execute(PAGE_SQL, {**v, "limit": LIMITS[name]}).fetchall():
                d = dict(zip(PAGE_KEYS, r, strict=False))
                d["location"] = {"name": r[10]} if r[10] is not None else None
                d["assigned_to"] = {"email": r[11]} if r[11] is not None else None
                out.append(d)
            return {"assets": out}
        if name == "Q3":
            rows = cur.execute(GROUPS_SQL, v).fetchall()
            groups = [{"keys": {"category": c, "status": s}, "count": n} for c, s, n in rows]
            return {"assets_aggregate": {"group_by": groups}}
        (count,) = cur.execute(COUNT_SQL, v).fetchall()[0]
        return {"assets_aggregate": {"aggregate": {"count": count}}}

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        data = await anyio.to_thread.run_sync(run, body["operationName"], body["variables"])
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)])


if __name__ == "__main__":
    app = raw_app(Path(sys.argv[1]))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
