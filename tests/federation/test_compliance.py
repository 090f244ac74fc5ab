"""Installed against licensed, over hand-made source snapshots: each license's `installed`,
each installation's license and source, and `license_compliance` per product.

The estate, and the figures worked out by hand from it:

  people: alice (active), bob (terminated), carol (active); assets S1 alice, S2 bob, S3 carol, S4
  licenses (m365):  Visio Plan 2     2 bought   held by alice, bob
                    Microsoft 365 E3 5 bought   held by alice, bob, carol
                    Power BI Pro     1 bought   held by alice
                    Slack            (okta: no purchase figure)  held by bob, carol
  installed (glpi, and sccm for S2): Visio on S1 (two versions), S3, S4 and on a machine
  the graph does not know (`PC-GHOST`, twice: one machine), `visio plan 2` in lower case on
  S3; Slack on S2 from both agents; Firefox on S1 (no license).

  product           bought assigned installed left needed surplus status
  Microsoft 365 E3       5        3         0    1      3       2 over_licensed
  Power BI Pro           1        1         0    0      1       0 compliant
  Slack               null        2         1    1      2    null unknown
  Visio Plan 2           2        2         4    1      4      -2 under_licensed
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from support.full_merge import reconcile_everything

from connectors.base import SourceConfig
from federation.config.settings import Config, Settings
from federation.pipeline.store import Publisher, SourceStore, StoreReader

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NO_QUARANTINE = pd.DataFrame(columns=["entity", "record_id", "reason", "raw"])


def frame(rows: list[dict[str, Any]], ints: tuple[str, ...] = ()) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for column in ints:
        out[column] = out[column].astype("Int64")
    out["fetched_at"] = pd.Timestamp(T0)
    return out


def installation(rid: str, asset: str, product: str, version: str = "1.0") -> dict[str, Any]:
    return {"record_id": rid, "asset_key": asset, "product": product, "version": version}


SNAPSHOTS: dict[str, dict[str, pd.DataFrame]] = {
    "cmdb": {
        "people": frame(
            [
                {"record_id": "u1", "email": "alice@example.com", "employment_status": "active"},
                {"record_id": "u2", "email": "bob@example.com", "employment_status": "terminated"},
                {"record_id": "u3", "email": "carol@example.com", "employment_status": "active"},
            ]
        ),
        "assets": frame(
            [
                {"record_id": f"c{n}", "serial_number": f"S{n}", "assigned_to_key": who}
                for n, who in (
                    (1, "alice@example.com"),
                    (2, "bob@example.com"),
                    (3, "carol@example.com"),
                    (4, None),
                )
            ]
        ),
    },
    "m365": {
        "licenses": frame(
            [
                {
                    "record_id": "l1",
                    "vendor": "Microsoft",
                    "product": "Visio Plan 2",
                    "sku": "VISIOCLIENT",
                    "seats_purchased": 2,
                },
                {
                    "record_id": "l2",
                    "vendor": "Microsoft",
                    "product": "Microsoft 365 E3",
                    "sku": "SPE_E3",
                    "seats_purchased": 5,
                },
                {
                    "record_id": "l3",
                    "vendor": "Microsoft",
                    "product": "Power BI Pro",
                    "sku": "POWER_BI_PRO",
                    "seats_purchased": 1,
                },
            ],
            ints=("seats_purchased",),
        ),
        "license_assignments": frame(
            [
                {"record_id": f"a{sku}{who}", "license_key": sku, "person_key": f"{who}@example.com"}
                for sku, holders in (("VISIOCLIENT", "ab"), ("SPE_E3", "abc"), ("POWER_BI_PRO", "a"))
                for who in ({"a": "alice", "b": "bob", "c": "carol"}[h] for h in holders)
            ]
        ),
    },
    "okta": {
        "licenses": frame([{"record_id": "slack", "product": "Slack", "sku": "SLACK"}]),
        "license_assignments": frame(
            [
                {"record_id": f"s-{who}", "license_key": "SLACK", "person_key": f"{who}@example.com"}
                for who in ("bob", "carol")
            ]
        ),
    },
    "glpi": {
        "software_installations": frame(
            [
                installation("g1", "S1", "Visio Plan 2", "16.0"),
                installation("g2", "S1", "Visio Plan 2", "15.0"),
                installation("g3", "S3", "visio plan 2"),
                installation("g4", "S4", "Visio Plan 2"),
                installation("g5", "PC-GHOST", "Visio Plan 2", "16.0"),
                installation("g6", "pc-ghost", "Visio Plan 2", "15.0"),
                installation("g7", "S2", "Slack", "4.41"),
                installation("g8", "S1", "Mozilla Firefox", "132.0"),
            ]
        )
    },
    "sccm": {"software_installations": frame([installation("x1", "S2", "Slack", "4.41")])},
}


def _source(name: str, entities: dict[str, pd.DataFrame]) -> SourceConfig:
    return SourceConfig(name=name, kind="test", entities={e: {"id": "id", "fields": {}} for e in entities})


def publish(tmp_path: Path, snapshots: dict[str, dict[str, pd.DataFrame]]) -> duckdb.DuckDBPyConnection:
    config = Config(
        settings=Settings(),
        sources=[_source(name, entities) for name, entities in snapshots.items()],
        base_dir=tmp_path,
    )
    store = SourceStore(tmp_path)
    try:
        for name, entities in snapshots.items():
            store.replace_source(name, "test", entities, NO_QUARANTINE, {}, started_at=T0)
        states = {s.source: s for s in store.states()}
        Publisher(tmp_path).publish_with(store.con, lambda con: reconcile_everything(con, config, states, T0))
    finally:
        store.close()
    snapshot = StoreReader(tmp_path).current()
    assert snapshot is not None
    return snapshot.cursor()


@pytest.fixture
def published(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return publish(tmp_path, SNAPSHOTS)


def test_license_compliance_per_product(published: duckdb.DuckDBPyConnection) -> None:
    rows = published.execute(
        "SELECT product, seats_purchased, seats_assigned, installed, assigned_to_terminated, "
        "seats_needed, surplus, status FROM license_compliance ORDER BY product"
    ).fetchall()
    assert rows == [
        ("Microsoft 365 E3", 5, 3, 0, 1, 3, 2, "over_licensed"),
        ("Power BI Pro", 1, 1, 0, 0, 1, 0, "compliant"),
        ("Slack", None, 2, 1, 1, 2, None, "unknown"),
        ("Visio Plan 2", 2, 2, 4, 1, 4, -2, "under_licensed"),
    ]
    ids = [r[0] for r in published.execute("SELECT id FROM license_compliance").fetchall()]
    assert len(set(ids)) == 4
    assert all(len(i) == 36 and i[14] == "5" for i in ids)


def test_each_license_shows_what_is_installed(published: duckdb.DuckDBPyConnection) -> None:
    got = dict(published.execute("SELECT product, installed FROM licenses").fetchall())
    assert got == {"Visio Plan 2": 4, "Microsoft 365 E3": 0, "Power BI Pro": 0, "Slack": 1}


def test_installations_get_their_license_and_source(published: duckdb.DuckDBPyConnection) -> None:
    rows = published.execute(
        "SELECT s.product, s.version, l.sku, s.source, a.serial_number FROM software_installations s "
        "LEFT JOIN licenses l ON l.id = s.license_id LEFT JOIN assets a ON a.id = s.asset_id "
        "ORDER BY s.product, a.serial_number NULLS LAST, s.version"
    ).fetchall()
    assert rows == [
        ("Mozilla Firefox", "132.0", None, "glpi", "S1"),
        # the two agents reported one installation: merged on asset + product + version
        ("Slack", "4.41", "SLACK", "glpi", "S2"),
        ("Visio Plan 2", "15.0", "VISIOCLIENT", "glpi", "S1"),
        ("Visio Plan 2", "16.0", "VISIOCLIENT", "glpi", "S1"),
        ("Visio Plan 2", "1.0", "VISIOCLIENT", "glpi", "S4"),
        ("Visio Plan 2", "15.0", "VISIOCLIENT", "glpi", None),
        ("Visio Plan 2", "16.0", "VISIOCLIENT", "glpi", None),
        ("visio plan 2", "1.0", "VISIOCLIENT", "glpi", "S3"),
    ]
    sources = published.execute(
        "SELECT r.source FROM record_sources r JOIN software_installations s ON s.id = r.entity_id "
        "WHERE s.product = 'Slack' ORDER BY 1"
    ).fetchall()
    assert sources == [("glpi",), ("sccm",)]
    # the machine nobody else knows did not become an asset
    assert published.execute("SELECT count(*) FROM assets").fetchall() == [(4,)]


def test_without_software_sources_installed_is_unknown(tmp_path: Path) -> None:
    snapshots = {k: v for k, v in SNAPSHOTS.items() if k not in ("glpi", "sccm")}
    cur = publish(tmp_path, snapshots)
    assert {r[0] for r in cur.execute("SELECT installed FROM licenses").fetchall()} == {None}
    rows = cur.execute(
        "SELECT product, installed, seats_needed, status FROM license_compliance ORDER BY product"
    ).fetchall()
    assert rows == [
        ("Microsoft 365 E3", None, 3, "over_licensed"),
        ("Power BI Pro", None, 1, "compliant"),
        ("Slack", None, 2, "unknown"),
        ("Visio Plan 2", None, 2, "compliant"),
    ]


def test_two_licenses_of_one_product_add_up(tmp_path: Path) -> None:
    snapshots = dict(SNAPSHOTS)
    extra = frame(
        [
            {
                "record_id": "v2",
                "vendor": "Microsoft",
                "product": "Visio Plan 2",
                "sku": "VISIO-EDU",
                "seats_purchased": 3,
            }
        ],
        ints=("seats_purchased",),
    )
    snapshots["edu"] = {"licenses": extra}
    cur = publish(tmp_path, snapshots)
    rows = cur.execute(
        "SELECT seats_purchased, seats_assigned, installed, surplus, status FROM license_compliance "
        "WHERE product = 'Visio Plan 2'"
    ).fetchall()
    assert rows == [(5, 2, 4, 1, "over_licensed")]
    # each license shows the product's installations; none is picked for them
    assert cur.execute(
        "SELECT DISTINCT installed FROM licenses WHERE product = 'Visio Plan 2'"
    ).fetchall() == [(4,)]
    linked = "SELECT count(license_id) FROM software_installations WHERE lower(product) = 'visio plan 2'"
    assert cur.execute(linked).fetchall() == [(0,)]


def test_no_source_may_fill_a_computed_table() -> None:
    with pytest.raises(ValueError, match=r"entities\.license_compliance: built by the gateway"):
        SourceConfig(name="x", kind="test", entities={"license_compliance": {"id": "id", "fields": {}}})
