"""The one door to the store: every read of a table goes through `scope()`.

Lists, `_by_pk`, aggregates, group_by, relationship loads, nested relationship filters and
nested ordering joins all call it, so a row filter added here applies everywhere at once.

Authorization hook: return a `where_sql` that keeps only the rows the actor may see (the
actor is `sql.ctx.actor`). Bind values with `sql.bind(value)`; to compile a filter written
in the `where` syntax use `schema.filters.compile_where(filter, table, alias, sql)` — aliases
made by `sql.alias()` are unique within the statement. No policy is applied yet.
"""

from __future__ import annotations

from schema.sql import Sql, quote


def scope(table: str, alias: str, sql: Sql) -> tuple[str, str]:
    """(`FROM` item binding `alias`, boolean SQL over `alias`) for the rows of `table` this
    request may read. `table` is a model table or an auxiliary one (`quarantine`, ...)."""
    if table in sql.tables:
        sql.ctx.touched.add(table)
    return f"{quote(table)} AS {alias}", "TRUE"
