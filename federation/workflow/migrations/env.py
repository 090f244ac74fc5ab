"""Alembic's environment for the workflow store, driven from federation/workflow/migrate.py.

The caller hands over an open connection in a transaction (`config.attributes["connection"]`),
so the check of the database's revision, the migration and the lock around them are one
transaction. Offline mode (`--sql`) renders the DDL for a URL instead.
"""

from __future__ import annotations

from alembic import context

from federation.workflow.tables import METADATA, VERSION_TABLE

config = context.config

if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
else:
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        # SQLite alters tables by copying them: later migrations use op.batch_alter_table
        render_as_batch=True,
        compare_type=True,
    )

with context.begin_transaction():
    context.run_migrations()
