"""How far a store layout can take the raw endpoint's Q1 (bench_query.py): DuckDB's CPU time
per statement for the same SQL on three files, measured in one process, in alternating turns:

- the published snapshot (today's layout: sort keys, 4,096-row groups, indexes);
- its tables copied into the layout of before issue 7 (bench_query's `baseline`);
- a 3,000-asset sample of it (one row group: what the statement costs when the data costs
  next to nothing: the floor no layout can go below).

    .venv/bin/python benchmarks/bench_page_floor.py --dir /tmp/qbench

Uses the estate bench_query.py builds in `--dir` (run `bench_query.py --dir D --prepare-only`
first). Prints ms of CPU per statement (one DuckDB thread, the median of the turns) and the
ratios: before / now is what the layout bought; before / floor the most any layout could.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_query import CATEGORIES, STATUSES, baseline  # noqa: E402
from raw_endpoint import PAGE_SQL  # noqa: E402


def sample(snapshot: Path, folder: Path, assets: int = 3000) -> Path:
    """`assets` assets of the snapshot (every category and status), with their people and
    every location, in a file of their own."""
    path = folder / f"floor-{snapshot.stem}.duckdb"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect()
    con.execute(f"ATTACH '{snapshot}' AS src (READ_ONLY)")
    con.execute(f"ATTACH '{tmp}' AS f")
    con.execute(f"CREATE TABLE f.assets AS SELECT * FROM src.assets USING SAMPLE {assets} ROWS")
    con.execute(
        "CREATE TABLE f.people AS SELECT * FROM src.people WHERE id IN (SELECT assigned_to_id FROM f.assets)"
    )
    con.execute("CREATE TABLE f.locations AS SELECT * FROM src.locations")
    con.close()
    tmp.rename(path)
    return path


def cpu_ms(path: Path, n: int) -> float:
    """CPU ms per Q1 statement over `n` varied variable sets (after a warm-up)."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET threads = 1")

    def run(i: int) -> None:
        v = {
            "category": CATEGORIES[i % len(CATEGORIES)],
            "status": STATUSES[i // len(CATEGORIES) % len(STATUSES)],
            "limit": 20,
            "offset": i * 20 % 1000,
        }
        con.execute(PAGE_SQL, v).fetchall()

    for i in range(10):
        run(i)
    started = time.process_time()
    for i in range(n):
        run(i)
    spent = (time.process_time() - started) / n * 1000
    con.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="bench_query's estate folder")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--statements", type=int, default=60, help="per file and turn")
    args = parser.parse_args()
    folder = Path(args.dir)
    published = folder / "store" / "published"
    if not (published / "CURRENT").exists():
        sys.exit(f"no published estate in {folder}: run bench_query.py --dir {folder} --prepare-only")
    snapshot = published / (published / "CURRENT").read_text(encoding="utf-8").strip()
    files = {"now": snapshot, "before": baseline(snapshot, folder), "floor": sample(snapshot, folder)}
    spent: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(args.turns):
        for name, path in files.items():
            spent[name].append(cpu_ms(path, args.statements))
    median = {name: statistics.median(values) for name, values in spent.items()}
    print(f"raw Q1, CPU ms per statement (one thread; median of {args.turns} turns of {args.statements}):")
    for name, value in median.items():
        print(f"  {name:7} {value:6.2f} ms   (turns: {', '.join(f'{v:.2f}' for v in spent[name])})")
    print(f"before / now:   {median['before'] / median['now']:.2f}x  (what the layout bought)")
    print(f"before / floor: {median['before'] / median['floor']:.2f}x  (the most any layout could buy)")


if __name__ == "__main__":
    main()
