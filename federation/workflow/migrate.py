"""Bringing a database up to the code's schema with Alembic, or refusing one that is newer.

The migration scripts ship inside the package (federation/workflow/migrations/), so no
alembic.ini is needed: `alembic_config()` points Alembic at them. `upgrade()` runs in one
transaction that first takes a lock (PostgreSQL: an advisory lock per schema; SQLite:
`BEGIN IMMEDIATE`), so two processes starting at once migrate one after the other.

To write the next migration (SQLite file or PostgreSQL URL of an up-to-date database):

    python -c "from alembic import command; from federation.workflow.migrate import alembic_config; \\
      command.revision(alembic_config('sqlite:///scratch.sqlite'), 'what it does', rev_id='0002', \\
      autogenerate=True)"

then write the operations out in full, as 0001_initial.py does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from federation.workflow.database import WorkflowStoreError, safe_url, writing
from federation.workflow.tables import VERSION_TABLE

SCRIPT_LOCATION = "federation.workflow:migrations"


def alembic_config(url: str | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        # ConfigParser interpolation: a literal % in the URL is written %%
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this code knows."""
    head = scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise WorkflowStoreError("the workflow migrations are missing from the package")
    return head


def database_revisions(conn: sa.Connection) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty: never migrated)."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:name || current_schema()))"),
            {"name": "assetgraph.workflow:"},
        )


def check_revisions(engine: sa.Engine, current: tuple[str, ...]) -> None:
    """Refuse a database stamped with a revision this code does not know (a newer one)."""
    script = scripts()
    unknown = [r for r in current if not _known(script, r)]
    if unknown:
        raise WorkflowStoreError(
            f"workflow store {safe_url(engine.url)}: the database is at revision "
            f"{', '.join(unknown)}, which this version of assetgraph does not know (its newest "
            f"is {head_revision()}); a newer assetgraph has upgraded it. Run that newer version, "
            "or restore the database from a backup taken before the upgrade. Nothing was changed."
        )


def upgrade(engine: sa.Engine) -> str:
    """Migrate the database to the code's head (idempotent); returns the head revision."""
    head = head_revision()
    try:
        with writing(engine) as conn:
            _lock(conn)
            current = database_revisions(conn)
            check_revisions(engine, current)
            if current != (head,):
                config = alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise WorkflowStoreError(
            f"workflow store {safe_url(engine.url)}: cannot bring the database to revision {head} "
            f"({type(getattr(exc, 'orig', None) or exc).__name__}: {reason})"
        ) from exc
    return head
