"""Q1-Q4 over HTTP: the gateway against a bare Starlette + DuckDB + orjson endpoint.

    .venv/bin/python benchmarks/bench_query.py --dir /tmp/qbench          # 1M assets, 15 s a query
    .venv/bin/python benchmarks/bench_query.py --quick --dir /tmp/qbench  # 100k assets, 6 s a query

Builds the estate of benchmarks/bench_estate.py (generation and `assetgraph sync` each run in
a child process; with `--dir`, a folder that already holds an estate of the same size is
reused, and synced again only when the code that lays out the store has changed: syncing 1M
assets takes minutes), then serves its published snapshot, each server in its own process on
127.0.0.1:

- the gateway, `assetgraph serve`, asked over GraphQL POSTs with an admin bearer token, so it
  measures whatever read path is current (this process holds the store's sync lock, so the
  server does not sync);
- the raw endpoint (benchmarks/raw_endpoint.py): the SQL a good hand-written endpoint would
  run on the same snapshot file, rows -> dicts -> orjson;
- the raw endpoint again on a copy of its tables in the store's layout before issue 7 (sorted,
  DuckDB's default row groups, no index): what the store change bought, measured in the same
  minutes on the same machine (`--no-before` skips it).

Each query is driven by `wrk` (Debian package `wrk`; -t2 -c16) with a Lua script: "cache off"
runs vary the variables on every request against a gateway started with `server.cache_size:
0`, in turns that alternate between the endpoints (the median turn is reported); "cache on"
runs repeat one request (Q1's first variables) against a gateway with the cache for
`--cache-seconds` (default 120; --quick: 30) in stretches of 15 s, with the p99 of each
stretch and the server's RSS at the start and the end. Before loading, every query's answer
from the gateway and the raw endpoint is compared. Prints req/s, p50 and p99 per query and
endpoint, and the ratios issue 7's targets are stated in.

    Q1  20 assets of one category and status, ordered by host name, 12 fields (2 relations)
    Q2  the same with 1,000 rows
    Q3  count grouped by category and status (cost >= a varying threshold)
    Q4  count of one category and status
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_estate import config_for  # noqa: E402
from benchmarks.bench_serving import cpu_seconds, rss_mb  # noqa: E402
from benchmarks.raw_endpoint import LIMITS  # noqa: E402

CATEGORIES = ("laptop", "desktop", "server", "network", "monitor", "tablet")
STATUSES = ("in_use", "in_stock", "in_repair", "retired", "ordered")
SECRET = "bench-query-secret-loopback-only-0123456789abcdef"
PAGE_FIELDS = (
    "id asset_tag serial_number hostname category status manufacturer cost purchase_date last_seen "
    "location { name } assigned_to { email }"
)
PAGE_GQL = (
    "query {name}($category: String!, $status: String!, $offset: Int!) {{ assets(where: "
    "{{category: {{_eq: $category}}, status: {{_eq: $status}}}}, order_by: [{{hostname: asc}}], "
    "limit: {limit}, offset: $offset) {{ {fields} }} }}"
)
QUERIES: dict[str, str] = {
    "Q1": PAGE_GQL.format(name="Q1", limit=20, fields=PAGE_FIELDS),
    "Q2": PAGE_GQL.format(name="Q2", limit=1000, fields=PAGE_FIELDS),
    "Q3": "query Q3($min_cost: numeric!) { assets_aggregate(where: {cost: {_gte: $min_cost}}) "
    "{ group_by(fields: [category, status]) { keys count } } }",
    "Q4": "query Q4($category: String!, $status: String!) { assets_aggregate(where: "
    "{category: {_eq: $category}, status: {_eq: $status}}) { aggregate { count } } }",
}


def variables(name: str, i: int) -> dict[str, Any]:
    """The i-th variable set of a query (what the Lua script computes for request i)."""
    if name == "Q3":
        return {"min_cost": i % 100_000 / 1000}
    out: dict[str, Any] = {
        "category": CATEGORIES[i % len(CATEGORIES)],
        "status": STATUSES[i // len(CATEGORIES) % len(STATUSES)],
    }
    if name in LIMITS:
        out["offset"] = i * 20 % 1000
    return out


# --------------------------------------------------------------------- estate and servers


def layout() -> str:
    """A digest of the code that decides the published layout: an estate published by other
    code is synced again, so the runs measure the store as it is now."""
    files = (
        "federation/model/tables.py",
        "federation/pipeline/layout.py",
        "federation/pipeline/store.py",
        "federation/pipeline/reconcile.py",
    )
    return hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in files)).hexdigest()[:16]


def prepare(folder: Path, assets: int, *, resync: bool = False) -> Path:
    """A synced estate of `assets` assets in `folder` (reused when already there); its config."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "estate.json"
    state = json.loads(marker.read_text()) if marker.exists() else {}
    t0 = time.perf_counter()
    if state.get("assets") != assets:
        script = ROOT / "benchmarks" / "bench_estate.py"
        gen = [sys.executable, str(script), "--generate-only", "--assets", str(assets), "--dir", str(folder)]
        subprocess.run(gen, check=True)
        shutil.rmtree(folder / "store", ignore_errors=True)
        state = {"assets": assets}
        marker.write_text(json.dumps(state))
        print(f"estate: {assets:,} assets generated in {time.perf_counter() - t0:.0f}s", flush=True)
    cfg = config_for(folder)
    cfg["auth"] = {
        "jwt_keys": [{"kid": "bench", "algorithm": "HS256", "secret": SECRET}],
        "issuer": "assetgraph-bench",
        "audience": "assetgraph",
    }
    cfg["roles"] = {"admin": {"types": {"*": {"columns": "*", "allow_aggregations": True}}}}
    cfg["server"] = {"max_limit": 1000, "graphiql": False}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    if resync or state.get("layout") != layout():
        t0 = time.perf_counter()
        sync = [sys.executable, "-m", "federation.serving.cli", "sync", "--config", str(config)]
        subprocess.run(sync, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        state["layout"] = layout()
        marker.write_text(json.dumps(state))
        print(f"estate: synced and published in {time.perf_counter() - t0:.0f}s", flush=True)
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server in a child process, stopped on exit."""

    def __init__(self, argv: list[str], port: int, ready: str, cwd: Path = ROOT) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(argv, cwd=cwd)
        self.ready = ready

    def __enter__(self) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + self.ready, timeout=5).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready in 120s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def gateway(config: Path, folder: Path, cache_size: int) -> Server:
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["server"]["cache_size"] = cache_size
    path = folder / f"serve-cache{cache_size}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "federation.serving.cli",
        "serve",
        "--config",
        str(path),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return Server(argv, port, "/readyz", cwd=folder)


def raw(snapshot: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(ROOT / "benchmarks" / "raw_endpoint.py"), str(snapshot), str(port)]
    return Server(argv, port, "/healthz")


# --------------------------------------------------------------------- checking and loading


def post(url: str, token: str, name: str, v: dict[str, Any]) -> dict[str, Any]:
    body = {"query": QUERIES[name], "operationName": name, "variables": v}
    response = httpx.post(
        url + "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    out = response.json()
    if response.status_code != 200 or out.get("errors"):
        raise RuntimeError(f"{name} {v}: HTTP {response.status_code}: {str(out)[:500]}")
    return out["data"]


def summary(name: str, data: dict[str, Any]) -> Any:
    """What both endpoints must agree on: ids and relations of a page, counts of aggregates."""
    if name in LIMITS:
        rows = data["assets"]
        return [
            (r["id"], r["hostname"], (r["location"] or {}).get("name"), (r["assigned_to"] or {}).get("email"))
            for r in rows
        ]
    agg = data["assets_aggregate"]
    if name == "Q3":
        return sorted((g["keys"]["category"], g["keys"]["status"], g["count"]) for g in agg["group_by"])
    return agg["aggregate"]["count"]


def check(gateway_url: str, raw_url: str, token: str) -> None:
    for name in QUERIES:
        for i in (0, 7, 31):
            v = variables(name, i)
            got, want = (
                summary(name, post(gateway_url, token, name, v)),
                summary(name, post(raw_url, token, name, v)),
            )
            if got != want or (name in LIMITS and len(want) != LIMITS[name]):
                raise RuntimeError(f"{name} {v}: the gateway and the raw endpoint disagree")


LUA = """
local bodies = {{}}
local n = 0
local id = 0
local threads = 0
{bodies}
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  n = id
end
request = function()
  local body = bodies[(n % #bodies) + 1]
  if {vary} then n = n + {step} end
  return wrk.format("POST", "/graphql", {{["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer {token}"}}, body)
end
"""


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    #: CPU time of the server's processes per request: hardly moved by other work on the machine
    cpu_ms: float = 0.0


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def load(url: str, token: str, name: str, *, vary: bool, seconds: int, connections: int) -> Load:
    """wrk on one query: request i of a thread carries variables(name, i·threads + thread)."""
    count = 4000 if vary else 1
    bodies = "\n".join(
        "bodies[{}] = [==[{}]==]".format(
            i + 1,
            orjson.dumps(
                {"query": QUERIES[name], "operationName": name, "variables": variables(name, i)}
            ).decode(),
        )
        for i in range(count)
    )
    script = LUA.format(bodies=bodies, vary="true" if vary else "false", step=2, token=token)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        cmd = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "60s",
            "-s",
            fh.name,
            url + "/graphql",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        Path(fh.name).unlink()
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests on {name}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Load(rps, p50, p99, requests)


def measured(server: Server, token: str, name: str, *, vary: bool, seconds: int, connections: int) -> Load:
    """`load` of one server, with its CPU time per request."""
    before = cpu_seconds(server.proc.pid)
    figures = load(server.url, token, name, vary=vary, seconds=seconds, connections=connections)
    figures.cpu_ms = (cpu_seconds(server.proc.pid) - before) * 1000 / max(figures.requests, 1)
    return figures


def drive(
    endpoints: list[tuple[str, Server]],
    token: str,
    name: str,
    vary: bool,
    seconds: int,
    rounds: int,
    connections: int,
) -> dict[str, Load]:
    """Each endpoint `seconds` in all, in `rounds` turns that alternate between the endpoints
    (so a burst of other work on the machine falls on all of them); the median turn of each."""
    runs: dict[str, list[Load]] = {key: [] for key, _ in endpoints}
    for _, server in endpoints:
        load(server.url, token, name, vary=vary, seconds=1, connections=connections)  # warm up
    for turn in range(rounds):
        for key, server in endpoints[turn % len(endpoints) :] + endpoints[: turn % len(endpoints)]:
            length = max(1, seconds // rounds)
            runs[key].append(
                measured(server, token, name, vary=vary, seconds=length, connections=connections)
            )
    out = {}
    for key, loads in runs.items():
        med = {
            f: statistics.median(getattr(x, f) for x in loads) for f in ("rps", "p50_ms", "p99_ms", "cpu_ms")
        }
        out[key] = Load(
            med["rps"], med["p50_ms"], med["p99_ms"], sum(x.requests for x in loads), med["cpu_ms"]
        )
        turns = ", ".join(f"{x.rps:,.0f}" for x in loads)
        print(f"  {name} {COLUMNS[key]:<20} {out[key].rps:>8,.0f} req/s  p50 {out[key].p50_ms:7.1f} ms"
              f"  CPU {out[key].cpu_ms:5.1f} ms/req  (turns: {turns} req/s)", flush=True)  # fmt: skip
    return out


@dataclass
class Sustained:
    """The cache-on run: one document repeated, in stretches."""

    name: str
    stretches: list[tuple[int, Load, float]]  # (seconds so far, figures, RSS MB after)
    rss_start_mb: float

    @property
    def worst_p99_ms(self) -> float:
        return max(x.p99_ms for _, x, _ in self.stretches)

    @property
    def rps(self) -> float:
        seconds = self.stretches[-1][0]
        return sum(x.requests for _, x, _ in self.stretches) / seconds


def sustained(
    server: Server, url: str, token: str, name: str, seconds: int, stretch: int, connections: int
) -> Sustained:
    """`name` with its first variables, repeated (every request after the first is a cache
    hit), for `seconds` in back-to-back wrk runs of `stretch` seconds."""
    load(url, token, name, vary=False, seconds=1, connections=connections)  # fills the cache
    time.sleep(1)
    start = rss_mb(server.proc.pid)
    stretches: list[tuple[int, Load, float]] = []
    elapsed = 0
    while elapsed < seconds:
        length = min(stretch, seconds - elapsed)
        figures = load(url, token, name, vary=False, seconds=length, connections=connections)
        elapsed += length
        stretches.append((elapsed, figures, rss_mb(server.proc.pid)))
        print(
            f"  cache on, {name} repeated: until {elapsed:>4}s {figures.rps:>7,.0f} req/s  "
            f"p50 {figures.p50_ms:6.1f} ms  p99 {figures.p99_ms:6.1f} ms  RSS {stretches[-1][2]:.0f} MB",
            flush=True,
        )
    return Sustained(name, stretches, start)


# --------------------------------------------------------------------- report

#: how the store was published before issue 7: sorted, DuckDB's default row groups, no index
BEFORE_SORT_KEYS = {"assets": "category, status, hostname", "people": "email", "locations": "name"}
#: the raw endpoint's Q1 on that store, measured on an idle 2-core machine (issue 7)
BEFORE_RAW_Q1 = (250, 290)


def baseline(snapshot: Path, folder: Path) -> Path:
    """The tables the raw endpoint reads, copied from `snapshot` into the layout of before."""
    path = folder / f"before-{snapshot.stem}.duckdb"
    if not path.exists():
        for stale in folder.glob("before-*.duckdb"):  # copies of snapshots since replaced
            stale.unlink()
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        con = duckdb.connect()
        con.execute(f"ATTACH '{snapshot}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{tmp}' AS before")
        for table, keys in BEFORE_SORT_KEYS.items():
            con.execute(f"CREATE TABLE before.{table} AS SELECT * FROM src.{table} ORDER BY {keys}")
        con.close()
        tmp.rename(path)
    return path


COLUMNS = {
    "off": "gateway, cache off",
    "raw": "raw endpoint",
    "before": "raw, store before",
    "on": "gateway, cache on",
}


def report(results: dict[str, dict[str, Load]], cached: Sustained | None) -> None:
    keys = [k for k in COLUMNS if any(k in r for r in results.values())]
    print(f"{'':4}" + "".join(f"{COLUMNS[k]:>34}" for k in keys))
    print(f"{'':4}" + f"{'req/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}" * len(keys))
    for name, r in results.items():
        cells = "".join(
            f"{x.rps:>10,.0f}{x.p50_ms:>8.1f}{x.p99_ms:>8.1f}{x.cpu_ms:>8.1f}"
            if x
            else f"{'-':>10}{'-':>8}{'-':>8}{'-':>8}"
            for x in (r.get(k) for k in keys)
        )
        print(f"{name:<4}{cells}")
    print("(CPU ms: the server's CPU time per request, all its threads)")
    print()
    print("gateway (cache off) / raw endpoint:")
    targets = {"Q1": "req/s ≥ 0.7", "Q2": "p50 ≤ 1.2", "Q3": "p50 ≤ 1.5", "Q4": "none"}
    for name, r in results.items():
        if "off" in r and "raw" in r:
            rps, p50 = r["off"].rps / r["raw"].rps, r["off"].p50_ms / r["raw"].p50_ms
            cpu = r["off"].cpu_ms / r["raw"].cpu_ms if r["raw"].cpu_ms else float("nan")
            print(
                f"  {name}: req/s {rps:5.2f}x   p50 {p50:5.2f}x   CPU/request {cpu:5.2f}x   "
                f"(target: {targets[name]})"
            )
    if any("before" in r for r in results.values()):
        print("raw endpoint / raw endpoint on the store before (same machine, same minutes):")
        for name, r in results.items():
            if "raw" in r and "before" in r:
                rps = r["raw"].rps / r["before"].rps
                cpu = r["before"].cpu_ms / r["raw"].cpu_ms if r["raw"].cpu_ms else float("nan")
                target = "   (target: req/s ≥ 4)" if name == "Q1" else ""
                print(
                    f"  {name}: req/s {rps:5.2f}x   p50 {r['raw'].p50_ms / r['before'].p50_ms:5.2f}x   "
                    f"CPU/request before / now {cpu:5.2f}x{target}"
                )
    if "raw" in results.get("Q1", {}):
        lo, hi = BEFORE_RAW_Q1
        rps = results["Q1"]["raw"].rps
        print(
            f"raw endpoint Q1: {rps:,.0f} req/s = {rps / hi:.2f}-{rps / lo:.2f}x the {lo}-{hi} req/s "
            "measured before issue 7 on an idle machine (1M assets)"
        )
    if cached is not None:
        seconds = cached.stretches[-1][0]
        end = cached.stretches[-1][2]
        print(
            f"cache on, {cached.name} repeated for {seconds}s: {cached.rps:,.0f} req/s, worst p99 of a "
            f"stretch {cached.worst_p99_ms:.1f} ms (target: < 50), RSS {cached.rss_start_mb:.0f} -> "
            f"{end:.0f} MB ({end - cached.rss_start_mb:+.0f} MB; target: flat)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k assets, 5 s per run")
    parser.add_argument("--assets", type=int, help="default 1,000,000 (--quick: 100,000)")
    parser.add_argument("--seconds", type=int, help="per query and endpoint (default 15; --quick: 6)")
    parser.add_argument("--rounds", type=int, help="turns the seconds are split in (default 3; --quick: 2)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--cache-seconds", type=int, help="the cache-on run of one repeated Q1 (default 120; --quick: 30)"
    )
    parser.add_argument("--queries", default="Q1,Q2,Q3,Q4", help="comma-separated subset")
    parser.add_argument(
        "--dir", help="estate folder, reused when it holds the same size (default: temporary)"
    )
    parser.add_argument("--resync", action="store_true", help="sync and publish the estate again")
    parser.add_argument("--prepare-only", action="store_true", help="build and sync the estate, then exit")
    parser.add_argument(
        "--no-before", action="store_true", help="skip the raw endpoint on the store's layout before issue 7"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_query needs wrk on PATH (Debian: apt-get install -y wrk)")
    assets = args.assets or (100_000 if args.quick else 1_000_000)
    seconds = args.seconds or (6 if args.quick else 15)
    rounds = args.rounds or (2 if args.quick else 3)
    cache_seconds = args.cache_seconds if args.cache_seconds is not None else (30 if args.quick else 120)
    names = [n.strip().upper() for n in args.queries.split(",") if n.strip()]
    unknown = [n for n in names if n not in QUERIES]
    if unknown:
        sys.exit(f"--queries: unknown {', '.join(unknown)}; expected some of {', '.join(QUERIES)}")

    from datetime import timedelta

    from federation.access.auth import issue_token
    from federation.config.settings import load_config
    from federation.pipeline.store import SyncLock

    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="assetgraph-qbench-"))
    config_file = prepare(folder, assets, resync=args.resync)
    if args.prepare_only:
        return
    config = load_config(config_file)
    assert config.settings.auth is not None
    token = issue_token(config.settings.auth, "admin", {}, subject="bench-query", ttl=timedelta(hours=4))
    root = config.resolve(config.settings.store.path)
    snapshot = root / "published" / (root / "published" / "CURRENT").read_text(encoding="utf-8").strip()
    lock = SyncLock(root)  # held here, so the gateway's scheduler never syncs during the runs
    if not lock.acquire():
        sys.exit(f"another process holds {lock.path}; stop it first")
    print(
        f"{assets:,} assets; {snapshot.name}; wrk -t2 -c{args.connections}, {seconds}s "
        f"per query and endpoint in {rounds} turns"
    )
    results: dict[str, dict[str, Load]] = {n: {} for n in names}
    try:
        with contextlib.ExitStack() as stack:
            raw_server, gw_server = raw(snapshot), gateway(config_file, folder, 0)
            check(stack.enter_context(gw_server), stack.enter_context(raw_server), token)
            endpoints = [("raw", raw_server), ("off", gw_server)]
            if not args.no_before:
                before = raw(baseline(snapshot, folder))
                stack.enter_context(before)
                endpoints.append(("before", before))
            for name in names:
                results[name].update(drive(endpoints, token, name, True, seconds, rounds, args.connections))
        cached = None
        server = gateway(config_file, folder, 512)
        with server as gw_url:
            for name in names:
                results[name].update(
                    drive([("on", server)], token, name, False, seconds, 1, args.connections)
                )
            if cache_seconds > 0:
                cached = sustained(
                    server, gw_url, token, names[0], cache_seconds, min(15, cache_seconds), args.connections
                )
    finally:
        lock.release()
    report(results, cached)


if __name__ == "__main__":
    main()
