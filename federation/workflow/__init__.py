"""The gateway's own store of workflow state: change history, check-outs, maintenance.

SQLAlchemy + Alembic; SQLite by default (a file in the store folder), PostgreSQL by URL
(`workflow.url` in config.yaml). It sits above federation/pipeline and below
federation/access and schema, and reads only federation/model and federation/config.
"""

from federation.workflow.catalog import WORKFLOW_TABLES
from federation.workflow.database import WorkflowStoreError
from federation.workflow.filters import order_by_to_sqlalchemy, where_to_sqlalchemy
from federation.workflow.migrate import head_revision
from federation.workflow.records import (
    Change,
    Checkout,
    Maintenance,
    Request,
    WorkflowConflict,
    WorkflowError,
)
from federation.workflow.requests import Actor, WorkflowForbidden
from federation.workflow.store import WorkflowStore, open_store, open_workflow_store
from federation.workflow.tables import CHANGES, CHECKOUTS, MAINTENANCE, METADATA, REQUESTS

__all__ = [
    "CHANGES",
    "CHECKOUTS",
    "MAINTENANCE",
    "METADATA",
    "REQUESTS",
    "WORKFLOW_TABLES",
    "Actor",
    "Change",
    "Checkout",
    "Maintenance",
    "Request",
    "WorkflowConflict",
    "WorkflowError",
    "WorkflowForbidden",
    "WorkflowStore",
    "WorkflowStoreError",
    "head_revision",
    "open_store",
    "open_workflow_store",
    "order_by_to_sqlalchemy",
    "where_to_sqlalchemy",
]
