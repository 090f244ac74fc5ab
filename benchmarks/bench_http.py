"""Requests per second of /graphql over real HTTP, result cache on and off.

    .venv/bin/python benchmarks/bench_http.py [--rows 1000] [--limit 20] [--seconds 10]

Seeds a published store in a temporary folder, serves it with uvicorn (uvloop + httptools when
installed) on 127.0.0.1 and loads it with `wrk` (Debian package `wrk`) when it is on PATH, else
with a bounded httpx loop (which tops out near 400 req/s: a client limit, not the server's).
Serves a small schema reading the rows; `--real-schema` serves `schema.build.build_schema()`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
import pandas as pd
import strawberry
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from federation.config.settings import Config, ServerConfig, Settings
from federation.pipeline.store import Publisher, StoreReader
from federation.serving.app import create_app


@strawberry.type
class Asset:
    id: str
    hostname: str | None
    category: str | None
    status: str | None


@strawberry.type
class Query:
    @strawberry.field
    def assets(self, info: strawberry.Info, limit: int = 20) -> list[Asset]:
        info.context.touched.add("assets")
        rows = info.context.snapshot.query(
            "SELECT id, hostname, category, status FROM assets ORDER BY hostname LIMIT ?", [limit]
        )
        return [Asset(id=r[0], hostname=r[1], category=r[2], status=r[3]) for r in rows]


def schema(real: bool) -> tuple[strawberry.Schema, str]:
    if not real:
        return strawberry.Schema(Query), "bench schema"
    from schema.build import build_schema

    return build_schema(), "schema.build.build_schema()"


def seed(root: Path, rows: int) -> None:
    assets = pd.DataFrame(
        {
            "id": [f"00000000-0000-4000-8000-{i:012d}" for i in range(rows)],
            "hostname": [f"host-{i:05d}" for i in range(rows)],
            "category": ["laptop", "server", "desktop", "network"] * (rows // 4) + ["other"] * (rows % 4),
            "status": "in_use",
        }
    )
    Publisher(root).publish({"assets": assets})


class Serving:
    """uvicorn in a thread on a free port of 127.0.0.1."""

    def __init__(self, app: object) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", ws="none", access_log=False)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(500):
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return self.url
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()


def load_wrk(url: str, body: bytes, seconds: int, connections: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = [[{body.decode()}]]\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name, f"{url}/graphql"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def load_httpx(url: str, body: bytes, seconds: int) -> float:
    done = 0
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url) as client:
        end = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            client.post("/graphql", content=body, headers=headers).raise_for_status()
            done += 1
        return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--real-schema", action="store_true", help="serve build_schema()")
    args = parser.parse_args()

    the_schema, label = schema(args.real_schema)
    query = f"{{ assets(limit: {args.limit}) {{ id hostname category status }} }}"
    body = orjson.dumps({"query": query})
    tool = "wrk" if shutil.which("wrk") else "httpx loop"
    print(f"{label}; {args.rows} assets; query {query}; load: {tool}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        seed(root, args.rows)
        for cache_size in (512, 0):
            server = ServerConfig(cache_size=cache_size)
            config = Config(settings=Settings(server=server), sources=[], base_dir=Path(tmp))
            app = create_app(config, StoreReader(root), the_schema, actor=lambda request: {"role": "admin"})
            with Serving(app) as url:
                check = httpx.post(f"{url}/graphql", content=body).json()
                assert "errors" not in check, check
                if tool == "wrk":
                    rate = load_wrk(url, body, args.seconds, args.connections)
                else:
                    rate = load_httpx(url, body, args.seconds)
            state = "on " if cache_size else "off"
            print(f"result cache {state}: {rate:8.0f} req/s")


if __name__ == "__main__":
    main()
