"""The cost of Q1-Q4 in raw DuckDB under candidate layouts of the published store.

    .venv/bin/python benchmarks/bench_store_layout.py --dir /tmp/qbench            # CPU ms
    .venv/bin/python benchmarks/bench_store_layout.py --dir /tmp/qbench --callgrind # instructions

Copies the `assets`, `people` and `locations` tables of the estate's current snapshot (see
benchmarks/bench_query.py, which builds it) into one file per layout - rows in the model's
sort-key order (or by id), a row group size, ART indexes on the ids or none, the ids and
other one-value-per-row strings compressed or not - and runs the raw endpoint's SQL of
bench_query against each, one DuckDB thread. Without --callgrind it reports the median CPU
time of each query (process time: steadier than wall time on a shared machine, still noisy);
with it, each layout is measured again under valgrind's callgrind and the report is
instructions per query, which do not depend on what else the machine runs (they do not see
cache misses or memory stalls either: fewer instructions saved less time than they suggest).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_query import variables  # noqa: E402
from benchmarks.raw_endpoint import COUNT_SQL, GROUPS_SQL, LIMITS, PAGE_SQL  # noqa: E402
from federation.model import DUCKDB_TYPES, TABLES  # noqa: E402

#: name -> (row group size, rows in sort-key order, ART index on id, ids and the model's
#: `uncompressed` strings stored uncompressed)
LAYOUTS: dict[str, tuple[int, bool, bool, bool]] = {
    "by id, 122880": (122_880, False, False, False),
    "sorted, 122880": (122_880, True, False, False),
    "sorted, 122880, ART": (122_880, True, True, False),
    "sorted, 16384": (16_384, True, False, False),
    "sorted, 16384, ART": (16_384, True, True, False),
    "sorted, 8192, ART": (8_192, True, True, False),
    "sorted, 4096, ART": (4_096, True, True, False),
    "sorted, 2048, ART": (2_048, True, True, False),
    "sorted, 4096, ART, plain": (4_096, True, True, True),
}
PAGE_ONLY_SQL = (
    "SELECT id, asset_tag, serial_number, hostname, category, status, manufacturer, cost::DOUBLE, "
    "purchase_date, last_seen, location_id, assigned_to_id FROM assets "
    "WHERE category = $category AND status = $status ORDER BY hostname, id LIMIT 20 OFFSET $offset"
)
BY_ID_SQL = "SELECT * FROM assets WHERE id = $id"
QUERIES = ("Q1", "Q2", "Q3", "Q4", "page", "by id")


def build(snapshot: Path, folder: Path, name: str) -> Path:
    rows, ordered, indexed, plain = LAYOUTS[name]
    path = folder / (re.sub(r"\W+", "_", name) + ".duckdb")
    con = duckdb.connect()
    con.execute(f"ATTACH '{snapshot}' AS src (READ_ONLY)")
    con.execute(f"ATTACH '{path}' AS v (ROW_GROUP_SIZE {rows})")
    for table in ("assets", "people", "locations"):
        model = TABLES[table]
        columns = [
            f"{c.name} {DUCKDB_TYPES[c.type]}"
            + (
                " USING COMPRESSION uncompressed"
                if plain and (c.type == "uuid" or c.name in model.uncompressed)
                else ""
            )
            for c in model.columns
        ]
        con.execute(f"CREATE TABLE v.{table} ({', '.join(columns)})")
        keys = model.sort_keys if ordered else ("id",)
        con.execute(f"INSERT INTO v.{table} SELECT * FROM src.{table} ORDER BY {', '.join(keys)}")
        if indexed:
            con.execute(f"CREATE INDEX {table}__id ON v.{table} (id)")
    con.close()
    return path


def statement(con: duckdb.DuckDBPyConnection, name: str, i: int, some_ids: list[str]) -> tuple[str, Any]:
    if name in LIMITS:
        return PAGE_SQL, {**variables(name, i), "limit": LIMITS[name]}
    if name == "Q3":
        return GROUPS_SQL, variables(name, i)
    if name == "Q4":
        return COUNT_SQL, variables(name, i)
    if name == "page":
        return PAGE_ONLY_SQL, variables("Q1", i)
    return BY_ID_SQL, {"id": some_ids[i % len(some_ids)]}


def measure(path: Path, runs: int, *, markers: bool = False) -> dict[str, float]:
    """Median CPU ms per query; with `markers`, zlib.adler32 calls between queries let callgrind
    dump its counters there (--dump-before=adler32)."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET threads = 1")
    some_ids = [r[0] for r in con.execute("SELECT id FROM assets USING SAMPLE 50 ROWS").fetchall()]
    out: dict[str, float] = {}
    for name in QUERIES:
        for i in range(2):  # warm: the file's blocks in memory, the catalog read
            con.execute(*statement(con, name, i, some_ids)).fetchall()
    for name in QUERIES:
        if markers:
            zlib.adler32(name.encode())
        times = []
        for i in range(runs):
            sql, params = statement(con, name, 100 + i, some_ids)
            t0 = time.process_time()
            con.execute(sql, params).fetchall()
            times.append((time.process_time() - t0) * 1000)
        out[name] = statistics.median(times)
    if markers:
        zlib.adler32(b"end")
    con.close()
    return out


