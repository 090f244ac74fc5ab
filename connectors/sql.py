"""SQL databases through SQLAlchemy: one table or query per entity, incremental by a cursor.

PostgreSQL is read with `COPY (SELECT …) TO STDOUT (FORMAT csv)` parsed by pyarrow, typed from
the query's description, so no Python object is built per value; COPY binds no parameters, so
the cursor is rendered with psycopg's `sql.Literal`. MariaDB/MySQL and SQLite are read with
SQLAlchemy Core, `stream_results=True` and `fetchmany(batch_size)` into pandas: they have no
columnar path without DuckDB's scanner extensions, which only load into duckdb 1.5.5.

Frames use nullable dtypes on every dialect: Int64, Float64 (NUMERIC too), boolean, string,
datetime64 (UTC for timestamptz); dates stay `datetime.date`; SQLite's timestamps stay text.
The cursor is the largest cursor value read so far as text: integers as digits, datetimes as
ISO 8601, else the value's text. Later reads ask `cursor_col >= :cursor` (a row written in
the cursor's second after the read is not lost; the rows at the cursor come again and are
merged by record id), with the cursor bound as the column's own type, found by a query that
returns no row: digits stay text for a varchar column (`'0007'`), become an int for an
integer column (9 < 23 as numbers), ISO text a datetime for a timestamp column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from psycopg import sql as pgsql
from pydantic import Field, field_validator, model_validator
from sqlalchemy.engine import make_url

from connectors.base import Batch, Connector, SourceConfig, SourceError, StreamConfig
from connectors.sql_cursor import (
    MYSQL_KINDS,
    PG_KINDS,
    SQLITE_KINDS,
    CursorKind,
    decode_cursor,
    encode_cursor,
)
from connectors.sql_write import SqlWrites


class SqlStream(StreamConfig):
    #: `table` or `schema.table`
    table: str | None = None
    #: a SELECT statement; wrapped as a subquery for incremental reads
    query: str | None = None
    #: writes (`table` or `schema.table`): the table a `query:` stream's rows come from (its id
    #: columns and the columns its fields write under the same names); default: `table`
    write_table: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$")
    batch_size: int = Field(default=50_000, ge=1)

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlStream:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        return self


class SqlSourceConfig(SourceConfig):
    kind: Literal["sql"]
    #: a SQLAlchemy URL; relative SQLite paths start at the folder of config.yaml
    url: str
    entities: dict[str, SqlStream]  # type: ignore[assignment]

    @field_validator("url")
    @classmethod
    def _sqlalchemy_can_read_it(cls, url: str) -> str:
        """Checked at load, so `validate` refuses what `sync` could not open. The messages
        never quote the URL (it may hold a password, or come from the environment)."""
        try:
            parsed = make_url(url)
        except (sa.exc.ArgumentError, ValueError):
            raise ValueError(
                "not a URL SQLAlchemy can read; expected dialect+driver://user:password@host:port/"
                "database (e.g. postgresql+psycopg://reader:${PASSWORD}@db/cmdb) or sqlite:///file.sqlite"
            ) from None
        try:
            dialect = parsed.get_dialect()
        except sa.exc.NoSuchModuleError:
            raise ValueError(
                "SQLAlchemy has no dialect for the scheme before `://`; expected one like "
                "postgresql+psycopg, mysql+pymysql or sqlite"
            ) from None
        try:
            dialect.import_dbapi()
        except ImportError as exc:
            raise ValueError(
                f"the database driver of this URL is not installed (module {exc.name})"
            ) from None
        return url


_PG_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int64(), 23: pa.int64(), 700: pa.float64(),
    701: pa.float64(), 1700: pa.float64(), 1082: pa.date32(), 1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}  # fmt: skip
_PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype(),
}  # fmt: skip
_MYSQL_CODES = {2003: "connect", 1045: "auth", 1049: "database", 1146: "table", 1054: "column",
                1969: "timeout", 3024: "timeout", 2013: "timeout"}  # fmt: skip
#: (pattern in the driver's message, kind of problem): the one table errors are classified by
_PATTERNS = [
    (r"translate host name|name or service not known|name resolution|getaddrinfo", "host"),
    (r"timeout expired|timed out", "connect_timeout"),
    (r"connection refused|can't connect", "connect"),
    (r"authentication failed|access denied", "auth"),
    (r"database \S+ does not exist|unknown database", "database"),
    (r"statement timeout|max_statement_time|maximum statement execution time", "timeout"),
    (r"relation \S+ does not exist|no such table|doesn't exist", "table"),
    (r"column \S+ does not exist|no such column|unknown column", "column"),
]
_MISSING = re.compile("|".join(p for p, kind in _PATTERNS if kind in ("table", "column")), re.I)


class SqlConnector(SqlWrites, Connector):
    """Reads (here) and writes (connectors/sql_write.py) one database."""

    kind = "sql"
    config_model = SqlSourceConfig
    config: SqlSourceConfig

    @property
    def url(self) -> sa.URL:
        url = make_url(self.config.url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            url = url.set(database=str((self.base_dir / url.database).resolve()))
        return url

    @cached_property
    def engine(self) -> sa.Engine:
        url, seconds = self.url, max(1, int(self.config.timeout.total_seconds()))
        backend = url.get_backend_name()
        args: dict[str, Any] = {
            "postgresql": {"connect_timeout": seconds, "options": f"-c statement_timeout={seconds}s"},
            "mysql": {"connect_timeout": seconds, "read_timeout": seconds},
            "sqlite": {"timeout": seconds},
        }.get(backend.replace("mariadb", "mysql"), {})
        if (
            backend == "sqlite"
            and url.database not in (None, "", ":memory:")
            and not Path(url.database).is_file()
        ):
            raise self._error(f"the SQLite database file {url.database} does not exist")
        engine = sa.create_engine(url, connect_args=args, pool_pre_ping=True)
        if backend in ("mysql", "mariadb"):

            @sa.event.listens_for(engine, "connect")
            def _statement_timeout(dbapi_conn: Any, _record: Any) -> None:
                maria = "mariadb" in dbapi_conn.get_server_info().lower()  # s vs ms
                limit = f"max_statement_time = {seconds}" if maria else f"max_execution_time = {seconds}000"
                with dbapi_conn.cursor() as cur:
                    cur.execute(f"SET SESSION {limit}")

        return engine

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.__dict__.pop("engine").dispose()

    def _error(self, message: str) -> SourceError:
        """The source's name and URL (password hidden by SQLAlchemy), then the message with
        the password masked where it stands as a token of its own: a short password `p` must
        not turn `endpoint_team` into `end***oint_team`."""
        password = make_url(self.config.url).password
        if password:
            message = re.sub(rf"(?<![A-Za-z0-9]){re.escape(str(password))}(?![A-Za-z0-9])", "***", message)
        url = self.url.render_as_string(hide_password=True)
        return SourceError(f"source {self.config.name!r} ({url}): {message}")

    def _explain(self, exc: Exception) -> SourceError:
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip()
        code = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
        problem = _MYSQL_CODES.get(code) if code else None
        if problem in (None, "connect"):
            matches = (k for p, k in _PATTERNS if re.search(p, text, re.I))
            problem = next(matches, problem)
        url, seconds = self.url, int(self.config.timeout.total_seconds())
        where = f"{url.host}:{url.port or 'default port'}"
        detail = text.splitlines()[0] if text else type(orig).__name__
        messages = {
            "connect": f"cannot connect to {where}: is the server running and listening there?",
            "connect_timeout": f"no answer from {where} within {seconds}s: check host and port",
            "host": f"cannot resolve the host {url.host!r}: check the host name in `url`",
            "auth": f"the server at {where} refused user {url.username!r}: check the user name and password",
            "database": f"database {url.database!r} does not exist on {where}",
            "timeout": f"the query took longer than the timeout ({seconds}s): raise `timeout`"
            " or read less (a `cursor`, a narrower `query`)",
        }
        return self._error(messages.get(problem or "", detail))

    @contextmanager
    def _explained(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if not isinstance(exc, sa.exc.SQLAlchemyError) and not _is_driver_error(exc):
                raise
            raise self._explain(exc) from None

    def check(self) -> None:
        with self._explained(), self.engine.connect() as conn:
            for entity, stream in self.config.entities.items():
                self._check_stream(conn, entity, stream)

    def _check_stream(self, conn: sa.Connection, entity: str, stream: SqlStream) -> None:
        inspector = sa.inspect(conn)
        if stream.table is not None:
            schema, _, name = stream.table.rpartition(".")
            if not inspector.has_table(name, schema=schema or None):
                tables = inspector.get_table_names(schema or None) + inspector.get_view_names(schema or None)
                raise self._error(
                    f"entities.{entity}: table {stream.table!r} not found; tables in "
                    f"{schema or 'the default schema'}: {', '.join(sorted(tables)) or '(none)'}"
                )
            columns = [c["name"] for c in inspector.get_columns(name, schema=schema or None)]
            what = f"table {stream.table!r}"
        else:
            cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:  # on the DB-API cursor: no parameter parsing, so `%` in the query is fine
                cur.execute(f"SELECT * FROM ({self._inner(stream)}) AS q WHERE 1 = 0")
                columns, what = [d[0] for d in cur.description], "the query's result"
            finally:
                cur.close()
        wanted = [*stream.id_columns, *([stream.cursor] if stream.cursor else [])]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise self._error(
                f"entities.{entity}: column {', '.join(map(repr, missing))} not found in "
                f"{what}; its columns: {', '.join(columns)}"
            )
        if stream.write_table is not None:
            self.check_write_table(conn, entity, inspector)

    def _inner(self, stream: SqlStream) -> str:
        if stream.query is not None:
            return stream.query.strip().rstrip(";")
        schema, _, name = stream.table.rpartition(".")  # type: ignore[union-attr]
        quote = self.engine.dialect.identifier_preparer.quote
        return "SELECT * FROM " + (f"{quote(schema)}.{quote(name)}" if schema else quote(name))

    def _select(self, stream: SqlStream, placeholder: str | None, escape_percent: bool = False) -> str:
        inner = self._inner(stream)
        sql = f"SELECT * FROM ({inner.replace('%', '%%') if escape_percent else inner}) AS q"
        if stream.cursor:
            column = self.engine.dialect.identifier_preparer.quote(stream.cursor)
            where = f" WHERE {column} >= {placeholder}" if placeholder else ""
            sql += f"{where} ORDER BY {column}"
        return sql

    def read(self, entity: str, cursor: str | None = None) -> Iterator[Batch]:
        stream = self.config.entities.get(entity)
        if stream is None:
            raise self._error(f"no stream for entity {entity!r}; streams: {self.streams()}")
        cursor = cursor if stream.cursor else None
        with self._explained(), self.engine.connect() as conn:
            try:
                read = self._read_copy if conn.dialect.name == "postgresql" else self._read_rows
                for frame in read(conn, stream, cursor):
                    cursor = self._max_cursor(frame, stream, cursor)
                    yield Batch(frame, cursor)
            except Exception as exc:
                if _MISSING.search(str(exc)) and (_is_driver_error(exc) or hasattr(exc, "orig")):
                    conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
                    self._check_stream(conn, entity, stream)  # names what is missing
                raise

    def _cursor_kind(self, conn: sa.Connection, stream: SqlStream) -> CursorKind | None:
        """The cursor column's type, from a query that returns no row (on SQLite, which types
        values rather than columns, from the stored type of one value)."""
        column = self.engine.dialect.identifier_preparer.quote(stream.cursor)  # type: ignore[arg-type]
        inner = self._inner(stream)
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:  # on the DB-API cursor: no parameter parsing, so `%` in the query is fine
            if conn.dialect.name == "sqlite":
                cur.execute(f"SELECT typeof({column}) FROM ({inner}) AS q WHERE {column} IS NOT NULL LIMIT 1")
                row = cur.fetchone()
                return SQLITE_KINDS.get(row[0]) if row else None
            cur.execute(f"SELECT {column} FROM ({inner}) AS q WHERE 1 = 0")
            code = (cur.description or [(None, None)])[0][1]
        finally:
            cur.close()
        if conn.dialect.name == "postgresql":
            return PG_KINDS.get(code, "text") if isinstance(code, int) else None
        return MYSQL_KINDS.get(code, "text") if isinstance(code, int) else None

    @staticmethod
    def _max_cursor(frame: pd.DataFrame, stream: SqlStream, latest: str | None) -> str | None:
        """Rows come ordered by the cursor column, so each batch's max is the max so far."""
        values = frame[stream.cursor].dropna() if stream.cursor else ()
        if len(values) and values.dtype == object:  # zero dates as text among datetimes
            values = values[values.map(_no_zero_date).notna()]
        return encode_cursor(values.max()) if len(values) else latest

    def _read_rows(
        self, conn: sa.Connection, stream: SqlStream, cursor: str | None
    ) -> Iterator[pd.DataFrame]:
        placeholder, style, params = None, conn.dialect.paramstyle, ()
        if cursor is not None:
            value = decode_cursor(cursor, conn.dialect.name, self._cursor_kind(conn, stream))
            params = {"cursor": value} if style in ("pyformat", "named") else (value,)
            placeholder = {"pyformat": "%(cursor)s", "named": ":cursor", "format": "%s"}.get(style, "?")
        # pymysql applies `%` formatting even without parameters: double the user's `%`
        sql = self._select(stream, placeholder, escape_percent=style in ("format", "pyformat"))
        result = conn.execution_options(stream_results=True).exec_driver_sql(sql, params)
        names = list(result.keys())
        # pymysql hands MySQL/MariaDB zero dates (`0000-00-00`) over as text: they are NULL
        dated = {
            d[0]
            for d in (result.cursor.description or [])
            if conn.dialect.name in ("mysql", "mariadb") and MYSQL_KINDS.get(d[1]) in ("date", "datetime")
        }
        empty = True
        while rows := result.fetchmany(stream.batch_size):
            empty = False
            yield pd.DataFrame(
                {
                    n: _column([_no_zero_date(x) for x in v] if n in dated else list(v))
                    for n, v in zip(names, zip(*rows, strict=True), strict=True)
                }
            )
        if empty:
            yield pd.DataFrame({n: pd.array([], dtype=object) for n in names})

    def _read_copy(
        self, conn: sa.Connection, stream: SqlStream, cursor: str | None
    ) -> Iterator[pd.DataFrame]:
        raw = conn.connection.driver_connection
        kind = None if cursor is None else self._cursor_kind(conn, stream)
        value = None if cursor is None else decode_cursor(cursor, "postgresql", kind)
        select = self._select(stream, None if value is None else pgsql.Literal(value).as_string(raw))
        with raw.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute(f"SELECT * FROM ({select}) AS d LIMIT 0")
            schema = pa.schema(
                [(d.name, _PG_TYPES.get(d.type_code, pa.string())) for d in cur.description or []]
            )
            rows: list[bytes] = []
            empty = True
            with cur.copy(f"COPY ({select}) TO STDOUT (FORMAT csv)") as copy:
                for row in copy:  # PostgreSQL sends one row per CopyData message
                    rows.append(bytes(row))
                    if len(rows) >= stream.batch_size:
                        yield _parse_csv(rows, schema)
                        rows, empty = [], False
            if rows or empty:
                yield _parse_csv(rows, schema)


