"""The layout of a published snapshot: rows stored in each table's sort-key order, in row groups
small enough for DuckDB's min/max pruning to skip most of a table, an index on every id, and
the one-value-per-row strings uncompressed."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support.full_merge import reconcile_everything

from connectors.base import SourceConfig
from federation.config.settings import Config, Settings
from federation.model import TABLES
from federation.pipeline.patches import Patch
from federation.pipeline.store import Publisher, SourceStore, StoreReader

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CATEGORIES = ["laptop", "desktop", "server", "network", "monitor", "tablet"]
STATUSES = ["in_use", "in_stock", "in_repair", "retired", "ordered"]
ROWS = 12_000
GROUP = 2048  # the smallest row group DuckDB accepts


def _asset_rows(n: int, seed: int = 3) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = [
        {
            "record_id": f"r{i}",
            "serial_number": f"SN{i:06d}",
            "hostname": f"host-{rng.randrange(10**6):06d}-{i}",
            "category": rng.choice(CATEGORIES),
            "status": rng.choice(STATUSES),
            "assigned_to_key": f"user{rng.randrange(300)}@example.com",
            "location_key": f"Site {rng.randrange(40)}",
            "fetched_at": pd.Timestamp(T0),
        }
        for i in range(n)
    ]
    rng.shuffle(rows)
    return rows


def _by_frames(root: Path) -> duckdb.DuckDBPyConnection:
    frame = pd.DataFrame(_asset_rows(ROWS))
    frame = frame.drop(columns=["record_id", "fetched_at", "assigned_to_key", "location_key"])
    frame.insert(0, "id", [f"id-{i:06d}" for i in range(len(frame))])
    people = pd.DataFrame(
        {"id": [f"p{i}" for i in range(50, 0, -1)], "email": [f"u{i}@x.io" for i in range(50)]}
    )
    Publisher(root, row_group_size=GROUP).publish({"assets": frame, "people": people})
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    return snapshot.cursor()


def _by_reconcile(root: Path) -> duckdb.DuckDBPyConnection:
    source = SourceConfig(name="cmdb", kind="test", entities={"assets": {"id": "id", "fields": {}}})
    config = Config(settings=Settings(), sources=[source], base_dir=root)
    store = SourceStore(root)
    try:
        empty_q = pd.DataFrame(columns=["entity", "record_id", "reason", "raw"])
        frame = pd.DataFrame(_asset_rows(ROWS))
        store.replace_source("cmdb", "test", {"assets": frame}, empty_q, {}, started_at=T0)
        states = {s.source: s for s in store.states()}
        Publisher(root, row_group_size=GROUP).publish_with(
            store.con,
            lambda con: reconcile_everything(con, config, states, T0 + timedelta(minutes=1)),
        )
    finally:
        store.close()
    snapshot = StoreReader(root).current()
    assert snapshot is not None
    return snapshot.cursor()


PUBLISHED = [
    pytest.param(_by_frames, id="publish-frames"),
    pytest.param(_by_reconcile, id="reconcile"),
]


@pytest.mark.parametrize("publish", PUBLISHED)
def test_rows_are_stored_in_the_models_sort_key_order(tmp_path: Path, publish) -> None:
    cur = publish(tmp_path / "store")
    for table in ("assets", "people"):
        keys = ", ".join(TABLES[table].sort_keys)
        stored = cur.execute(f"SELECT {keys} FROM {table} ORDER BY rowid").fetchall()
        assert len(stored) > 1
        assert stored == sorted(stored), f"{table} is not stored in ({keys}) order"


@pytest.mark.parametrize("publish", PUBLISHED)
def test_a_write_keeps_the_row_groups_and_the_storage_order(tmp_path: Path, publish) -> None:
    """A write's snapshot (Publisher.patch: a copy with the patches applied) keeps the small
    row groups and the rows where they were; only the written values change."""
    root = tmp_path / "store"
    cur = publish(root)

    def layout(cur: duckdb.DuckDBPyConnection) -> tuple[list[tuple[object, ...]], list[str]]:
        groups = cur.execute(
            "SELECT row_group_id, max(count) FROM pragma_storage_info('assets') WHERE column_name = 'id' "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
        return groups, [r[0] for r in cur.execute("SELECT id FROM assets ORDER BY rowid").fetchall()]

    groups, order = layout(cur)
    written = order[:: len(order) // 50]
    patches = [Patch(Patch.now(), "cmdb", "assets", i, "r", {"status": "lost"}) for i in written]
    assert Publisher(root, clean=False, row_group_size=GROUP).patch(patches) is not None
    after = StoreReader(root).current()
    assert after is not None
    assert layout(after.cursor()) == (groups, order)
    assert max(count for _, count in groups) <= GROUP
    lost = after.query("SELECT id FROM assets WHERE status = 'lost' ORDER BY id")
    assert [r[0] for r in lost] == sorted(written)


@pytest.mark.parametrize("publish", PUBLISHED)
def test_row_groups_hold_narrow_key_ranges_that_a_filter_can_skip(tmp_path: Path, publish) -> None:
    cur = publish(tmp_path / "store")
    groups = cur.execute(
        "SELECT row_group_id, min(count), min(stats.min::VARCHAR), max(stats.max::VARCHAR) "
        "FROM pragma_storage_info('assets') WHERE column_name = 'category' AND segment_type = 'VARCHAR' "
        "GROUP BY row_group_id ORDER BY row_group_id"
    ).fetchall()
    assert len(groups) == -(-ROWS // GROUP)  # the requested row group size, not DuckDB's 122,880
    for (_, _, _, high), (_, _, low, _) in itertools.pairwise(groups):
        assert high <= low  # each group starts where the previous one ended
    laptops = cur.execute("SELECT count(*) FROM assets WHERE category = 'laptop'").fetchall()[0][0]
    holding = [g for g in groups if g[2] <= "laptop" <= g[3]]
    assert len(holding) <= -(-laptops // GROUP) + 1  # a laptop page need not read the others


@pytest.mark.parametrize("publish", PUBLISHED)
def test_a_page_of_one_category_and_status_reads_a_few_row_groups(tmp_path: Path, publish) -> None:
    cur = publish(tmp_path / "store")
    profile = tmp_path / "profile.json"
    cur.execute("PRAGMA enable_profiling = 'json'")
    cur.execute(f"SET profiling_output = '{profile}'")
    cur.execute(
        "SELECT id, hostname FROM assets WHERE category = ? AND status = ? ORDER BY hostname, id LIMIT 20",
        ["server", "in_use"],
    ).fetchall()
    cur.execute("PRAGMA disable_profiling")
    query = json.loads(profile.read_text())["query"]
    assert query["total_row_groups_to_scan"] >= -(-ROWS // GROUP)
    assert query["total_row_groups_scanned"] <= 3


@pytest.mark.parametrize("publish", PUBLISHED)
def test_every_id_is_indexed_and_a_lookup_by_id_uses_the_index(tmp_path: Path, publish) -> None:
    cur = publish(tmp_path / "store")
    indexed = set(cur.execute("SELECT table_name, expressions FROM duckdb_indexes()").fetchall())
    for table in TABLES.values():
        for column in table.indexed:
            assert any(t == table.name and column in str(e) for t, e in indexed), (table.name, column)
    some_id = cur.execute("SELECT id FROM assets LIMIT 1 OFFSET 777").fetchall()[0][0]
    plan = cur.execute("EXPLAIN ANALYZE SELECT hostname FROM assets WHERE id = ?", [some_id]).fetchall()
    assert "Index Scan" in plan[0][1]
    assert cur.execute("SELECT count(*) FROM assets WHERE id = ?", [some_id]).fetchall() == [(1,)]


@pytest.mark.parametrize("publish", PUBLISHED)
def test_one_value_per_row_strings_are_stored_uncompressed(tmp_path: Path, publish) -> None:
    cur = publish(tmp_path / "store")
    rows = cur.execute(
        "SELECT column_name, list_distinct(list(compression)) FROM pragma_storage_info('assets') "
        "WHERE segment_type = 'VARCHAR' GROUP BY column_name"
    ).fetchall()
    methods = {column: set(found) - {"Constant"} for column, found in rows}
    for column in ("id", "hostname", "serial_number", "assigned_to_id"):
        assert methods[column] == {"Uncompressed"}, (column, methods[column])
    assert "Uncompressed" not in methods["category"]  # a handful of values: compressed


@pytest.mark.parametrize("table", [pytest.param(t, id=t.name) for t in TABLES.values()])
def test_sort_keys_and_indexed_columns_name_the_tables_columns(table) -> None:
    assert table.sort_keys, f"{table.name} has no storage order"
    assert set(table.sort_keys) <= set(table.column_names)
    assert set(table.indexed) <= set(table.column_names)
    assert set(table.uncompressed) <= set(table.column_names)
