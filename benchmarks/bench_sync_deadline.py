"""How long one sync round takes when one source hangs (issue 10, item 16).

    .venv/bin/python benchmarks/bench_sync_deadline.py [--timeout 10] [--tries 5] [--csv 3]

A loopback Okta that accepts every request and never answers (`--timeout` per request,
`retry.max_tries` = `--tries`), next to `--csv` small CSV sources. Runs one round each way:
  1. one after another, no deadline (`sync.concurrency: 1`, a deadline far away): what the
     auditor measured (the round waits for every retry of the hanging source, then the rest);
  2. side by side with the default deadline (10 x timeout);
  3. side by side with `deadline: 5s` on the hanging source.
Prints the round's wall time, and when each CSV source was written and each snapshot
published, from the round's start.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from federation.config.settings import parse_config
from federation.demo.vendor_server import Call, Reply, Vendor, VendorServer
from federation.pipeline.sync import Syncer


class Hang(Vendor):
    name = "okta"

    def __init__(self) -> None:
        self.release = threading.Event()

    def answer(self, call: Call) -> Reply:
        self.release.wait(3600)
        return Reply(503, {"errorSummary": "released"})


def round_time(root: Path, server: VendorServer, args: argparse.Namespace, mode: str) -> None:
    okta: dict[str, Any] = {
        "name": "okta",
        "kind": "okta",
        "base_url": server.base("okta"),
        "auth": {"token": "t"},
        "timeout": f"{args.timeout}s",
        "retry": {"max_tries": args.tries},
        "entities": {"licenses": None, "license_assignments": None},
    }
    if mode == "sequential":
        okta["deadline"] = "100d"
    elif mode == "deadline-5s":
        okta["deadline"] = "5s"
    sources = [okta]
    for i in range(args.csv):
        path = root / f"s{i}.csv"
        path.write_text("tag,host\n" + "".join(f"T{i}-{n},h{n}\n" for n in range(1000)), "utf-8")
        sources.append(
            {
                "name": f"csv{i}",
                "kind": "spreadsheet",
                "path": str(path),
                "entities": {"assets": {"id": "tag", "fields": {"asset_tag": "tag", "hostname": "host"}}},
            }
        )
    raw = {
        "store": {"path": str(root / f"store-{mode}")},
        "sync": {"concurrency": 1 if mode == "sequential" else 4},
        "sources": sources,
    }
    syncer = Syncer(parse_config(raw, base_dir=root))
    try:
        t0 = time.perf_counter()
        start = time.monotonic()
        report = syncer.run()
        wall = time.perf_counter() - t0
    finally:
        syncer.close()
    written = [f"{e.source} {e.at - start:.1f}s" for e in report.events if e.what == "written"]
    published = [f"{e.at - start:.1f}s" for e in report.events if e.what == "published"]
    okta_error = next(r.error for r in report.sources if r.source == "okta") or ""
    print(f"{mode:>12}: round {wall:5.1f}s; written: {', '.join(written)}")
    print(f"{'':>12}  published at {', '.join(published)}")
    print(f"{'':>12}  okta: {okta_error[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--csv", type=int, default=3)
    args = parser.parse_args()
    hang = Hang()
    server = VendorServer([hang]).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for mode in ("sequential", "default", "deadline-5s"):
                round_time(Path(tmp), server, args, mode)
    finally:
        hang.release.set()
        server.stop()


if __name__ == "__main__":
    main()
