"""Writes of the sql connector against real PostgreSQL and MariaDB servers and SQLite files:
update, insert and delete by the stream's id, the caller's values checked in the same
statement, refusals mapped to their kind, and the read-back the gateway serves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from support.ports import closed_port

from connectors.base import SourceError, WriteRefused
from connectors.spreadsheet import SpreadsheetConnector, SpreadsheetSourceConfig
from connectors.sql import SqlConnector, SqlSourceConfig
from transforms.context import TransformContext
from transforms.reverse import map_record, source_writable_fields, to_source

RUN = uuid.uuid4().hex[:8]
DEVICES, USERS, PAIRS = f"agw_devices_{RUN}", f"agw_users_{RUN}", f"agw_pairs_{RUN}"
DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]
CTX = TransformContext(rates={"EUR": 1.08})


def schema() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    meta = sa.MetaData()
    devices = sa.Table(
        DEVICES, meta,
        sa.Column("device_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("asset_tag", sa.String(20), unique=True),
        sa.Column("hostname", sa.String(60), nullable=False),
        sa.Column("status", sa.String(30)),
        sa.Column("cost", sa.Numeric(12, 2)),
        sa.Column("ram_gb", sa.Integer),
        sa.Column("bought", sa.Date),
        sa.Column("seen", sa.DateTime(timezone=True)),
        sa.CheckConstraint("ram_gb >= 0", name=f"ck_ram_{RUN}"),
    )  # fmt: skip
    users = sa.Table(
        USERS, meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100)),
    )  # fmt: skip
    pairs = sa.Table(
        PAIRS, meta,
        sa.Column("site", sa.String(10), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String(40)),
    )  # fmt: skip
    return meta, devices, users, pairs


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team.sqlite'}"
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    yield from _filled(db_url)


@pytest.fixture(params=DIALECTS[1:])
def server_url(request: pytest.FixtureRequest) -> str:
    """A database server's URL (SQLite has no logins to grant less to)."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def server_engine(server_url: str) -> Iterator[sa.Engine]:
    yield from _filled(server_url)


def _filled(db_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(db_url)
    meta, devices, users, pairs = schema()
    meta.drop_all(engine)
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            devices.insert(),
            [
                {"device_id": i, "asset_tag": f"T{i:04d}", "hostname": f"lt-{i:04d}",
                 "status": "Ready to Deploy", "cost": 1000 + i, "ram_gb": 16,
                 "bought": date(2024, 1, i), "seen": datetime(2024, 5, i, 8, tzinfo=UTC)}
                for i in range(1, 6)
            ],
        )  # fmt: skip
        conn.execute(users.insert(), [{"email": "ana@example.com", "display_name": "Ribeiro, Ana"}])
        conn.execute(
            pairs.insert(), [{"site": "LON", "seq": 1, "label": "a"}, {"site": "LON", "seq": 2, "label": "b"}]
        )
    yield engine
    meta.drop_all(engine)
    engine.dispose()


DEVICE_FIELDS = {
    "asset_tag": "asset_tag",
    "hostname": "hostname",
    "status": {"column": "status", "values": {"Deployed": "in_use", "Ready to Deploy": "in_stock"}},
    "cost": {"column": "cost", "currency": "EUR"},
    "purchase_date": "bought",
    "last_seen": "seen",
}


def connect(url: str, **entities: Any) -> SqlConnector:
    entities = entities or {
        "assets": {"table": DEVICES, "id": "device_id", "fields": DEVICE_FIELDS},
        "people": {
            "query": f"SELECT id, email, display_name AS shown FROM {USERS}",
            "write_table": USERS,
            "id": "id",
            "fields": {"email": "email", "name": "shown"},
        },
        "locations": {"table": PAIRS, "id": ["site", "seq"], "fields": {"name": "label"}},
    }
    config = SqlSourceConfig.model_validate(
        {"name": "team", "kind": "sql", "url": url, "timeout": "5s", "entities": entities}
    )
    return SqlConnector(config, base_dir=Path.cwd())


