"""The write path's cost, beside the source's own: one update from request to the new value
being served, and a bulk check-out of 100 scans, on the embedded demo (its CMDB and endpoint
team database are SQLite files the gateway writes back to).

Run: .venv/bin/python benchmarks/bench_writes.py [--assets 3000] [--repeat 20]

Also times an `update_assets` of the same 100 rows (one all-or-nothing write of them all).
`--assets 100000` runs it on a demo of that size (the sync before it takes a few minutes).

Prints, for each: the median and worst wall time over the runs, and the same change made
directly in the source's SQLite file (an UPDATE of the same row, one statement per asset),
so the figures read as "the gateway's overhead over the source's own write". The machine's
other work shows in every figure: compare the columns of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.serving import serving  # noqa: E402

from federation.config.settings import load_config  # noqa: E402
from federation.demo import prepare_demo  # noqa: E402
from federation.pipeline.store import StoreReader  # noqa: E402
from federation.pipeline.sync import Syncer  # noqa: E402
from federation.serving.app import create_app  # noqa: E402
from federation.serving.cli import main as cli  # noqa: E402

UPDATE = (
    "mutation($id: uuid!, $s: String) { update_assets_by_pk(pk_columns: {id: $id}, _set: {status: $s}) "
    "{ status } }"
)
READ = "query($id: uuid!) { assets_by_pk(id: $id) { status } }"
BULK = (
    "mutation($scans: [String!]!, $p: uuid) { checkout_assets(scans: $scans, to_person: $p) { ok reason } }"
)
CHECKIN = "mutation($scans: [String!]!) { checkin_assets(scans: $scans) { ok } }"
MANY = (
    "mutation($ids: [uuid!]!, $s: String) { update_assets(where: {id: {_in: $ids}}, _set: {status: $s}) "
    "{ affected_rows } }"
)


def _token(config: Path, role: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli(["token", "--config", str(config), "--role", role])
    return out.getvalue().strip()


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _line(name: str, times: list[float]) -> str:
    return f"{name:<52} median {statistics.median(times) * 1000:8.1f} ms   worst {max(times) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
        raw["demo"] = {**raw["demo"], "assets": args.assets, "vendor_port": 0}
        # the SaaS sources (their simulator is not started here) play no part in the writes
        raw["sources"] = [s for s in raw["sources"] if s["kind"] not in ("okta", "msgraph")]
        kept = {s["name"] for s in raw["sources"]}
        for rules in raw.get("reconcile", {}).values():
            lists = (rules or {}).get("precedence", {})
            for name, order in lists.items():
                lists[name] = [s for s in order if s in kept]
        (folder / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
        config = load_config(folder / "config.yaml")
        prepare_demo(config)
        syncer = Syncer(config)
        try:
            syncer.run()
        finally:
            syncer.close()
        admin, desk = _token(config.path, "admin"), _token(config.path, "service_desk")  # type: ignore[arg-type]
        app = create_app(config, StoreReader(config.resolve(config.settings.store.path)))
        with serving(app) as url, httpx.Client(base_url=url, timeout=600) as http:

            def ask(token: str, query: str, **variables: Any) -> dict[str, Any]:
                body = http.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                ).json()
                if body.get("errors"):
                    raise SystemExit(f"{query[:40]}…: {body['errors'][0]['message']}")
                return body["data"]

            listed = ask(
                admin,
                '{ assets(where: {status: {_eq: "in_stock"}}, limit: 1000) '
                "{ id asset_tag provenance { field source record_id } } }",
            )["assets"]
            # those whose status the CMDB holds: the direct writes below touch the same rows
            stock = [
                {**a, "record": p["record_id"]}
                for a in listed
                for p in a["provenance"]
                if p["field"] == "status" and p["source"] == "cmdb"
            ]
            # scans that name one asset (a large demo repeats a few tags, and a tag may be
            # another asset's serial): those the desk refuses as ambiguous are left out
            tags = [a["asset_tag"] for a in stock[:200]]
            either = [{c: {"_ilike": t}} for t in tags for c in ("asset_tag", "serial_number")]
            named = ask(
                admin,
                "query($w: assets_bool_exp!) { assets(where: $w, limit: 5000) { asset_tag serial_number } }",
                w={"_or": either},
            )["assets"]
            hits: dict[str, int] = {}
            for a in named:
                for value in {str(a["asset_tag"]).lower(), str(a["serial_number"]).lower()}:
                    hits[value] = hits.get(value, 0) + 1
            stock = [a for a in stock if hits.get(a["asset_tag"].lower()) == 1]
            person = ask(admin, '{ people(where: {employment_status: {_eq: "active"}}, limit: 1) { id } }')[
                "people"
            ][0]
            one = stock[0]
            flip = iter(["in_repair", "in_stock"] * args.repeat)

            def update_and_read() -> None:
                status = next(flip)
                ask(admin, UPDATE, id=one["id"], s=status)
                assert ask(admin, READ, id=one["id"])["assets_by_pk"]["status"] == status

            gateway_one = _timed(update_and_read, args.repeat)
            cmdb = config.resolve("data/demo/cmdb.sqlite")
            record = one["record"]

            def direct_one() -> None:
                with sqlite3.connect(cmdb) as con:
                    con.execute(
                        "UPDATE ci_computer SET install_status = install_status WHERE sys_id = ?", [record]
                    )

            source_one = _timed(direct_one, args.repeat)
            tags = [a["asset_tag"] for a in stock[1:101]]
            runs = max(1, min(5, args.repeat // 4))
            bulk_times, checkin_times = [], []
            for _ in range(runs):
                start = time.perf_counter()
                results = ask(desk, BULK, scans=tags, p=person["id"])["checkout_assets"]
                bulk_times.append(time.perf_counter() - start)
                failed = [r for r in results if not r["ok"]]
                if failed:
                    raise SystemExit(f"{len(failed)} of {len(results)} scans refused: {failed[0]['reason']}")
                start = time.perf_counter()
                ask(desk, CHECKIN, scans=tags)
                checkin_times.append(time.perf_counter() - start)
            # the same 100 rows in one update_assets (one write of them all), there and back
            ids = [a["id"] for a in stock[1:101]]
            many_times = []
            for status in ["in_repair", "in_stock"] * runs:
                start = time.perf_counter()
                assert ask(admin, MANY, ids=ids, s=status)["update_assets"]["affected_rows"] == len(ids)
                many_times.append(time.perf_counter() - start)
            records = [a["record"] for a in stock[1:101]]

            def direct_bulk() -> None:
                with sqlite3.connect(cmdb) as con:
                    for r in records:
                        con.execute(
                            "UPDATE ci_computer SET install_status = install_status WHERE sys_id = ?", [r]
                        )

            source_bulk = _timed(direct_bulk, runs)
    print(
        f"demo of {args.assets:,} assets; {args.repeat} single updates, {runs} bulk runs of {len(tags)} scans"
    )
    print(_line("update through the gateway, then read back", gateway_one))
    print(_line("the same row updated in the CMDB's SQLite file", source_one))
    print(_line(f"bulk check-out of {len(tags)} scans (one request)", bulk_times))
    print(_line(f"bulk check-in of {len(tags)} scans (one request)", checkin_times))
    print(_line(f"update_assets of {len(ids)} rows (one request)", many_times))
    print(_line(f"{len(tags)} rows updated in the CMDB's SQLite file", source_bulk))


if __name__ == "__main__":
    main()
