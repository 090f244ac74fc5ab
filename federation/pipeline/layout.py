"""How a published snapshot's model tables are laid out for pages as well as aggregates:
stored in each table's `sort_keys` order in small row groups, every id indexed, the
one-value-per-row strings uncompressed (measured: README, "Benchmarks")."""

from __future__ import annotations

import duckdb

from federation.model import DUCKDB_TYPES, TABLES, Column, Table

#: rows per row group of the model's tables in a published file. DuckDB keeps each column's
#: min and max per row group and skips the groups a filter rules out, so with the tables
#: stored in their `sort_keys` order this is the grain of pruning: a page of one category and
#: status reads a few groups of this size instead of two or three of the default 122,880
#: rows. Smaller groups compress worse, so the auxiliary tables (provenance, record_sources,
#: conflicts: ten times the rows, read by entity id) keep DuckDB's default. Measured figures:
#: README, "Benchmarks".
ROW_GROUP_SIZE = 4096


def table_ddl(table: Table, name: str, *, storage: bool = False) -> str:
    """CREATE TABLE of a model table; with `storage`, the columns the model keeps
    uncompressed (its `uncompressed` ones and every uuid) say so."""

    def column(c: Column) -> str:
        plain = storage and (c.type == "uuid" or c.name in table.uncompressed)
        return f'"{c.name}" {DUCKDB_TYPES[c.type]}' + (" USING COMPRESSION uncompressed" if plain else "")

    return f"CREATE TABLE {name} ({', '.join(column(c) for c in table.columns)})"


def published_indexes(prefix: str = "") -> list[str]:
    """CREATE INDEX statements of a published snapshot, run once its tables are filled."""
    return [
        f'CREATE INDEX "{table.name}__{column}" ON {prefix}"{table.name}" ("{column}")'
        for table in TABLES.values()
        for column in table.indexed
    ]


def storage_order(table: Table) -> str:
    """The ORDER BY list of the order a table's rows are published in."""
    return ", ".join(f'"{k}"' for k in table.sort_keys)


def regroup(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the model's tables of the attached `pub` in its row group size, their storage
    order and compression, then index them (one bulk build per index, after the rows are in)."""
    for table in TABLES.values():
        name, staged = f'pub."{table.name}"', f'pub."{table.name}__regrouped"'
        con.execute(table_ddl(table, staged, storage=True))
        con.execute(f"INSERT INTO {staged} SELECT * FROM {name} ORDER BY {storage_order(table)}")
        con.execute(f"DROP TABLE {name}")
        con.execute(f'ALTER TABLE {staged} RENAME TO "{table.name}"')
    for ddl in published_indexes("pub."):
        con.execute(ddl)