@pytest.fixture
def team(db_url: str, engine: sa.Engine) -> Iterator[SqlConnector]:
    connector = connect(db_url)
    yield connector
    connector.close()


def held(engine: sa.Engine, table: str, where: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT * FROM {table} WHERE {where}")).mappings().one())


def test_update_changes_the_row_and_returns_it_read_back(team: SqlConnector, engine: sa.Engine) -> None:
    back = team.update("assets", "3", {"hostname": "lt-renamed", "status": "Deployed", "ram_gb": 32})
    assert back["hostname"] == "lt-renamed"
    assert back["status"] == "Deployed"
    assert back["asset_tag"] == "T0003"  # every column, as read() gives them
    assert held(engine, DEVICES, "device_id = 3")["ram_gb"] == 32
    frame = pd.concat(b.frame for b in team.read("assets"))
    assert frame.set_index("device_id").loc[3, "hostname"] == "lt-renamed"
    assert team.fetch("assets", "3") == back


def test_the_reverse_mapping_writes_what_reads_back(team: SqlConnector) -> None:
    stream = team.config.entities["assets"]
    values = {
        "status": "in_use",
        "cost": 1080.0,
        "purchase_date": "2025-02-03",
        "last_seen": "2025-02-03T09:30:00Z",
    }
    raw = to_source(stream, "assets", values, CTX)
    assert raw["status"] == "Deployed"
    assert raw["cost"] == 1000.0  # EUR
    back = team.update("assets", "2", raw)
    row = map_record(back, "assets", stream, CTX, source="team").rows.iloc[0]
    assert row["status"] == "in_use"
    assert row["cost"] == 1080.0
    assert row["purchase_date"] == pd.Timestamp("2025-02-03")
    assert row["last_seen"] == pd.Timestamp("2025-02-03T09:30:00Z")


def test_values_are_bound_never_spliced(team: SqlConnector, engine: sa.Engine) -> None:
    evil = "x'); DROP TABLE " + DEVICES + "; --"
    assert team.update("assets", "1", {"hostname": evil})["hostname"] == evil
    assert held(engine, DEVICES, "device_id = 2")["hostname"] == "lt-0002"


def test_a_change_since_the_caller_read_is_a_conflict_and_nothing_is_written(
    team: SqlConnector, engine: sa.Engine
) -> None:
    seen = team.fetch("assets", "4")
    assert seen is not None
    ok = team.update(
        "assets", "4", {"status": "Deployed"}, expected={"status": seen["status"], "cost": seen["cost"]}
    )
    assert ok["status"] == "Deployed"
    with pytest.raises(WriteRefused) as refused:
        team.update("assets", "4", {"hostname": "lost-update"}, expected={"status": "Ready to Deploy"})
    assert refused.value.kind == "conflict"
    assert refused.value.fields == [
        {"field": "status", "message": "expected 'Ready to Deploy', the source holds 'Deployed'"}
    ]
    assert held(engine, DEVICES, "device_id = 4")["hostname"] == "lt-0004"
    # None is compared with IS NULL
    team.update("assets", "5", {"ram_gb": None})
    assert team.update("assets", "5", {"ram_gb": 8}, expected={"ram_gb": None})["ram_gb"] == 8


def test_a_missing_record_is_not_found(team: SqlConnector) -> None:
    for write in (
        lambda: team.update("assets", "999", {"hostname": "x"}),
        lambda: team.update("assets", "999", {"hostname": "x"}, expected={"status": "Deployed"}),
        lambda: team.delete("assets", "999"),
    ):
        with pytest.raises(WriteRefused) as refused:
            write()
        assert refused.value.kind == "not_found"
        assert "'999'" in str(refused.value)
    assert team.fetch("assets", "999") is None


def test_insert_and_delete(team: SqlConnector, engine: sa.Engine) -> None:
    row = team.insert(
        "assets", {"device_id": 42, "asset_tag": "T0042", "hostname": "lt-0042", "bought": date(2025, 1, 2)}
    )
    assert row["device_id"] == 42
    assert str(row["bought"])[:10] == "2025-01-02"
    with pytest.raises(WriteRefused) as refused:
        team.delete("assets", "42", expected={"hostname": "someone-else"})
    assert refused.value.kind == "conflict"
    team.delete("assets", "42", expected={"hostname": "lt-0042"})
    assert team.fetch("assets", "42") is None


def test_insert_learns_a_generated_id_and_reads_back_through_the_query(team: SqlConnector) -> None:
    row = team.insert("people", {"email": "tariq@example.com", "display_name": "Haddad, Tariq"})
    assert row["email"] == "tariq@example.com"
    assert row["shown"] == "Haddad, Tariq"  # the query's column, not the table's
    assert isinstance(row["id"], int)
    assert row["id"] > 1
    assert (
        team.update("people", str(row["id"]), {"email": "t.haddad@example.com"})["email"]
        == "t.haddad@example.com"
    )


def test_a_query_stream_names_the_columns_it_cannot_write(team: SqlConnector, db_url: str) -> None:
    assert team.read_only_columns("people") == {
        "shown": f"not a column of table {USERS} (the query computes it)"
    }
    plain = connect(
        db_url, people={"query": f"SELECT id, email FROM {USERS}", "id": "id", "fields": {"email": "email"}}
    )
    assert plain.read_only_columns("people") == {
        "*": "read through a query: name the table to write as `write_table:`"
    }
    with pytest.raises(
        SourceError, match="read through a query; name the table its rows come from as `write_table:`"
    ):
        plain.update("people", "1", {"email": "x@example.com"})
    plain.close()


def test_fetch_many_reads_the_records_as_fetch_reads_each(team: SqlConnector) -> None:
    """One SELECT … IN for a table, a query stream and (one by one) a composite id; a record
    the source lacks is None; an id sent twice is read once."""
    asked = {
        "assets": ["3", "1", "99", "3"],
        "people": ["1", "7"],
        "locations": ["LON|2", "LON|9", "LON|1"],
    }
    for entity, ids in asked.items():
        many = team.fetch_many(entity, ids)
        assert list(many) == list(dict.fromkeys(ids))
        assert many == {i: team.fetch(entity, i) for i in ids}, entity
    assert team.fetch_many("assets", ["3", "1"])["3"]["hostname"] == "lt-0003"
    assert team.fetch_many("assets", []) == {}


def test_a_record_id_of_several_columns(team: SqlConnector) -> None:
    assert team.update("locations", "LON|2", {"label": "B"}) == {"site": "LON", "seq": 2, "label": "B"}
    with pytest.raises(WriteRefused, match="has 1 part"):
        team.update("locations", "LON", {"label": "B"})


def test_constraint_errors_are_invalid_and_name_the_column(team: SqlConnector, db_url: str) -> None:
    with pytest.raises(WriteRefused) as null:
        team.update("assets", "1", {"hostname": None})
    assert null.value.kind == "invalid"
    assert [f["field"] for f in null.value.fields] == ["hostname"]
    with pytest.raises(WriteRefused) as duplicate:
        team.update("assets", "1", {"asset_tag": "T0002"})
    assert duplicate.value.kind == "invalid"
    with pytest.raises(WriteRefused) as check:
        team.update("assets", "1", {"ram_gb": -4})
    assert check.value.kind == "invalid"
    with pytest.raises(WriteRefused) as unknown:
        team.update("assets", "1", {"colour": "red"})
    assert unknown.value.kind == "invalid"
    assert unknown.value.fields[0]["field"] == "colour"
    if not db_url.startswith("sqlite"):  # SQLite keeps text in an integer column
        with pytest.raises(WriteRefused) as typed:
            team.update("assets", "1", {"ram_gb": "lots"})
        assert typed.value.kind == "invalid"


def test_a_read_only_login_is_forbidden(server_url: str, server_engine: sa.Engine, tmp_path: Path) -> None:
    engine = server_engine
    url = sa.make_url(server_url)
    reader = f"agw_reader_{RUN}"
    with engine.begin() as conn:
        if url.get_backend_name() == "postgresql":
            conn.exec_driver_sql(f"CREATE ROLE {reader} LOGIN")
            conn.exec_driver_sql(f"GRANT SELECT ON {DEVICES} TO {reader}")
            url = url.set(username=reader)
        elif url.get_backend_name() in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"CREATE USER '{reader}'@'%%' IDENTIFIED BY 'pw'")
            conn.exec_driver_sql(f"CREATE USER '{reader}'@'localhost' IDENTIFIED BY 'pw'")
            conn.exec_driver_sql(
                f"GRANT SELECT ON {url.database}.{DEVICES} TO '{reader}'@'%%', '{reader}'@'localhost'"
            )
            url = url.set(username=reader, password="pw")
    connector = connect(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(WriteRefused) as refused:
            connector.update("assets", "1", {"hostname": "nope"})
        assert refused.value.kind == "forbidden"
        assert "pw" not in str(refused.value)
    finally:
        connector.close()
        with engine.begin() as conn:
            if url.get_backend_name() == "postgresql":
                conn.exec_driver_sql(f"REVOKE ALL ON {DEVICES} FROM {reader}")
                conn.exec_driver_sql(f"DROP ROLE {reader}")
            elif url.get_backend_name() in ("mysql", "mariadb"):
                conn.exec_driver_sql(f"DROP USER '{reader}'@'%%'")
                conn.exec_driver_sql(f"DROP USER '{reader}'@'localhost'")


def test_an_unreachable_database_is_a_source_error_not_a_refusal(tmp_path: Path) -> None:
    port = closed_port()
    connector = connect(f"postgresql+psycopg://nobody:pw@127.0.0.1:{port}/none")
    with pytest.raises(SourceError) as failed:
        connector.update("assets", "1", {"hostname": "x"})
    assert not isinstance(failed.value, WriteRefused)
    assert f"cannot connect to 127.0.0.1:{port}" in str(failed.value)


def test_write_table_must_name_a_table() -> None:
    with pytest.raises(ValueError, match="write_table"):
        SqlSourceConfig.model_validate(
            {"name": "t", "kind": "sql", "url": "sqlite://", "entities": {"people": {
                "query": "SELECT 1 AS id", "write_table": "users; DROP", "id": "id", "fields": {}}}}
        )  # fmt: skip


def test_source_writable_fields_adds_what_the_connector_cannot_write(team: SqlConnector) -> None:
    people = source_writable_fields(team, "people")
    assert people["email"] is None
    assert people["name"] == f"not a column of table {USERS} (the query computes it)"
    assert source_writable_fields(team, "assets")["status"] is None


def test_read_only_connectors_refuse_writes_clearly(tmp_path: Path) -> None:
    sheet = tmp_path / "inventory.csv"
    sheet.write_text("id,host\n1,a\n", encoding="utf-8")
    config = SpreadsheetSourceConfig.model_validate(
        {"name": "inventory", "kind": "spreadsheet", "path": str(sheet),
         "entities": {"assets": {"id": "id", "fields": {"hostname": "host"}}}}
    )  # fmt: skip
    connector = SpreadsheetConnector(config, base_dir=tmp_path)
    assert connector.writable is False
    for write in (
        lambda: connector.fetch("assets", "1"),
        lambda: connector.update("assets", "1", {"host": "b"}),
        lambda: connector.insert("assets", {"host": "b"}),
        lambda: connector.delete("assets", "1"),
    ):
        with pytest.raises(SourceError, match="source 'inventory' \\(spreadsheet\\) does not accept writes"):
            write()
    reasons = source_writable_fields(connector, "assets")
    assert reasons == {"hostname": "the spreadsheet connector does not write"}
