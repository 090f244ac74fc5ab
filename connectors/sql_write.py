"""Writes of the sql connector: UPDATE, INSERT and DELETE of one record, read back after.

The table written is the stream's `table`, or its `write_table` (a stream read through a
`query:` names the table its rows come from; its id columns and the columns its fields
write must be columns of that table under the same names). The table is reflected once,
so identifiers are quoted by SQLAlchemy and every value is bound, never spliced; values are
converted for the column (ISO text for a date in a text column, naive UTC for a timestamp
column without a time zone, Decimal for NUMERIC).

Optimistic concurrency: `expected` (column → the value the caller saw) joins the UPDATE's or
DELETE's WHERE (`IS NULL` for None), so the check and the write are one statement. No row
touched: the record is read again in the same transaction — gone → WriteRefused
`not_found`, present → `conflict` naming each column, the value expected and the value held.
Everything runs in one transaction with the read-back, committed at the end.

Database errors: constraint, type and value errors → `invalid` (with the column when the
server names one), permission denied → `forbidden`, anything that is not the server
answering (connection refused, timeout) → SourceError.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.base import SourceError, WriteRefused
from connectors.write_checks import changed_since, plain

#: server error codes (pymysql's first arg, psycopg's sqlstate class) → refusal kind
_MYSQL_FORBIDDEN = {1142, 1143, 1044, 1227, 1370}
_MYSQL_INVALID = {1048, 1062, 1064, 1264, 1265, 1292, 1366, 1406, 1451, 1452, 1364, 3819, 4025, 1054}
_PG_FORBIDDEN = {"42501"}
#: ids per SELECT … IN of `fetch_many`
_CHUNK = 500
_PG_INVALID_CLASSES = ("22", "23")
_COLUMN = re.compile(
    r"""column ["'`]?([\w .-]+?)["'`]?(?:\s|$|,|\))|for key ['`]?([\w.]+)"""
    r"""|NOT NULL constraint failed: [\w]+\.(\w+)|UNIQUE constraint failed: [\w]+\.(\w+)|Key \((\w+)\)""",
    re.I,
)


def split_record_id(record_id: str, id_columns: list[str]) -> dict[str, str]:
    """`a|b` → {first id column: a, second: b}: the mapping joins several id columns with `|`
    (the last column keeps any further `|`)."""
    parts = record_id.split("|", len(id_columns) - 1)
    if len(parts) != len(id_columns):
        raise WriteRefused(
            f"record id {record_id!r} has {len(parts)} part(s); this stream's id is "
            f"{len(id_columns)} columns ({', '.join(id_columns)}) joined by |",
            kind="not_found",
        )
    return dict(zip(id_columns, parts, strict=True))


def bindable(value: Any, column: sa.Column[Any], dialect: str) -> Any:
    """A raw value as the column's type takes it."""
    if value is None:
        return None
    kind = column.type
    python: type | None
    try:
        python = kind.python_type
    except NotImplementedError:
        python = None
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        aware = value.tzinfo is not None
        if python is dt.datetime:
            timezone = getattr(kind, "timezone", False) and dialect == "postgresql"
            return value if timezone or not aware else value.astimezone(dt.UTC).replace(tzinfo=None)
        if python is dt.date:
            return value.date()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        if python in (dt.date, dt.datetime):
            return value if python is dt.date else dt.datetime(value.year, value.month, value.day)
        return value.isoformat()
    if isinstance(value, bool):
        return int(value) if python is int else value
    if python is int and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if python is Decimal and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return value
    if python is str and isinstance(value, int | float) and dialect != "sqlite":
        return str(value)
    return value


def where(table: sa.Table, values: dict[str, Any], dialect: str) -> list[sa.ColumnElement[bool]]:
    """column = value (IS NULL for None) for each, values bound as the column takes them."""
    return [matches(table.c[c], bindable(v, table.c[c], dialect)) for c, v in values.items()]


def matches(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def classify(exc: Exception, source: str, table: str) -> Exception:
    """A database error → WriteRefused (the server refused) or None (not a refusal)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    code = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    where = f"source {source!r}, table {table}"
    found = _COLUMN.search(text)
    column = next((g for g in found.groups() if g), None) if found else None
    fields = [{"field": column, "message": text}] if column else []
    lowered = text.lower()
    if (
        code in _MYSQL_FORBIDDEN
        or state in _PG_FORBIDDEN
        or "permission denied" in lowered
        or "readonly database" in lowered
        or "read-only" in lowered
    ):
        message = f"{where}: the database refused the write: {text}"
        return WriteRefused(message, kind="forbidden", fields=fields)
    invalid = isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError)
    invalid |= code in _MYSQL_INVALID or (isinstance(state, str) and state.startswith(_PG_INVALID_CLASSES))
    invalid |= isinstance(exc, sa.exc.StatementError) and "datatype mismatch" in lowered
    if invalid:
        message = f"{where}: the database refused the values: {text}"
        return WriteRefused(message, kind="invalid", fields=fields)
    return exc


def conflict(
    held: dict[str, Any], expected: dict[str, Any], source: str, table: str, record_id: str
) -> WriteRefused:
    return changed_since(held, expected, f"source {source!r}, table {table}, record {record_id}")


def unknown_columns(table: sa.Table, values: dict[str, Any], source: str) -> None:
    missing = [c for c in values if c not in table.c]
    if missing:
        raise WriteRefused(
            f"source {source!r}: table {table.fullname} has no column {', '.join(map(repr, missing))}; "
            f"its columns: {', '.join(table.c.keys())}",
            kind="invalid",
            fields=[{"field": c, "message": f"not a column of table {table.fullname}"} for c in missing],
        )


def not_found(source: str, table: str, record_id: str) -> WriteRefused:
    return WriteRefused(f"source {source!r}, table {table}: no record {record_id!r}", kind="not_found")


class SqlWrites:
    """fetch / update / insert / delete of `SqlConnector` (mixed in; it provides `engine`,
    `config`, `_error`, `_explain`, `_inner` and `streams`)."""

    writable = True
    engine: sa.Engine
    config: Any

    def _stream(self, entity: str) -> Any:
        stream = self.config.entities.get(entity)
        if stream is None:
            raise self._error(f"no stream for entity {entity!r}; streams: {self.streams()}")  # type: ignore[attr-defined]
        return stream

    def write_target(self, entity: str) -> str | None:
        """The table writes go to (None: the stream is read through a query without one)."""
        stream = self._stream(entity)
        return stream.write_table or stream.table

    def _written_table(self, conn: sa.Connection, entity: str) -> sa.Table:
        name = self.write_target(entity)
        if name is None:
            raise SourceError(
                f"source {self.config.name!r}: entities.{entity} is read through a query; name the "
                "table its rows come from as `write_table:` to write to it"
            )
        cache: dict[str, sa.Table] = self.__dict__.setdefault("_reflected", {})
        if name not in cache:
            schema, _, bare = name.rpartition(".")
            try:
                cache[name] = sa.Table(bare, sa.MetaData(), schema=schema or None, autoload_with=conn)
            except sa.exc.NoSuchTableError:
                raise SourceError(
                    f"source {self.config.name!r}: entities.{entity}: table {name!r} to write to not found"
                ) from None
        missing = [c for c in self._stream(entity).id_columns if c not in cache[name].c]
        if missing:
            raise SourceError(
                f"source {self.config.name!r}: entities.{entity}: the id column "
                f"{', '.join(map(repr, missing))} is not in table {name!r}, so no record can be found there"
            )
        return cache[name]

    def check_write_table(self, conn: sa.Connection, entity: str, inspector: Any) -> None:
        """`write_table` exists and holds the stream's id columns (run by check())."""
        stream = self._stream(entity)
        schema, _, name = stream.write_table.rpartition(".")
        if not inspector.has_table(name, schema=schema or None):
            tables = inspector.get_table_names(schema or None)
            raise self._error(  # type: ignore[attr-defined]
                f"entities.{entity}.write_table: table {stream.write_table!r} not found; tables in "
                f"{schema or 'the default schema'}: {', '.join(sorted(tables)) or '(none)'}"
            )
        columns = [c["name"] for c in inspector.get_columns(name, schema=schema or None)]
        missing = [c for c in stream.id_columns if c not in columns]
        if missing:
            raise self._error(  # type: ignore[attr-defined]
                f"entities.{entity}.write_table: the id column {', '.join(map(repr, missing))} is not in "
                f"table {stream.write_table!r} (its columns: {', '.join(columns)}); writes find the "
                "record by the stream's id columns under the same names"
            )

    def read_only_columns(self, entity: str) -> dict[str, str]:
        stream = self._stream(entity)
        if self.write_target(entity) is None:
            return {"*": "read through a query: name the table to write as `write_table:`"}
        with self._explained(), self.engine.connect() as conn:  # type: ignore[attr-defined]
            table = self._written_table(conn, entity)
        columns = {c for m in stream.fields.values() for c in m.value_columns}
        return {
            c: f"not a column of table {table.fullname} (the query computes it)"
            for c in sorted(columns)
            if c not in table.c
        }

    def _record(self, conn: sa.Connection, entity: str, ids: dict[str, str]) -> dict[str, Any] | None:
        """The record as read() would give it: from the stream's table or query."""
        stream = self._stream(entity)
        dialect = conn.dialect.name
        if stream.query is None:
            table = self._reflect_read(conn, stream.table)
            row = conn.execute(sa.select(table).where(*where(table, ids, dialect))).mappings().first()
        else:
            quote = conn.dialect.identifier_preparer.quote
            text_type = "CHAR" if dialect in ("mysql", "mariadb") else "VARCHAR"
            inner = self._inner(stream)  # type: ignore[attr-defined]
            conditions = " AND ".join(f"CAST({quote(c)} AS {text_type}) = :k{i}" for i, c in enumerate(ids))
            sql = sa.text(f"SELECT * FROM ({inner}) AS q WHERE {conditions}")
            params = {f"k{i}": v for i, v in enumerate(ids.values())}
            row = conn.execute(sql, params).mappings().first()
        return None if row is None else {str(k): plain(v) for k, v in row.items()}

    def _reflect_read(self, conn: sa.Connection, name: str) -> sa.Table:
        cache: dict[str, sa.Table] = self.__dict__.setdefault("_reflected", {})
        if name not in cache:
            schema, _, bare = name.rpartition(".")
            cache[name] = sa.Table(bare, sa.MetaData(), schema=schema or None, autoload_with=conn)
        return cache[name]

    def _refused(self, exc: Exception, entity: str) -> Exception:
        if isinstance(exc, WriteRefused):
            return exc
        refused = classify(exc, self.config.name, self.write_target(entity) or entity)
        return refused if isinstance(refused, WriteRefused) else self._explain(exc)  # type: ignore[attr-defined]

    def fetch(self, entity: str, record_id: str) -> dict[str, Any] | None:
        ids = split_record_id(record_id, self._stream(entity).id_columns)
        try:
            with self.engine.connect() as conn:
                return self._record(conn, entity, ids)
        except sa.exc.SQLAlchemyError as exc:
            raise self._explain(exc) from None  # type: ignore[attr-defined]

    def fetch_many(self, entity: str, record_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """The records in one SELECT … WHERE id IN (…) per 500 ids (a one-column id; else one
        SELECT each), over one connection. A record whose id the rows do not give back as sent
        (a case-insensitive collation, a number read as text) is fetched on its own."""
        stream = self._stream(entity)
        wanted = list(dict.fromkeys(record_ids))
        out: dict[str, dict[str, Any] | None] = {}
        try:
            with self.engine.connect() as conn:
                if len(stream.id_columns) == 1:
                    for start in range(0, len(wanted), _CHUNK):
                        out |= self._records(
                            conn, entity, stream.id_columns[0], wanted[start : start + _CHUNK]
                        )
                for record_id in wanted:
                    if record_id not in out:
                        out[record_id] = self._record(
                            conn, entity, split_record_id(record_id, stream.id_columns)
                        )
        except sa.exc.SQLAlchemyError as exc:
            raise self._explain(exc) from None  # type: ignore[attr-defined]
        return {record_id: out[record_id] for record_id in wanted}

    def _records(
        self, conn: sa.Connection, entity: str, column: str, record_ids: list[str]
    ) -> dict[str, dict[str, Any] | None]:
        """Records by a one-column id, as `_record` reads each; those found, by the id sent."""
        stream = self._stream(entity)
        if stream.query is None:
            table = self._reflect_read(conn, stream.table)
            sent = {bindable(r, table.c[column], conn.dialect.name): r for r in record_ids}
            rows = conn.execute(sa.select(table).where(table.c[column].in_(list(sent)))).mappings().all()
        else:
            quote = conn.dialect.identifier_preparer.quote
            text_type = "CHAR" if conn.dialect.name in ("mysql", "mariadb") else "VARCHAR"
            inner = self._inner(stream)  # type: ignore[attr-defined]
            condition = f"CAST({quote(column)} AS {text_type}) IN :ids"
            sql = sa.text(f"SELECT * FROM ({inner}) AS q WHERE {condition}").bindparams(
                sa.bindparam("ids", expanding=True)
            )
            sent = {r: r for r in record_ids}
            rows = conn.execute(sql, {"ids": record_ids}).mappings().all()
        out: dict[str, dict[str, Any] | None] = {}
        for row in rows:
            record = {str(k): plain(v) for k, v in row.items()}
            held = row.get(column)
            record_id = sent.get(held) if stream.query is None else sent.get(str(held))
            if record_id is not None and record_id not in out:
                out[record_id] = record
        return out

    def update(
        self, entity: str, record_id: str, values: dict[str, Any], expected: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        stream = self._stream(entity)
        ids = split_record_id(record_id, stream.id_columns)
        try:
            with self.engine.begin() as conn:
                table = self._written_table(conn, entity)
                unknown_columns(table, {**values, **(expected or {})}, self.config.name)
                dialect = conn.dialect.name
                key = where(table, ids, dialect)
                seen = where(table, expected or {}, dialect)
                if values:
                    row = {c: bindable(v, table.c[c], dialect) for c, v in values.items()}
                    touched = conn.execute(sa.update(table).where(*key, *seen).values(row)).rowcount
                else:
                    count = sa.select(sa.func.count()).select_from(table).where(*key, *seen)
                    touched = conn.execute(count).scalar()
                if not touched:
                    self._why_untouched(conn, table, key, expected or {}, record_id)
                back = self._record(conn, entity, ids)
        except sa.exc.SQLAlchemyError as exc:
            raise self._refused(exc, entity) from None
        if back is None:
            raise not_found(self.config.name, table.fullname, record_id)
        return back

    def _why_untouched(
        self, conn: sa.Connection, table: sa.Table, key: list[Any], expected: dict[str, Any], record_id: str
    ) -> None:
        held = conn.execute(sa.select(table).where(*key)).mappings().first()
        if held is None:
            raise not_found(self.config.name, table.fullname, record_id)
        raise conflict(dict(held), expected, self.config.name, table.fullname, record_id)

    def insert(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(entity)
        try:
            with self.engine.begin() as conn:
                table = self._written_table(conn, entity)
                unknown_columns(table, values, self.config.name)
                dialect = conn.dialect.name
                row = {c: bindable(v, table.c[c], dialect) for c, v in values.items()}
                statement = sa.insert(table).values(row)
                ids: dict[str, Any] = {c: values[c] for c in stream.id_columns if values.get(c) is not None}
                if len(ids) < len(stream.id_columns) and conn.dialect.insert_returning:
                    result = conn.execute(statement.returning(*[table.c[c] for c in stream.id_columns]))
                    ids = dict(result.mappings().one())
                else:
                    result = conn.execute(statement)
                    if len(ids) < len(stream.id_columns):
                        primary = [c.name for c in table.primary_key.columns]
                        ids |= dict(zip(primary, result.inserted_primary_key or (), strict=False))
                missing = [c for c in stream.id_columns if ids.get(c) is None]
                if missing:
                    raise WriteRefused(
                        f"source {self.config.name!r}: the new record of {entity} has no "
                        f"{', '.join(missing)} (its id): give it a value",
                        kind="invalid",
                        fields=[{"field": c, "message": "required: it names the record"} for c in missing],
                    )
                back = self._record(conn, entity, {c: _id_text(ids[c]) for c in stream.id_columns})
        except sa.exc.SQLAlchemyError as exc:
            raise self._refused(exc, entity) from None
        if back is None:
            raise SourceError(
                f"source {self.config.name!r}: the new record of {entity} was written but cannot be "
                "read back through the stream (does its query or table show it?)"
            )
        return back

    def delete(self, entity: str, record_id: str, expected: dict[str, Any] | None = None) -> None:
        stream = self._stream(entity)
        ids = split_record_id(record_id, stream.id_columns)
        try:
            with self.engine.begin() as conn:
                table = self._written_table(conn, entity)
                unknown_columns(table, expected or {}, self.config.name)
                dialect = conn.dialect.name
                key = where(table, ids, dialect)
                seen = where(table, expected or {}, dialect)
                if not conn.execute(sa.delete(table).where(*key, *seen)).rowcount:
                    self._why_untouched(conn, table, key, expected or {}, record_id)
        except sa.exc.SQLAlchemyError as exc:
            raise self._refused(exc, entity) from None


def _id_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, int) and not isinstance(value, bool) else str(value)
