"""The store's schema comes from the Alembic migrations in the package: an empty database is
brought to head on open, opening again changes nothing, the migrated schema is the one the
code describes, and a database stamped by a newer assetgraph is refused untouched."""

from __future__ import annotations

import threading
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from federation.workflow import METADATA, Change, WorkflowStoreError, head_revision, open_store
from federation.workflow.database import create_store_engine, writing
from federation.workflow.migrate import alembic_config
from federation.workflow.tables import VERSION_TABLE

ASSET = "5f0c3c8e-2f6b-4d0e-9d7e-1b2c3d4e5f60"


def _versions(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    finally:
        engine.dispose()


def _schema(url: str) -> dict[str, list[str]]:
    """Tables → their columns and index names, as the database reports them."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: sorted(c["name"] for c in inspector.get_columns(table))
            + sorted(str(i["name"]) for i in inspector.get_indexes(table))
            for table in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


def _change(field: str = "status") -> Change:
    return Change(
        entity="assets",
        entity_id=ASSET,
        field=field,
        before="in_use",
        after="in_repair",
        outcome="accepted",
        actor="ana@example.com",
        role="admin",
    )


def test_the_package_ships_its_migrations() -> None:
    versions = resources.files("federation.workflow") / "migrations" / "versions"
    names = [p.name for p in versions.iterdir()]
    assert {
        "0001_initial.py",
        "0002_requests.py",
        "0003_webhook_deliveries.py",
        "0004_tickets.py",
        "0005_ticket_updates.py",
    } <= set(names)
    assert head_revision() == "0005"


def test_an_empty_database_is_brought_to_head(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    assert store.revision == head_revision()
    assert _versions(store_url) == [head_revision()]
    schema = _schema(store_url)
    assert set(schema) == {
        "changes",
        "checkouts",
        "maintenance",
        "requests",
        "tickets",
        "ticket_updates",
        "webhook_deliveries",
        VERSION_TABLE,
    }
    assert "uq_checkouts_open_asset" in schema["checkouts"]
    assert "uq_maintenance_open_asset" in schema["maintenance"]
    assert "ix_changes_entity_entity_id_at" in schema["changes"]
    assert "ix_requests_waiting_on_email" in schema["requests"]
    assert "ix_tickets_status_next_attempt_at" in schema["tickets"]
    assert {"ticket", "ticket_status", "ticket_sys_id", "ticket_error"} <= set(schema["requests"])
    assert {"ticket", "ticket_status", "ticket_sys_id", "ticket_error"} <= set(schema["maintenance"])


def test_opening_again_changes_nothing(store_url: str) -> None:
    first = open_store(store_url)
    kept = first.record_change(_change())
    first.close()
    before = _schema(store_url)
    second = open_store(store_url)
    try:
        assert second.revision == head_revision()
        assert [c.id for c in second.history("assets", ASSET)] == [kept.id]
    finally:
        second.close()
    assert _schema(store_url) == before
    assert _versions(store_url) == [head_revision()]


def test_the_migrated_schema_is_the_one_the_code_describes(store_url: str) -> None:
    open_store(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()


def test_the_constraints_carry_the_names_the_code_gives_them(store_url: str) -> None:
    open_store(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        inspector = sa.inspect(engine)
        for table in METADATA.sorted_tables:
            expected = {str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            found = {str(c["name"]) for c in inspector.get_check_constraints(table.name)}
            assert found == expected, table.name
            if engine.dialect.name == "postgresql":  # SQLite does not keep primary key names
                assert inspector.get_pk_constraint(table.name)["name"] == table.primary_key.name
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "tables", [pytest.param(True, id="upgraded"), pytest.param(False, id="only-stamped")]
)
def test_a_database_from_a_newer_assetgraph_is_refused_untouched(store_url: str, tables: bool) -> None:
    engine = sa.create_engine(store_url)
    if tables:
        open_store(store_url).close()
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0042_future'"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(sa.text(f"INSERT INTO {VERSION_TABLE} VALUES ('0042_future')"))
    engine.dispose()
    before = _schema(store_url)

    with pytest.raises(WorkflowStoreError) as info:
        open_store(store_url)

    message = str(info.value)
    assert "at revision 0042_future" in message
    assert f"its newest is {head_revision()}" in message
    assert "a newer assetgraph has upgraded it" in message
    assert "Run that newer version, or restore the database from a backup" in message
    password = sa.make_url(store_url).password
    assert password is None or str(password) not in message
    assert _versions(store_url) == ["0042_future"]
    assert _schema(store_url) == before


def test_processes_starting_together_migrate_once(store_url: str) -> None:
    revisions: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def opener() -> None:
        try:
            start.wait()
            store = open_store(store_url)
            revisions.append(store.revision)
            store.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert revisions == [head_revision()] * 4
    assert _versions(store_url) == [head_revision()]


def test_a_0001_database_is_upgraded_with_its_rows_kept(store_url: str) -> None:
    """A store at the previous release's revision (0001, with history in it) gains the
    requests table on open, and keeps what it held."""
    first = open_store(store_url)
    kept = first.record_change(_change())
    first.close()
    engine = create_store_engine(store_url)
    with writing(engine) as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    engine.dispose()
    assert _versions(store_url) == ["0001"]
    assert "requests" not in _schema(store_url)

    store = open_store(store_url)
    try:
        assert store.revision == "0005"
        assert [c.id for c in store.history("assets", ASSET)] == [kept.id]
        assert store.query("requests") == []
    finally:
        store.close()
    assert "ix_requests_waiting_on_role" in _schema(store_url)["requests"]
    assert "ix_webhook_deliveries_status_next_attempt_at" in _schema(store_url)["webhook_deliveries"]
    assert "ticket_status" in _schema(store_url)["maintenance"]
