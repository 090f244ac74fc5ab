"""`assetgraph serve` under sustained load: one document, result cache on, latency and memory.

    .venv/bin/python benchmarks/bench_serving.py [--seconds 120] [--workers 1] [--connections 32]
                                                 [--assets 3000] [--repo PATH]

Writes the demo config into a temporary folder, publishes it with `assetgraph sync`, starts
`assetgraph serve` as its own process (default log level, access log on, authenticated with
a bearer JWT from `assetgraph token`), waits for /readyz and loads /graphql with `wrk`
(Debian package `wrk`) for `--seconds`, always the same document: every request after the
first is a result-cache hit. Reports requests/s, p50/p90/p99 from wrk's latency
distribution for each `--segment` seconds (one wrk run each, back to back), the server's RSS
(all its processes) at the start and after each segment, and after shutdown how many
requests the access log holds against how many were sent.

`--repo` runs another checkout's code (its `federation`, `schema`… first on PYTHONPATH), to
compare against the code before a change with the same load and the same data.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import yaml

REPO = Path(__file__).resolve().parents[1]
QUERY = "query Bench { assets(limit: 20, order_by: {asset_tag: asc}) { asset_tag hostname category status } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(repo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "federation.serving.cli", *args]


def environment(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo)}


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        found.append(current)
        pending.extend(int(c) for c in children)
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MB."""
    total = 0
    for current in tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except FileNotFoundError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its descendants: unlike latency,
    CPU per request hardly moves when other work shares the machine."""
    ticks = 0
    for current in tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def prepare(tmp: Path, assets: int, repo: Path) -> Path:
    # the demo's simulated SaaS vendors listen on demo.vendor_port: a free one, not 8931
    text = (REPO / "config.yaml").read_text(encoding="utf-8").replace("8931", str(free_port()))
    raw = yaml.safe_load(text)
    raw["demo"]["assets"] = assets
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(
        command(repo, "sync", "--config", str(config)),
        check=True,
        capture_output=True,
        env=environment(repo),
        cwd=tmp,
    )
    print(f"published the demo ({assets} assets) in {time.perf_counter() - started:.1f}s")
    return config


def wrk(url: str, token: str, seconds: int, connections: int) -> str:
    body = orjson.dumps({"query": QUERY}).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = [[{body}]]\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        )
    try:
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
        return subprocess.run(
            [*cmd, "-s", script.name, f"{url}/graphql"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        Path(script.name).unlink()


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def summary(out: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", out, re.MULTILINE)
        if match:
            found[f"p{pct}_ms"] = to_ms(match.group(1))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["rps"] = float(rate.group(1)) if rate else 0.0
    found["requests"] = float(total.group(1)) if total else 0.0
    found["non_2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--segment", type=int, default=15, help="seconds per wrk run (figures per run)")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers N` (new code only)")
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--log-level", help="`serve --log-level` (default: serve's own, info)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code is served")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk (apt-get install -y wrk)")
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        config = prepare(tmp, args.assets, repo)
        token = subprocess.run(
            command(repo, "token", "--config", str(config), "--role", "admin"),
            check=True,
            capture_output=True,
            text=True,
            env=environment(repo),
        ).stdout.strip()
        port = free_port()
        serve = ["serve", "--config", str(config), "--port", str(port)]
        if args.workers > 1:
            serve += ["--workers", str(args.workers)]
        if args.log_level:
            serve += ["--log-level", args.log_level]
        log = (tmp / "serve.log").open("w")
        server = subprocess.Popen(
            command(repo, *serve), stdout=log, stderr=subprocess.STDOUT, env=environment(repo), cwd=tmp
        )
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.perf_counter() - started > 300:
                    sys.exit(f"the server did not become ready; see {tmp / 'serve.log'}")
                time.sleep(0.1)
            print(f"ready after {time.perf_counter() - started:.1f}s (code: {repo})")
            headers = {"authorization": f"Bearer {token}"}
            check = httpx.post(f"{url}/graphql", json={"query": QUERY}, headers=headers).json()
            assert "errors" not in check, check
            assert len(check["data"]["assets"]) == 20, check
            time.sleep(2)  # let any start-up work settle before measuring memory
            start_rss = rss_mb(server.pid)
            load_before = os.getloadavg()[0]
            segments: list[tuple[int, dict[str, float], float]] = []
            elapsed = 0
            while elapsed < args.seconds:
                length = min(args.segment, args.seconds - elapsed)
                cpu = cpu_seconds(server.pid)
                figures = summary(wrk(url, token, length, args.connections))
                figures["cpu_ms"] = (cpu_seconds(server.pid) - cpu) * 1000 / max(figures["requests"], 1)
                elapsed += length
                segments.append((elapsed, figures, rss_mb(server.pid)))
            try:
                scrape = httpx.get(f"{url}/metrics", timeout=60).text
            except httpx.HTTPError as exc:  # the old code's backlog can hold the scrape up
                scrape = ""
                print(f"/metrics did not answer after the load: {exc!r}")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(120)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        print(
            f"{'until':>6} {'req/s':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
            f"{'CPU ms/req':>10} {'RSS MB':>7}"
        )
        print(f"{'start':>6} {'':>7} {'':>8} {'':>8} {'':>8} {'':>10} {start_rss:7.0f}")
        for until, figures, rss in segments:
            print(
                f"{until:>5}s {figures['rps']:7.0f} {figures.get('p50_ms', 0):8.2f} "
                f"{figures.get('p90_ms', 0):8.2f} {figures.get('p99_ms', 0):8.2f} "
                f"{figures['cpu_ms']:10.3f} {rss:7.0f}"
            )
        print(
            f"load average (1 min; the machine has {os.cpu_count()} cores): "
            f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        )
        requests = sum(f["requests"] for _, f, _ in segments)
        failed = sum(f["non_2xx"] for _, f, _ in segments)
        worst = max(f.get("p99_ms", 0) for _, f, _ in segments)
        print(
            f"{requests:.0f} requests in {args.seconds}s ({requests / args.seconds:.0f} req/s), "
            f"{failed:.0f} non-2xx; worst p99 of a {args.segment}s stretch {worst:.2f} ms; "
            f"RSS {start_rss:.0f} -> {segments[-1][2]:.0f} MB"
        )
        waits = re.search(r"^assetgraph_access_log_waits_total (\S+)$", scrape, re.MULTILINE)
        if waits:
            print(f"requests that waited for the access log: {float(waits.group(1)):.0f}")
        store = tmp / "data" / "store" / "access_log.sqlite"
        if store.exists():
            with sqlite3.connect(store) as con:
                sql = "SELECT count(*) FROM access_log WHERE operation_name = 'Bench'"
                rows = con.execute(sql).fetchone()
            # wrk's counts leave out requests still in flight when each run stopped; those are
            # answered (and logged) too, so the log may hold up to --connections more
            print(f"access log: {rows[0]} entries for {requests:.0f} requests wrk counted")


if __name__ == "__main__":
    main()