def _no_zero_date(value: Any) -> Any:
    """MySQL/MariaDB zero dates (`0000-00-00`, `0000-00-00 00:00:00`) → None."""
    return None if isinstance(value, str) and value.startswith("0000-00-00") else value


def _is_driver_error(exc: BaseException) -> bool:
    """psycopg errors raised during COPY, which SQLAlchemy does not wrap."""
    return type(exc).__module__.startswith(("psycopg", "pymysql", "sqlite3"))


def _parse_csv(rows: list[bytes], schema: pa.Schema) -> pd.DataFrame:
    """COPY's CSV → typed columns: unquoted empty is NULL, quoted `""` an empty string."""
    options = pacsv.ConvertOptions(
        column_types=schema, strings_can_be_null=True, null_values=[""],
        quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"],
    )  # fmt: skip
    names, newlines = (
        pacsv.ReadOptions(column_names=schema.names),
        pacsv.ParseOptions(newlines_in_values=True),
    )
    table = (
        pacsv.read_csv(io.BytesIO(b"".join(rows)), names, newlines, options) if rows else schema.empty_table()
    )
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


def _column(values: list[Any]) -> Any:
    """One column of fetched values as a pandas array with a nullable dtype."""
    if any(isinstance(v, Decimal) for v in values):
        return pd.array([None if v is None else float(v) for v in values], dtype="Float64")
    return pd.array(values)