def instructions(path: Path, runs: int, folder: Path) -> dict[str, float]:
    """Instructions per query: this script's --measure-one under callgrind, dumped per query."""
    out_dir = Path(tempfile.mkdtemp(dir=folder))
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=adler32",
        f"--callgrind-out-file={out_dir}/cg.%p",
        sys.executable,
        __file__,
        "--measure-one",
        str(path),
        "--runs",
        str(runs),
    ]
    subprocess.run(cmd, check=True, capture_output=True)

    def part(p: Path) -> int:
        m = re.fullmatch(r"cg\.\d+\.(\d+)", p.name)
        return int(m.group(1)) if m else 1 << 30  # the last dump, at exit, has no number

    dumps = sorted(out_dir.glob("cg.*"), key=part)
    found = [re.search(r"^summary:\s+(\d+)", p.read_text(), re.M) for p in dumps]
    totals = [int(m.group(1)) if m else 0 for m in found]
    shutil.rmtree(out_dir)
    # one dump before each query's runs, one at "end", one at exit: query k is dump -(n+1)+k
    segments = totals[-len(QUERIES) - 1 : -1]
    return {name: total / runs / 1e6 for name, total in zip(QUERIES, segments, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="a bench_query estate folder (its current snapshot is copied)")
    parser.add_argument("--snapshot", help="a published snapshot file instead of --dir")
    parser.add_argument("--runs", type=int, default=30, help="runs per query (default 30; callgrind: 5)")
    parser.add_argument("--layouts", help="comma-separated subset of: " + "; ".join(LAYOUTS))
    parser.add_argument("--callgrind", action="store_true", help="count instructions (needs valgrind)")
    parser.add_argument("--measure-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_one:
        measure(Path(args.measure_one), args.runs, markers=True)
        return
    if args.snapshot:
        snapshot = Path(args.snapshot)
    elif args.dir:
        published = Path(args.dir) / "store" / "published"
        snapshot = published / (published / "CURRENT").read_text(encoding="utf-8").strip()
    else:
        sys.exit("give --dir (an estate built by bench_query.py) or --snapshot")
    names = [n.strip() for n in args.layouts.split(";")] if args.layouts else list(LAYOUTS)
    unit = "M instructions" if args.callgrind else "CPU ms (median)"
    print(f"{snapshot.name}; per query, one DuckDB thread, {unit}")
    print(f"{'layout':<22}" + "".join(f"{q:>9}" for q in QUERIES))
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = build(snapshot, Path(tmp), name)
            if args.callgrind:
                result = instructions(path, min(args.runs, 5), Path(tmp))
            else:
                result = measure(path, args.runs)
            print(f"{name:<22}" + "".join(f"{result[q]:>9.2f}" for q in QUERIES), flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
