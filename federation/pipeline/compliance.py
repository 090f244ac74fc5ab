"""Software installed against software licensed: the figures no single source has.

Run after reconciliation has written the unified tables into the snapshot being published
(attached as `pub`), in SQL inside the store's connection:

- each software installation gets its `license` (the one license of the same product; none
  when the graph has no license of that name, or several) and its `source` (the source
  whose product name won);
- each license gets `installed`: the assets its product is installed on. Products are
  compared without regard to case. An installation whose asset was not resolved counts by
  the key its source named the device by (two programs on one unknown machine: one device).
  Null when no source reports installed software at all;
- `license_compliance` gets one row per licensed product: seats purchased and assigned over
  its licenses, assets installed on, people holding a seat although they have left, seats
  needed (the larger of assigned and installed), the surplus (purchased minus needed) and a
  status: `over_licensed` (surplus > 0), `under_licensed` (< 0), `compliant` (0) or
  `unknown` (no source says how many seats were bought).

Suites are not expanded: an installation counts for licenses of its own product only (an
installed `Microsoft 365 Apps for enterprise` does not count against `Microsoft 365 E3`).
"""

from __future__ import annotations

import duckdb

from federation.model import TABLES

#: a UUID-shaped id from an md5 of the product key: the same product keeps its id
_ID = (
    "regexp_replace(md5('license_compliance:' || {key}), "
    "'^(.{{8}})(.{{4}}).(.{{3}}).(.{{3}})(.{{12}})$', '\\1-\\2-5\\3-8\\4-\\5')"
)


def publish_compliance(con: duckdb.DuckDBPyConnection) -> int:
    """Fill the computed columns and `pub.license_compliance`; return its row count."""
    con.execute(
        "UPDATE pub.software_installations AS s SET license_id = l.id FROM (SELECT lower(product) "
        "AS k, min(id) AS id FROM pub.licenses WHERE product IS NOT NULL GROUP BY 1 "
        "HAVING count(*) = 1) AS l WHERE lower(s.product) = l.k"
    )
    con.execute(
        "UPDATE pub.software_installations AS s SET source = p.source FROM pub.provenance AS p "
        "WHERE p.entity = 'software_installations' AND p.field = 'product' AND p.entity_id = s.id"
    )
    reported = con.execute("SELECT count(*) > 0 FROM pub.software_installations").fetchall()[0][0]
    device, join = _device(con)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE installed_by_product AS SELECT lower(s.product) AS k, "
        f"count(DISTINCT {device}) AS n FROM pub.software_installations s {join} "
        "WHERE s.product IS NOT NULL GROUP BY 1"
    )
    none = "0" if reported else "NULL"
    con.execute(
        f"UPDATE pub.licenses AS l SET installed = coalesce((SELECT i.n FROM installed_by_product i "
        f"WHERE i.k = lower(l.product)), {none})"
    )
    order = ", ".join(TABLES["license_compliance"].sort_keys)
    con.execute(
        f"INSERT INTO pub.license_compliance BY NAME SELECT {_ID.format(key='product')} AS id, product, "
        "vendor, seats_purchased, seats_assigned, installed, assigned_to_terminated, "
        "needed AS seats_needed, seats_purchased - needed AS surplus, "
        "CASE WHEN seats_purchased IS NULL THEN 'unknown' WHEN seats_purchased > needed THEN "
        "'over_licensed' WHEN seats_purchased < needed THEN 'under_licensed' ELSE 'compliant' END "
        "AS status FROM (SELECT *, greatest(coalesce(seats_assigned, 0), coalesce(installed, 0)) "
        f"AS needed FROM ({_per_product(none)})) ORDER BY {order}"
    )
    return con.execute("SELECT count(*) FROM pub.license_compliance").fetchall()[0][0]


def _device(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """SQL naming the device of installation `s`, and the join it needs: the asset, else the
    key the source named the device by (reconciliation's merged records still hold it), else
    the installation itself."""
    merged = "merged_software_installations"
    try:
        columns = {r[0] for r in con.execute(f"DESCRIBE {merged}").fetchall()}
    except duckdb.CatalogException:
        columns = set()
    if "asset_key" not in columns:
        return "coalesce(s.asset_id, s.id)", ""
    return (
        "coalesce(s.asset_id, 'key:' || lower(m.asset_key), s.id)",
        f"LEFT JOIN (SELECT entity_id, asset_key FROM {merged}) m ON m.entity_id = s.id",
    )


def _per_product(none: str) -> str:
    """One row per licensed product (its spelling as the licenses have it)."""
    return (
        "SELECT l.product, min(l.vendor) AS vendor, sum(l.seats_purchased)::BIGINT AS seats_purchased, "
        "sum(l.seats_assigned)::BIGINT AS seats_assigned, "
        f"coalesce(any_value(i.n), {none}) AS installed, "
        "coalesce(any_value(t.n), 0) AS assigned_to_terminated "
        "FROM pub.licenses l LEFT JOIN installed_by_product i ON i.k = lower(l.product) "
        "LEFT JOIN (SELECT l2.product, count(DISTINCT a.person_id) AS n FROM pub.license_assignments a "
        "JOIN pub.licenses l2 ON l2.id = a.license_id JOIN pub.people p ON p.id = a.person_id "
        "WHERE p.employment_status = 'terminated' GROUP BY 1) t ON t.product = l.product "
        "WHERE l.product IS NOT NULL GROUP BY l.product"
    )
