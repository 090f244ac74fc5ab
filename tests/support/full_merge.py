"""A full merge of every stacked record, as the tests build stores without the sync loop."""

from __future__ import annotations

from datetime import datetime

import duckdb

from federation.config.settings import Config
from federation.model import TABLES
from federation.pipeline.delta import full_plan
from federation.pipeline.reconcile import ReconcileReport, identity_rules, reconcile
from federation.pipeline.stacking import stack_all, stale_by_entity
from federation.pipeline.store import SourceState


def reconcile_everything(
    con: duckdb.DuckDBPyConnection, config: Config, states: dict[str, SourceState], now: datetime
) -> ReconcileReport:
    """Stack and merge every record into the attached `pub` (no incremental plan)."""
    stale = stale_by_entity(config, states, now)
    fields = stack_all(con, config)
    rules = {e: identity_rules(config, TABLES[e], f) for e, f in fields.items()}
    return reconcile(con, config, full_plan(con, rules, fields), fields, stale)
