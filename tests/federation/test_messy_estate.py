"""Issue 11's estate, end to end: four messy exports synced through the pipeline and read
over HTTP. No record is quarantined for a value of an ordinary field (only the planted bad
identity values hold rows back), every planted bad value comes back as a quality note with
its source, record and field, and the devices known only by host name and manufacturer merge
with their inventory rows. The expected values are the generator's own truth
(tests/support/messy_estate.py), not read from the code under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.messy_estate import MessyEstate, make_messy_estate
from support.serving import serving

from federation.access.auth import issue_token
from federation.config.settings import Config, parse_config
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.app import create_app

SECRET = "messy-estate-test-secret-0123456789abcdef"
ROLES = {
    "admin": {"types": {"*": {"columns": "*", "allow_aggregations": True}}, "quarantine": True},
    # reads the notes on assets, but not costs: cost notes are not shown to it
    "desk": {
        "types": {"assets": {"columns": ["asset_tag", "serial_number", "hostname", "status", "quality"]}}
    },
}


@dataclass
class Synced:
    estate: MessyEstate
    config: Config
    report: Any


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    folder = tmp_path_factory.mktemp("messy")
    estate = make_messy_estate(folder, machines=300)
    auth = {"jwt_keys": [{"algorithm": "HS256", "secret": SECRET}]}
    config = parse_config(estate.config(auth=auth, roles=ROLES), base_dir=folder)
    syncer = Syncer(config)
    try:
        yield Synced(estate, config, syncer.run())
    finally:
        syncer.close()


@pytest.fixture(scope="module")
def http(synced: Synced) -> Iterator[httpx.Client]:
    reader = StoreReader(synced.config.resolve(synced.config.settings.store.path))
    with serving(create_app(synced.config, reader)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def gql(http: httpx.Client, role: str, query: str) -> dict[str, Any]:
    auth = parse_config({"auth": {"jwt_keys": [{"algorithm": "HS256", "secret": SECRET}]}}).settings.auth
    assert auth is not None
    bearer = issue_token(auth, role, {}, subject=f"test-{role}", ttl=timedelta(minutes=5))
    response = http.post("/graphql", json={"query": query}, headers={"authorization": f"Bearer {bearer}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_every_source_syncs(synced: Synced) -> None:
    assert [(r.source, r.status) for r in synced.report.sources] == [
        ("hr", "ok"), ("inventory", "ok"), ("network", "ok"), ("finance", "ok")
    ]  # fmt: skip
    by_source = {r.source: r.noted for r in synced.report.sources}
    planted = {s: sum(1 for p in synced.estate.planted if p[0] == s) for s in by_source}
    assert by_source == planted


def test_only_the_planted_identity_values_quarantine_their_rows(http: httpx.Client, synced: Synced) -> None:
    rows = gql(http, "admin", "{ quarantine(limit: 1000) { source entity record_id reason } }")["quarantine"]
    held = {(q["source"], q["entity"], q["record_id"]) for q in rows}
    assert held == {(s, e, r) for s, e, r, _ in synced.estate.planted_identity}
    for q in rows:
        field = next(f for s, e, r, f in synced.estate.planted_identity if r == q["record_id"])
        assert q["reason"].startswith(f"{field}: ")


def test_the_quality_notes_name_every_planted_value_and_nothing_else(
    http: httpx.Client, synced: Synced
) -> None:
    notes = gql(http, "admin", "{ quality(limit: 1000) { source entity record_id field value reason } }")[
        "quality"
    ]
    got = {(n["source"], n["entity"], n["record_id"], n["field"], n["value"]) for n in notes}
    assert got == synced.estate.planted
    for n in notes:
        assert n["reason"], n


def test_the_summary_counts_the_notes_by_source_field_and_reason(http: httpx.Client, synced: Synced) -> None:
    summary = gql(http, "admin", "{ quality_summary(limit: 1000) { source entity field reason count } }")
    counted: dict[tuple[str, str], int] = {}
    values = {v for *_, v in synced.estate.planted}
    for row in summary["quality_summary"]:
        assert not [v for v in values if f"'{v}'" in row["reason"]], row  # values are left out
        key = (row["source"], row["field"])
        counted[key] = counted.get(key, 0) + row["count"]
    planted: dict[tuple[str, str], int] = {}
    for source, _, _, field, _ in synced.estate.planted:
        planted[source, field] = planted.get((source, field), 0) + 1
    assert counted == planted


def test_records_with_a_bad_value_still_merge_and_carry_their_notes(
    http: httpx.Client, synced: Synced
) -> None:
    estate = synced.estate
    query = (
        "{ assets(limit: 1000) { id sources { source record_id } quality { source record_id field value } } }"
    )
    assets = gql(http, "admin", query)["assets"]
    # no split and no false merge: one asset per machine
    assert len(assets) == len(estate.machines)
    owner = {(s["source"], s["record_id"]): a for a in assets for s in a["sources"]}
    for source, entity, record, field, value in estate.planted:
        if entity != "assets":
            continue
        asset = owner[source, record]  # the record merged despite its bad value
        assert {"source": source, "record_id": record, "field": field, "value": value} in asset["quality"]
    # each machine's records (but a quarantined one) are one asset, and nothing else is in it
    held = {(s, r) for s, _, r, _ in estate.planted_identity}
    for key, records in estate.records.items():
        expected = set(records.items()) - held
        found = {owner[record]["id"] for record in expected}
        assert len(found) == 1, (key, expected)
        merged = {(s["source"], s["record_id"]) for s in owner[next(iter(expected))]["sources"]}
        assert merged == expected


def test_devices_known_only_by_host_name_and_manufacturer_merge(http: httpx.Client, synced: Synced) -> None:
    network = [m for m in synced.estate.machines if m.category == "network"]
    assert network
    query = (
        '{ assets(where: {category: {_eq: "network"}}, limit: 1000) '
        "{ hostname manufacturer serial_number sources { source } } }"
    )
    assets = {a["hostname"]: a for a in gql(http, "admin", query)["assets"]}
    assert set(assets) == {m.hostname for m in network}
    for m in network:
        asset = assets[m.hostname]
        assert asset["manufacturer"] == m.manufacturer
        assert asset["serial_number"] is None
        expected = {"network", "inventory"} if "inventory" in synced.estate.records[m.key] else {"network"}
        assert {s["source"] for s in asset["sources"]} == expected


def test_one_column_two_meanings(http: httpx.Client, synced: Synced) -> None:
    """Inventory's `Name`: the host name of computers, the model of monitors and phones."""
    query = (
        '{ assets(where: {category: {_in: ["monitor", "phone"]}}, limit: 1000) '
        "{ serial_number hostname model } }"
    )
    got = {a["serial_number"]: a for a in gql(http, "admin", query)["assets"]}
    others = [m for m in synced.estate.machines if m.category in ("monitor", "phone")]
    inventoried = [m for m in others if "inventory" in synced.estate.records[m.key]]
    planted_category = {r for s, _, r, f, _ in synced.estate.planted if f == "category"}
    for m in inventoried:
        if synced.estate.records[m.key]["inventory"] in planted_category:
            continue
        assert got[m.serial]["hostname"] is None
        assert got[m.serial]["model"] == m.model


