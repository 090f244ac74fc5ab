"""The sql connector against real PostgreSQL and MariaDB servers and a SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from contract import ConnectorContract, read_all
from pydantic import ValidationError
from support.ports import closed_port

from connectors.base import SourceError
from connectors.sql import SqlConnector, SqlSourceConfig
from connectors.sql_cursor import decode_cursor, encode_cursor

RUN = uuid.uuid4().hex[:8]
ASSETS, PEOPLE = f"ag_assets_{RUN}", f"ag_people_{RUN}"
NAMES = ["Zoë's ThinkPad", "Müller-PC", "東京-srv-01", "café kiosk", "Łódź printer"]
BASE = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
N_ASSETS = 23
SECRET = "s3cr3t-Pa55"

DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


def sys_id(i: int) -> str:
    return uuid.uuid5(uuid.NAMESPACE_DNS, f"asset{i}").hex


def stamp(url: str, hours: float) -> datetime:
    """PostgreSQL stores timestamptz; MariaDB and SQLite store the naive UTC time."""
    value = BASE + timedelta(hours=hours)
    return value if url.startswith("postgresql") else value.replace(tzinfo=None)


def asset_row(url: str, i: int, **changes: Any) -> dict[str, Any]:
    row = {
        "sys_id": sys_id(i),
        "asset_tag": f"{i:06d}",
        "serial": f"SN-{i:05d}X",
        "name": NAMES[i % len(NAMES)],
        "cost": None if i % 5 == 0 else Decimal("1299.95") + i,
        "ram_gb": None if i % 4 == 0 else 8 * (i % 3 + 1),
        "version": i + 1,
        "purchased": date(2023, 1, 1) + timedelta(days=i),
        "updated_at": stamp(url, i),
    }
    return row | changes


def make_tables(url: str) -> tuple[sa.Table, sa.Table]:
    meta = sa.MetaData()
    assets = sa.Table(
        ASSETS, meta,
        sa.Column("sys_id", sa.String(32), primary_key=True),
        sa.Column("asset_tag", sa.String(20)),
        sa.Column("serial", sa.String(40)),
        sa.Column("name", sa.String(100)),
        sa.Column("cost", sa.Numeric(12, 2)),
        sa.Column("ram_gb", sa.Integer),
        sa.Column("version", sa.Integer),
        sa.Column("purchased", sa.Date),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    people = sa.Table(
        PEOPLE, meta,
        sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        sa.Column("full_name", sa.String(100)),
        sa.Column("active", sa.Integer),
        sa.Column("modified", sa.DateTime(timezone=True)),
    )  # fmt: skip
    return assets, people


PEOPLE_QUERY = (
    f"SELECT person_id, email, full_name, modified FROM {PEOPLE} "
    "WHERE active = 1 AND email LIKE '%@example.com';"
)


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cmdb.sqlite'}"
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def tables(db_url: str) -> Iterator[tuple[sa.Engine, sa.Table, sa.Table]]:
    engine = sa.create_engine(db_url)
    assets, people = make_tables(db_url)
    assets.metadata.drop_all(engine)
    assets.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(assets.insert(), [asset_row(db_url, i) for i in range(N_ASSETS)])
        conn.execute(
            people.insert(),
            [
                {"person_id": p, "email": f"user{p}@example.com", "full_name": NAMES[p % 5],
                 "active": int(p != 3), "modified": stamp(db_url, p)}
                for p in range(1, 7)
            ],
        )  # fmt: skip
    yield engine, assets, people
    assets.metadata.drop_all(engine)
    engine.dispose()


def make_connector(url: str, base_dir: Path | None = None, **entities: Any) -> SqlConnector:
    config = SqlSourceConfig.model_validate(
        {"name": "team_db", "kind": "sql", "url": url, "timeout": "5s", "entities": entities}
    )
    return SqlConnector(config, base_dir=base_dir or Path.cwd())


def assets_stream(**changes: Any) -> dict[str, Any]:
    stream = {"table": ASSETS, "id": "sys_id", "cursor": "updated_at", "batch_size": 7,
              "fields": {"asset_tag": "asset_tag", "serial_number": "serial", "name": "name"}}  # fmt: skip
    return stream | changes


PEOPLE_STREAM = {"query": PEOPLE_QUERY, "id": "person_id", "cursor": "modified",
                 "batch_size": 2, "fields": {"email": "email", "name": "full_name"}}  # fmt: skip


@pytest.fixture
def connector(db_url: str, tables: Any) -> Iterator[SqlConnector]:
    conn = make_connector(db_url, assets=assets_stream(), people=PEOPLE_STREAM)
    yield conn
    conn.close()


class TestSqlContract(ConnectorContract):
    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "assets": {sys_id(i) for i in range(N_ASSETS)},
            "people": {"1", "2", "4", "5", "6"},  # 3 is inactive
        }

    @pytest.fixture
    def secret(self) -> str:
        return SECRET

    @pytest.fixture
    def dead_port(self) -> int:
        return closed_port()

    @pytest.fixture
    def broken_connector(self, db_url: str, tables: Any, dead_port: int) -> Iterator[SqlConnector]:
        url = sa.make_url(db_url)
        if db_url.startswith("mysql"):  # a password MariaDB would refuse: use a closed port
            url = url.set(password=SECRET, host="127.0.0.1", port=dead_port)
        elif db_url.startswith("postgresql"):  # trust auth accepts any password
            url = url.set(password=SECRET)
        missing = assets_stream(table=f"no_such_table_{RUN}")
        conn = make_connector(url.render_as_string(hide_password=False), assets=missing)
        yield conn
        conn.close()

    @pytest.fixture
    def broken_problem(self, db_url: str, dead_port: int) -> str:
        if db_url.startswith("mysql"):
            return f"cannot connect to 127.0.0.1:{dead_port}: is the server running"
        return f"table 'no_such_table_{RUN}' not found"

    @pytest.fixture
    def change_records(self, db_url: str, tables: Any) -> Callable[[], dict[str, set[Any]]]:
        engine, assets, people = tables

        def change() -> dict[str, set[Any]]:
            later = stamp(db_url, 1000)
            with engine.begin() as conn:
                for i in (2, 9):
                    conn.execute(
                        assets.update()
                        .where(assets.c.sys_id == sys_id(i))
                        .values(name="renamed", updated_at=later)
                    )
                conn.execute(assets.insert(), [asset_row(db_url, 100, updated_at=later)])
                conn.execute(people.update().where(people.c.person_id == 5).values(modified=later))
                conn.execute(
                    people.insert(),
                    [{"person_id": 7, "email": "new@example.com", "full_name": "Nová Osoba",
                      "active": 1, "modified": later},
                     {"person_id": 8, "email": "gone@example.com", "full_name": "Gone",
                      "active": 0, "modified": later}],
                )  # fmt: skip
            return {"assets": {sys_id(2), sys_id(9), sys_id(100)}, "people": {"5", "7"}}

        return change


def test_reads_in_batches_of_batch_size(connector: SqlConnector) -> None:
    batches = read_all(connector, "assets")
    assert [len(b.frame) for b in batches] == [7, 7, 7, 2]
    cursors = [b.cursor for b in batches]
    assert cursors[-1] is not None
    last = stamp("", N_ASSETS - 1).isoformat()[:19]  # SQLite keeps its stored text form
    assert cursors[-1].replace(" ", "T").startswith(last)
    assert len(set(cursors)) == 4  # grows with every batch


def test_values_and_types_survive(connector: SqlConnector, db_url: str) -> None:
    frame = pd.concat([b.frame for b in read_all(connector, "assets")], ignore_index=True)
    row = frame.set_index("sys_id").loc[sys_id(7)]
    assert row["asset_tag"] == "000007"
    assert row["serial"] == "SN-00007X"
    assert row["name"] == NAMES[2]
    assert row["cost"] == pytest.approx(1306.95)
    assert frame.set_index("sys_id").loc[sys_id(10), "cost"] is pd.NA
    assert str(frame["ram_gb"].dtype) == "Int64"
    assert frame["ram_gb"].isna().sum() == 6
    assert str(frame["version"].dtype) == "Int64"
    assert str(frame["cost"].dtype) == "Float64"
    assert set(frame["name"]) == set(NAMES)
    if not db_url.startswith("sqlite"):  # SQLite has no timestamp type: its text stays text
        assert pd.api.types.is_datetime64_any_dtype(frame["updated_at"])
        assert str(row["purchased"]) == "2023-01-08"


def test_integer_cursor_compares_as_a_number(db_url: str, tables: Any) -> None:
    engine, assets, _ = tables
    conn = make_connector(db_url, assets=assets_stream(cursor="version", batch_size=5))
    try:
        batches = read_all(conn, "assets")
        assert batches[-1].cursor == str(N_ASSETS)  # "23": digits, parsed back as an int
        with engine.begin() as db:  # 9 < 23 as a number, "9" > "23" as text
            db.execute(assets.update().where(assets.c.sys_id == sys_id(0)).values(version=100))
        again = read_all(conn, "assets", "9")
        assert len(pd.concat([b.frame for b in again])) == N_ASSETS - 9 + 2  # 9..23 and 100
        latest = read_all(conn, "assets", batches[-1].cursor)  # at or after 23
        assert [list(b.frame["sys_id"]) for b in latest] == [[sys_id(N_ASSETS - 1), sys_id(0)]]
        assert latest[-1].cursor == "100"
    finally:
        conn.close()


def test_no_new_rows_gives_only_the_rows_at_the_cursor(connector: SqlConnector) -> None:
    cursor = read_all(connector, "assets")[-1].cursor
    batches = read_all(connector, "assets", cursor)
    assert len(batches) == 1
    assert list(batches[0].frame["sys_id"]) == [sys_id(N_ASSETS - 1)]  # the newest, read again
    assert batches[-1].cursor == cursor


def test_no_rows_at_all_gives_one_empty_batch(connector: SqlConnector) -> None:
    batches = read_all(connector, "assets", "2999-01-01T00:00:00+00:00")
    assert len(batches) == 1
    assert batches[0].frame.empty
    assert "sys_id" in batches[0].frame.columns
    assert batches[0].cursor == "2999-01-01T00:00:00+00:00"


def test_a_row_written_in_the_cursors_second_after_the_read_is_not_lost(db_url: str, tables: Any) -> None:
    engine, assets, _ = tables
    conn = make_connector(db_url, assets=assets_stream())
    try:
        cursor = read_all(conn, "assets")[-1].cursor
        with engine.begin() as db:  # same updated_at as the newest row, committed after the read
            db.execute(assets.insert(), [asset_row(db_url, 99, updated_at=stamp(db_url, N_ASSETS - 1))])
        again = {i for b in read_all(conn, "assets", cursor) for i in b.frame["sys_id"]}
        assert again == {sys_id(99), sys_id(N_ASSETS - 1)}
    finally:
        conn.close()


def test_missing_table_lists_the_tables(db_url: str, tables: Any) -> None:
    conn = make_connector(db_url, assets=assets_stream(table="asets"))
    try:
        for action in (conn.check, lambda: read_all(conn, "assets")):
            with pytest.raises(SourceError, match="table 'asets' not found") as info:
                action()
            assert ASSETS in str(info.value)
            assert PEOPLE in str(info.value)
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("entity", "stream", "missing", "listed"),
    [
        pytest.param("assets", assets_stream(id="sysid"), "sysid", "sys_id", id="id-column"),
        pytest.param("assets", assets_stream(cursor="updated"), "updated", "updated_at",
                     id="cursor-column"),
        pytest.param("people", {**PEOPLE_STREAM, "id": "personid"}, "personid", "person_id",
                     id="query-id-column"),
    ],
)  # fmt: skip
def test_missing_column_lists_the_columns(
    db_url: str, tables: Any, entity: str, stream: dict, missing: str, listed: str
) -> None:
    conn = make_connector(db_url, **{entity: stream})
    try:
        with pytest.raises(SourceError, match=f"column '{missing}' not found in") as info:
            conn.check()
        assert listed in str(info.value).split("its columns: ")[1].split(", ")
    finally:
        conn.close()


def test_missing_column_in_a_query_read_names_it(db_url: str, tables: Any) -> None:
    conn = make_connector(db_url, people={**PEOPLE_STREAM, "cursor": "changed"})
    try:
        with pytest.raises(SourceError, match="'changed' not found in the query's result"):
            read_all(conn, "people", "5")
    finally:
        conn.close()


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
def test_unreachable_port_says_so_and_hides_the_password(server: str, request: pytest.FixtureRequest) -> None:
    url = sa.make_url(request.getfixturevalue(f"{server}_url"))
    port = closed_port()
    bad = url.set(host="127.0.0.1", port=port, password=SECRET).render_as_string(hide_password=False)
    conn = make_connector(bad, assets=assets_stream())
    assert SECRET in conn.config.url
    for action in (conn.check, lambda: read_all(conn, "assets")):
        with pytest.raises(SourceError) as info:
            action()
        message = str(info.value)
        assert f"cannot connect to 127.0.0.1:{port}" in message
        assert "is the server running" in message
        assert SECRET not in message
        assert ":***@" in message
    conn.close()


def test_a_short_password_is_masked_as_a_token_not_inside_words() -> None:
    # nothing listens on the port: the error names the source and the address, with the
    # password `p` hidden, and the p of `team_db`, `postgresql` or `is the server` left alone
    port = closed_port()
    conn = make_connector(f"postgresql+psycopg://app:p@127.0.0.1:{port}/p", assets=assets_stream())
    with pytest.raises(SourceError) as info:
        conn.check()
    conn.close()
    message = str(info.value)
    assert message.startswith(f"source 'team_db' (postgresql+psycopg://app:***@127.0.0.1:{port}/p): ")
    assert f"cannot connect to 127.0.0.1:{port}: is the server running and listening there?" in message


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
def test_unknown_database(server: str, request: pytest.FixtureRequest) -> None:
    url = sa.make_url(request.getfixturevalue(f"{server}_url"))
    conn = make_connector(url.set(database=f"nodb_{RUN}").render_as_string(False), assets=assets_stream())
    with pytest.raises(SourceError, match=f"database 'nodb_{RUN}' does not exist on 127.0.0.1"):
        conn.check()
    conn.close()


def test_wrong_password_on_mariadb(mariadb_url: str) -> None:
    url = sa.make_url(mariadb_url).set(password=SECRET)
    conn = make_connector(url.render_as_string(False), assets=assets_stream())
    with pytest.raises(SourceError, match="refused user 'root': check the user name and password") as info:
        conn.check()
    assert SECRET not in str(info.value)
    conn.close()


def test_statement_timeout_on_postgres(postgres_url: str) -> None:
    config = SqlSourceConfig.model_validate(
        {"name": "slow", "kind": "sql", "url": postgres_url, "timeout": "1s",
         "entities": {"assets": {"query": "SELECT 1 AS id, pg_sleep(3)", "id": "id",
                                 "fields": {"name": "id"}}}}
    )  # fmt: skip
    conn = SqlConnector(config, base_dir=Path.cwd())
    with pytest.raises(SourceError, match=r"took longer than the timeout \(1s\)"):
        read_all(conn, "assets")
    conn.close()


def test_schema_qualified_table(db_url: str, tables: Any) -> None:
    schema = {"sqlite": "main", "postgresql": "public", "mysql": "test"}[db_url.split(":")[0].split("+")[0]]
    conn = make_connector(db_url, assets=assets_stream(table=f"{schema}.{ASSETS}"))
    conn.check()
    assert sum(len(b.frame) for b in read_all(conn, "assets")) == N_ASSETS
    conn.close()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "demo" / "cmdb.sqlite"
    path.parent.mkdir(parents=True)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE hosts (id INTEGER, name TEXT)")
        conn.exec_driver_sql("INSERT INTO hosts VALUES (1, 'a'), (2, 'b')")
    engine.dispose()
    return path


def test_relative_sqlite_path_starts_at_base_dir(sqlite_file: Path, tmp_path: Path) -> None:
    stream = {"table": "hosts", "id": "id", "fields": {"hostname": "name"}}
    conn = make_connector("sqlite:///data/demo/cmdb.sqlite", base_dir=tmp_path, assets=stream)
    conn.check()
    assert [list(b.frame["name"]) for b in read_all(conn, "assets")] == [["a", "b"]]
    assert all(b.cursor is None for b in read_all(conn, "assets"))
    conn.close()


def test_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    stream = {"table": "hosts", "id": "id", "fields": {"hostname": "name"}}
    conn = make_connector("sqlite:///nope.sqlite", base_dir=tmp_path, assets=stream)
    with pytest.raises(SourceError, match=f"{tmp_path / 'nope.sqlite'} does not exist"):
        conn.check()
    assert not (tmp_path / "nope.sqlite").exists()


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param({"table": "t", "query": "SELECT 1"}, id="both"),
        pytest.param({}, id="neither"),
    ],
)
def test_stream_needs_exactly_one_of_table_or_query(stream: dict) -> None:
    with pytest.raises(ValidationError, match="exactly one of `table` or `query`"):
        make_connector("sqlite://", assets={**stream, "id": "id", "fields": {"name": "n"}})


@pytest.mark.parametrize(
    ("value", "text", "dialect", "back"),
    [
        pytest.param(42, "42", "postgresql", 42, id="int"),
        pytest.param(datetime(2024, 5, 1, 10, 0, tzinfo=UTC), "2024-05-01T10:00:00+00:00",
                     "mysql", datetime(2024, 5, 1, 10, 0, tzinfo=UTC), id="aware-datetime"),
        pytest.param(pd.Timestamp("2024-05-01 10:00:00.5"), "2024-05-01T10:00:00.500000",
                     "postgresql", datetime(2024, 5, 1, 10, 0, 0, 500000), id="timestamp"),
        pytest.param("2024-05-01 10:00:00.000000", "2024-05-01 10:00:00.000000", "sqlite",
                     "2024-05-01 10:00:00.000000", id="sqlite-text"),
        pytest.param("2024-05-01T10:00:00", "2024-05-01T10:00:00", "sqlite",
                     "2024-05-01T10:00:00", id="sqlite-iso-text-stays-text"),
    ],
)  # fmt: skip
def test_cursor_round_trip(value: Any, text: str, dialect: str, back: Any) -> None:
    assert encode_cursor(value) == text
    assert decode_cursor(text, dialect) == back
    assert type(decode_cursor(text, dialect)) is type(back)


@pytest.mark.parametrize("column", ["changed", "rev"])
def test_a_text_cursor_column_is_compared_as_text(db_url: str, column: str) -> None:
    """varchar cursors that look like a timestamp or a number stay text on the second read."""
    table = f"ag_textcursor_{RUN}"
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    rows = sa.Table(
        table, meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("changed", sa.String(32)),
        sa.Column("rev", sa.String(10)),
    )  # fmt: skip
    meta.drop_all(engine)
    meta.create_all(engine)
    with engine.begin() as db:
        db.execute(rows.insert(), [{"id": 1, "changed": "2024-05-01T10:00:00Z", "rev": "0007"},
                                   {"id": 2, "changed": "2024-05-02T10:00:00Z", "rev": "0008"}])  # fmt: skip
    stream = {"table": table, "id": "id", "cursor": column, "fields": {}}
    conn = make_connector(db_url, assets=stream)
    try:
        cursor = read_all(conn, "assets")[-1].cursor
        assert cursor == {"changed": "2024-05-02T10:00:00Z", "rev": "0008"}[column]
        with engine.begin() as db:
            db.execute(rows.insert(), [{"id": 3, "changed": "2024-05-03T10:00:00Z", "rev": "0009"}])
        batches = read_all(conn, "assets", cursor)
        assert sorted(i for b in batches for i in b.frame["id"]) == [2, 3]
        assert batches[-1].cursor == {"changed": "2024-05-03T10:00:00Z", "rev": "0009"}[column]
    finally:
        conn.close()
        meta.drop_all(engine)
        engine.dispose()


@pytest.mark.mariadb
def test_mariadb_zero_dates_are_empty_and_do_not_break_the_cursor(mariadb_url: str) -> None:
    from transforms.context import TransformContext
    from transforms.mapping import map_stream

    table = f"ag_zero_{RUN}"
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as db:
        db.exec_driver_sql("SET SESSION sql_mode = ''")
        db.exec_driver_sql(f"CREATE TABLE {table} (id INT, purchased DATE, updated_at DATETIME)")
        db.exec_driver_sql(
            f"INSERT INTO {table} VALUES (1, '0000-00-00', '2024-05-01 10:00:00'),"
            " (2, '2023-01-02', '0000-00-00 00:00:00')"
        )
    stream = {"table": table, "id": "id", "cursor": "updated_at", "fields": {"purchase_date": "purchased"}}
    conn = make_connector(mariadb_url, assets=stream)
    try:
        batches = read_all(conn, "assets")
        assert batches[-1].cursor == "2024-05-01T10:00:00"
        frame = pd.concat([b.frame for b in batches], ignore_index=True)
        mapped = map_stream(frame, "assets", conn.config.entities["assets"], TransformContext(), source="s")
        assert mapped.quarantine.empty
        by_id = dict(zip(mapped.rows["record_id"], mapped.rows["purchase_date"], strict=True))
        assert pd.isna(by_id["1"])
        assert str(by_id["2"])[:10] == "2023-01-02"
    finally:
        conn.close()
        with engine.begin() as db:
            db.exec_driver_sql(f"DROP TABLE {table}")
        engine.dispose()
