"""The write path against the loopback Snipe-IT, through GraphQL over HTTP: an asset's status
written with `update_assets_by_pk` reaches Snipe-IT as a status label id and is served by the
next query without a sync; the desk's check-out by scan (Snipe-IT's own id, as its QR codes
carry) becomes Snipe-IT's check-out, and its check-in Snipe-IT's check-in; a change made in
Snipe-IT meanwhile is a CONFLICT."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))

from auth_gateway import make_config, token
from snipeit_server import SnipeIt
from support.serving import serving
from test_snipeit_write import ANN, LABELS, LOCATIONS, MODELS, TOKEN, USERS, hardware

from federation.demo.vendor_server import VendorServer
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.app import create_app


@dataclass
class Estate:
    http: httpx.Client
    snipe: SnipeIt
    server: VendorServer

    def post(self, role: str, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token(role)}"}
        response = self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def record(self, ident: int) -> dict[str, Any]:
        return next(r for r in self.snipe.lists["hardware"] if r["id"] == ident)

    def asset(self, tag: str) -> dict[str, Any]:
        query = (
            "query($t: String) { assets(where: {asset_tag: {_eq: $t}}) "
            "{ id status assigned_to { email } history { field before after outcome } } }"
        )
        (row,) = self.post("admin", query, t=tag)["data"]["assets"]
        return row


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Estate]:
    labels = [{"id": i, "name": n, "type": t} for i, n, t in LABELS]
    snipe = SnipeIt(TOKEN, [hardware(1001, 1), hardware(1002, 1, ANN), hardware(1003, 1)],
                    [dict(u) for u in USERS], [], {}, statuslabels=labels, locations=LOCATIONS,
                    models=MODELS)  # fmt: skip
    server = VendorServer([snipe]).start()
    source = {"name": "snipeit", "kind": "snipeit", "base_url": server.base("snipeit"),
              "auth": {"token": TOKEN}, "timeout": "5s",
              "entities": {"licenses": None, "license_assignments": None}}  # fmt: skip
    config = make_config(tmp_path, sources=[source], reconcile={"assets": {"home": "snipeit"}})
    syncer = Syncer(config)
    result = syncer.run(None)
    syncer.close()
    assert all(s.ok for s in result.sources), [s.error for s in result.sources]
    try:
        app = create_app(config, StoreReader(tmp_path / "store"))
        with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            yield Estate(http, snipe, server)
    finally:
        server.stop()


UPDATE = (
    "mutation($id: uuid!, $s: String) "
    "{ update_assets_by_pk(pk_columns: {id: $id}, _set: {status: $s}) { status } }"
)
CHECKOUT = (
    "mutation($scan: String!, $p: uuid) "
    "{ checkout_asset(asset: {scan: $scan}, to_person: $p) { asset_tag to_person_id } }"
)
CHECKIN = "mutation($scan: String!) { checkin_asset(asset: {scan: $scan}) { asset_tag } }"


def test_a_status_update_reaches_snipeit_and_shows_without_a_sync(estate: Estate) -> None:
    asset = estate.asset("T-1001")
    assert asset["status"] == "in_stock"
    body = estate.post("admin", UPDATE, id=asset["id"], s="in_repair")
    assert body == {"data": {"update_assets_by_pk": {"status": "in_repair"}}}, body
    label = estate.record(1001)["status_label"]
    assert (label["id"], label["name"]) == (2, "Out for Repair")  # written as its status_id
    patches = [c.json for c in estate.server.calls_to("snipeit") if c.method == "PATCH"]
    assert patches == [{"status_id": 2}]
    after = estate.asset("T-1001")
    assert after["status"] == "in_repair"
    assert after["history"] == [
        {"field": "status", "before": "in_stock", "after": "in_repair", "outcome": "accepted"}
    ]


def test_a_checked_out_asset_put_in_repair_is_checked_in(estate: Estate) -> None:
    asset = estate.asset("T-1002")
    assert (asset["status"], asset["assigned_to"]) == ("in_use", {"email": "ann@example.com"})
    body = estate.post("admin", UPDATE, id=asset["id"], s="in_repair")
    assert "errors" not in body, body
    assert estate.record(1002)["assigned_to"] is None
    assert estate.asset("T-1002")["status"] == "in_repair"


def test_the_desk_checks_out_and_in_through_snipeits_endpoints(estate: Estate) -> None:
    (bob,) = estate.post("admin", '{ people(where: {email: {_eq: "bob@example.com"}}) { id } }')["data"][
        "people"
    ]
    # a Snipe-IT QR code carries the asset's URL, ending in its id
    body = estate.post("service_desk", CHECKOUT, scan="https://snipe.example.com/hardware/1003", p=bob["id"])
    assert body["data"]["checkout_asset"] == {"asset_tag": "T-1003", "to_person_id": bob["id"]}, body
    held = estate.record(1003)
    assert held["assigned_to"]["email"] == "bob@example.com"
    assert held["status_label"]["name"] == "Ready to Deploy"  # Snipe-IT keeps the label
    posts = [c.path for c in estate.server.calls_to("snipeit") if c.method == "POST"]
    assert posts == ["/api/v1/hardware/1003/checkout"]
    asset = estate.asset("T-1003")
    assert (asset["status"], asset["assigned_to"]) == ("in_use", {"email": "bob@example.com"})
    body = estate.post("service_desk", CHECKIN, scan="T-1003")
    assert "errors" not in body, body
    assert estate.record(1003)["assigned_to"] is None
    asset = estate.asset("T-1003")
    assert (asset["status"], asset["assigned_to"]) == ("in_stock", None)


def test_a_change_in_snipeit_meanwhile_is_a_conflict(estate: Estate) -> None:
    asset = estate.asset("T-1001")
    estate.record(1001)["status_label"] = {"id": 3, "name": "Archived", "status_type": "archived",
                                           "status_meta": "archived"}  # fmt: skip
    (error,) = estate.post("admin", UPDATE, id=asset["id"], s="in_repair")["errors"]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert (error["extensions"]["seen"], error["extensions"]["current"]) == ("in_stock", "retired")
    assert not [c for c in estate.server.calls_to("snipeit") if c.method == "PATCH"]