def test_people_with_unicode_emails_are_merged_and_assigned(http: httpx.Client, synced: Synced) -> None:
    query = "{ people(limit: 1000) { email name manager { email } assets(limit: 50) { serial_number } } }"
    people = {p["email"]: p for p in gql(http, "admin", query)["people"]}
    estate = synced.estate
    non_ascii = [p for p in estate.people if not p["email"].isascii()]
    assert len(non_ascii) > 20
    assert {p["email"] for p in estate.people} <= set(people)
    for person in estate.people:
        assert people[person["email"]]["name"] == f"{person['first']} {person['last']}"
    planted_managers = {r for s, _, r, f, _ in estate.planted if s == "hr" and f == "manager"}
    for person in estate.people[1:]:
        manager = people[person["email"]]["manager"]
        if person["id"] in planted_managers:
            assert manager is None
        else:
            assert manager == {"email": estate.people[0]["email"]}
    bad_users = {r for s, _, r, f, _ in estate.planted if f == "assigned_to"}
    for m in estate.machines:
        inventory = estate.records[m.key].get("inventory")
        if m.assignee is None or inventory is None or inventory in bad_users:
            continue
        held = ("inventory", "assets", inventory, "serial_number") in estate.planted_identity
        if held:
            continue
        mine = people[m.assignee]["assets"]
        assert m.serial in {a["serial_number"] for a in mine}, m


def test_a_role_sees_only_the_notes_of_fields_it_reads(http: httpx.Client, synced: Synced) -> None:
    query = "{ assets(limit: 1000) { asset_tag quality { source record_id field } } }"
    fields = {n["field"] for a in gql(http, "desk", query)["assets"] for n in a["quality"]}
    planted = {f for s, e, r, f, v in synced.estate.planted if e == "assets"}
    assert fields == planted & {"asset_tag", "serial_number", "hostname", "status"}
    assert "cost" in planted


def test_a_second_sync_replaces_the_notes(synced: Synced, tmp_path: Path) -> None:
    """Notes are kept per sync with the source's snapshot: fixing the cell drops its note."""
    folder = synced.estate.folder
    finance = (folder / "finance.csv").read_text(encoding="utf-8")
    record = next(r for s, _, r, f, v in synced.estate.planted if s == "finance" and v == "TBD")
    fixed = finance.replace(f"{record},", f"{record},", 1).replace(",TBD,", ",99.00,")
    assert fixed != finance
    (folder / "finance.csv").write_text(fixed, encoding="utf-8")
    syncer = Syncer(synced.config)
    try:
        report = syncer.run(["finance"])
        notes = syncer.store.quality_frame()
    finally:
        (folder / "finance.csv").write_text(finance, encoding="utf-8")
        syncer.run(["finance"])  # as the other tests of this module found it
        syncer.close()
    assert [r.status for r in report.sources] == ["ok"]
    got = {
        (s, r, f, json.loads(v))
        for s, r, f, v in notes[["source", "record_id", "field", "value"]].itertuples(index=False)
    }
    expected = {(s, r, f, v) for s, _, r, f, v in synced.estate.planted if (s, v) != ("finance", "TBD")}
    assert got == expected
