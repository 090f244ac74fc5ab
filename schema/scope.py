"""The one door to the store: every read of a table goes through `scope()`.

Lists, `_by_pk`, aggregates, group_by, relationship loads, nested relationship filters,
nested ordering joins, search and the provenance loaders all call it, so the role's row
filter (schema/policy.py, `row_condition`) applies everywhere at once: rows outside it do not
exist for the request — not in lists, totals or groups, not behind a relationship from a
visible row, not as a match of a nested filter.

A plain `RequestContext` (no `access`) reads everything: the schema tests run that way.
"""

from __future__ import annotations

from schema.policy import access_of, row_condition, trusted
from schema.sql import Sql, quote


def scope(table: str, alias: str, sql: Sql) -> tuple[str, str]:
    """(`FROM` item binding `alias`, boolean SQL over `alias`) for the rows of `table` this
    request may read. `table` is a model table or an auxiliary one (`quarantine`, ...)."""
    if table in sql.tables:
        sql.ctx.touched.add(table)
    from_sql = f"{quote(table)} AS {alias}"
    access = access_of(sql.ctx)
    if access is None or trusted(sql):
        return from_sql, "TRUE"
    return from_sql, row_condition(access, sql.ctx.actor, table, alias, sql)
