"""/healthz latency while anonymous clients attack the gateway (issue 10, items 1-4).

    .venv/bin/python benchmarks/bench_attack.py [--seconds 5] [--clients 4]

Starts `assetgraph serve` on the embedded demo (config.yaml, its data in a temporary folder)
on a free port of 127.0.0.1, in its own process, and waits for the first sync. Then, phase by
phase, runs the attack with `--clients` threads and a /healthz prober (its own process, one
request every 10 ms) side by side for `--seconds`, and prints the prober's p50/p99/max with
what the attackers got back. Loopback only; every loop is bounded in time and count; the
server is stopped at the end.

Phases: a baseline; 8 MB comment bodies; 4 MB bodies with a syntax error; 250 KB of a
comment, of blanks and of one string literal (under the cap: parsed, off the event loop);
variables nested 256 deep and 480 nested `_and`s; a wrong secret for a known API key id
(failed-attempt limits raised for this run, so every guess costs a scrypt: the worst case;
with the defaults a client is refused after 10).
Also prints how long a wrong secret takes for a known and for an unknown key id.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from federation.access.auth import hash_api_key  # noqa: E402

KEY_ID = "0a1b2c3d4e5f"
KEY = f"ak_{KEY_ID}_" + "k" * 43
MAX_REQUESTS_PER_CLIENT = 2_000
PROBE_EVERY = 0.01


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path) -> Path:
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["auth"]["api_keys"] = [
        {"name": "bench", "id": KEY_ID, "hash": hash_api_key(KEY), "role": "it_leader"}
    ]
    raw["auth"]["failed_attempts"] = {"per_client": 1_000_000, "per_key": 1_000_000, "window": "1m"}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def start_gateway(config: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "federation.serving.cli", "serve", "--config", str(config)]
    command += ["--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the gateway was not ready in time")


# ----------------------------------------------------------------------------- prober


def probe(url: str, seconds: float, out: Any) -> None:
    """In its own process: GET /healthz every 10 ms for `seconds`; send back the latencies."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=30) as http:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            with contextlib.suppress(httpx.TransportError):  # counted at its full time
                http.get("/healthz")
            latencies.append((time.perf_counter() - start) * 1000)
            time.sleep(PROBE_EVERY)
    out.send(latencies)
    out.close()


# ----------------------------------------------------------------------------- attacks

Attack = Callable[[httpx.Client], httpx.Response]


def post_json(body: bytes) -> Attack:
    return lambda http: http.post("/graphql", content=body, headers={"content-type": "application/json"})


def wrong_key(key_id: str) -> Attack:
    guess = f"ak_{key_id}_" + "g" * 43
    return lambda http: http.post(
        "/graphql", json={"query": "{ assets { id } }"}, headers={"x-api-key": guess}
    )


DEEP_QUERY = "query($w: assets_bool_exp) { assets(where: $w) { id } }"
PHASES: dict[str, Attack | None] = {
    "baseline (no attack)": None,
    "8 MB comment bodies": post_json(b'{"query": "#' + b"c" * 8_000_000 + b'\\n{ assets { id } }"}'),
    "4 MB bodies, syntax error": post_json(b'{"query": "{ assets { ' + b"x" * 4_000_000 + b'"}'),
    "250 KB comment bodies (parsed)": post_json(b'{"query": "#' + b"c" * 250_000 + b'\\n{ assets { id } }"}'),
    "250 KB of blanks (parsed)": post_json(b'{"query": "' + b" " * 250_000 + b'{ assets { id } }"}'),
    "250 KB string literal (parsed)": post_json(
        b'{"query": "{ assets(where: {hostname: {_eq: \\"' + b"s" * 250_000 + b'\\"}}) { id } }"}'
    ),
    "variables 256 deep": post_json(
        b'{"query": "%s", "variables": {"w": %s}}'
        % (DEEP_QUERY.encode(), b'{"_not": ' * 256 + b"{}" + b"}" * 256)
    ),
    "480 nested _and (variables)": post_json(
        b'{"query": "%s", "variables": {"w": %s}}'
        % (DEEP_QUERY.encode(), b'{"_and": [' * 480 + b"{}" + b"]}" * 480)
    ),
    "wrong secret, known API key id": wrong_key(KEY_ID),
}


def attack(url: str, send: Attack, seconds: float, statuses: Counter[int], address: str) -> None:
    transport = httpx.HTTPTransport(local_address=address)
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60, transport=transport) as http:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() > deadline:
                break
            try:
                statuses[send(http).status_code] += 1
            except httpx.TransportError:
                statuses[0] += 1  # refused before the body was read: the connection closes


def run_phase(
    url: str, send: Attack | None, seconds: float, clients: int
) -> tuple[list[float], Counter[int]]:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    prober = multiprocessing.Process(target=probe, args=(url, seconds, sender))
    prober.start()
    statuses: Counter[int] = Counter()
    threads = [
        threading.Thread(target=attack, args=(url, send, seconds, statuses, f"127.0.0.{i + 2}"))
        for i in range(clients if send is not None else 0)
    ]
    for thread in threads:
        thread.start()
    if not receiver.poll(seconds + 60):
        prober.terminate()
        raise SystemExit("the /healthz prober did not report")
    latencies: list[float] = receiver.recv()
    prober.join()
    for thread in threads:
        thread.join()
    return latencies, statuses


def timed_guess(url: str, key_id: str, repeat: int = 20) -> float:
    with httpx.Client(base_url=url, timeout=30) as http:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            wrong_key(key_id)(http)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        gateway = start_gateway(write_config(Path(tmp)), port)
        try:
            wait_ready(url, gateway)
            print(
                f"gateway on the demo at {url}; {args.clients} attacking clients, {args.seconds:g}s per phase"
            )
            print(f"{'phase':34} {'healthz p50':>11} {'p99':>8} {'max':>8} {'probes':>7}  attackers got")
            for name, send in PHASES.items():
                latencies, statuses = run_phase(url, send, args.seconds, args.clients)
                q = statistics.quantiles(latencies, n=100, method="inclusive")
                got = ", ".join(f"{n}x {s or 'closed'}" for s, n in sorted(statuses.items())) or "-"
                top = max(latencies)
                print(f"{name:34} {q[49]:9.1f}ms {q[98]:6.1f}ms {top:6.1f}ms {len(latencies):7}  {got}")
            known, unknown = timed_guess(url, KEY_ID), timed_guess(url, "ffffffffffff")
            print(
                f"wrong secret, median answer: known key id {known:.1f} ms, unknown key id {unknown:.1f} ms"
            )
        finally:
            gateway.terminate()
            try:
                gateway.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gateway.kill()


if __name__ == "__main__":
    main()
