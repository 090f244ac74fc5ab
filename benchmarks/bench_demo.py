"""Time to generate the embedded demo's four sources (the first start of `assetgraph serve`).

Run: .venv/bin/python benchmarks/bench_demo.py [ASSETS] [--repeat N]

Prints the best and median wall time of N fresh generations (default 5) into a temporary
folder. This used to be a test asserting < 2 s; a wall time depends on the machine's load,
so it is measured here instead (tests/federation/test_demo.py checks what is generated).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from federation.config.settings import parse_config
from federation.demo import generate_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assets", nargs="?", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            base = Path(tmp) / str(i)
            # port 0: the simulated Okta and Microsoft 365 take any free port
            raw = {"demo": {"assets": args.assets, "seed": 7, "vendor_port": 0}}
            config = parse_config(raw, base_dir=base)
            start = time.perf_counter()
            generate_demo(config)
            times.append(time.perf_counter() - start)
    print(
        f"demo of {args.assets:,} assets: best {min(times):.2f} s, "
        f"median {statistics.median(times):.2f} s over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
