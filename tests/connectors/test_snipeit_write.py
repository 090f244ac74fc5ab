"""Writes of kind: snipeit against the stateful loopback Snipe-IT, over real HTTP: hardware
PATCH/POST/DELETE, check-out and check-in by their endpoints, names looked up for ids,
Snipe-IT's 200 + `status: error` answers mapped to their kind, retries that never send a
POST twice; and the status read the way it is written (a checked-out asset is Deployed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from contract import read_all as batches
from http_sync import FAST_RETRY, connector
from vendor_server import SnipeIt, VendorServer

from connectors.base import SourceError, WriteRefused
from connectors.snipeit import SnipeItConnector
from transforms.context import TransformContext
from transforms.mapping import map_stream
from transforms.reverse import map_record, to_source

CTX = TransformContext()
TOKEN = "snipe-writer-7f3e"
READER = "snipe-reader-1c2d"
# Snipe-IT's status labels: (id, name, type); "Deployed" is not one of them (as on a real
# instance: a checked-out asset keeps its label, only status_meta says deployed)
LABELS = [
    (1, "Ready to Deploy", "deployable"),
    (2, "Out for Repair", "undeployable"),
    (3, "Archived", "archived"),
    (4, "Pending", "pending"),
    (5, "Lost/Stolen", "undeployable"),
]
LOCATIONS = [{"id": 10, "name": "Berlin Office"}, {"id": 11, "name": "Paris Office"}]
MODELS = [
    {"id": 18, "name": "MacBook Pro 14", "category": {"id": 5, "name": "Laptops"},
     "manufacturer": {"id": 3, "name": "Apple"}},
    {"id": 19, "name": "ThinkPad X1", "category": {"id": 5, "name": "Laptops"},
     "manufacturer": {"id": 4, "name": "Lenovo"}},
]  # fmt: skip
USERS = [
    {"id": u, "username": name, "email": f"{name}@example.com", "name": name.title(),
     "updated_at": {"datetime": "2024-01-01 00:00:00", "formatted": "x"}}
    for u, name in ((1, "ann"), (2, "bob"), (3, "cid"))
]  # fmt: skip


def hardware(ident: int, label: int, holder: dict[str, Any] | None = None, place: int = 10) -> dict[str, Any]:
    _, name, kind = LABELS[label - 1]
    location = next(p for p in LOCATIONS if p["id"] == place)
    return {
        "id": ident,
        "name": f"Laptop {ident}",
        "asset_tag": f"T-{ident}",
        "serial": f"SN{ident}",
        "model": {"id": 18, "name": "MacBook Pro 14"},
        "category": {"id": 5, "name": "Laptops"},
        "manufacturer": {"id": 3, "name": "Apple"},
        "status_label": {
            "id": label,
            "name": name,
            "status_type": kind,
            "status_meta": "deployed" if holder else kind,
        },
        "location": dict(location),
        "assigned_to": holder,
        "purchase_date": {"date": "2023-05-01", "formatted": "Mon May 1, 2023"},
        "warranty_expires": None,
        "purchase_cost": "1.299,00",
        "created_at": {"datetime": "2024-01-01 00:00:00", "formatted": "x"},
        "updated_at": {"datetime": "2024-01-01 00:00:00", "formatted": "x"},
    }


ANN = {"id": 1, "username": "ann", "name": "Ann", "email": "ann@example.com", "type": "user"}
PARIS = {"id": 11, "name": "Paris Office", "type": "location"}


@pytest.fixture
def snipe() -> SnipeIt:
    assets = [hardware(1001, 1), hardware(1002, 1, ANN), hardware(1003, 2), hardware(1004, 1, PARIS, 11)]
    labels = [{"id": i, "name": n, "type": t} for i, n, t in LABELS]
    return SnipeIt(TOKEN, assets, [dict(u) for u in USERS], [], {}, statuslabels=labels,
                   locations=LOCATIONS, models=MODELS, readers={READER})  # fmt: skip


@pytest.fixture
def server(snipe: SnipeIt) -> Iterator[VendorServer]:
    srv = VendorServer([snipe]).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: VendorServer) -> Iterator[SnipeItConnector]:
    made = snipe_source(server)
    yield made
    made.close()


def snipe_source(server: VendorServer, token: str = TOKEN) -> SnipeItConnector:
    source = {"name": "snipeit", "kind": "snipeit", "base_url": server.base("snipeit"),
              "auth": {"token": token}, "retry": FAST_RETRY, "timeout": "2s"}  # fmt: skip
    made = connector(source)
    assert isinstance(made, SnipeItConnector)
    return made


def unified(client: SnipeItConnector, raw: dict[str, Any]) -> dict[str, Any]:
    stream = client.config.entities["assets"]
    rows = map_record(raw, "assets", stream, CTX, source="snipeit").rows
    assert len(rows) == 1
    return dict(rows.iloc[0])


def raw_of(client: SnipeItConnector, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Unified values → the raw columns the gateway would send, in the record's vocabulary."""
    return to_source(
        client.config.entities["assets"], "assets", values, CTX, current=client.fetch("assets", record_id)
    )


def sent(server: VendorServer, method: str, path_end: str = "") -> list[Any]:
    return [
        c.json
        for c in server.calls_to("snipeit")
        if c.method == method and c.path.startswith("/api/v1/hardware") and c.path.endswith(path_end)
    ]


def record(snipe: SnipeIt, ident: int) -> dict[str, Any]:
    return next(r for r in snipe.lists["hardware"] if r["id"] == ident)


# ---------------------------------------------------------------------- read = write
def test_a_checked_out_asset_reads_as_deployed_and_in_use(client: SnipeItConnector) -> None:
    frame = pd.concat(b.frame for b in batches(client, "assets")).set_index("id")
    assert frame.loc[1002, "status_label.name"] == "Ready to Deploy"  # the label stays
    assert frame.loc[1002, "status_label.shown"] == "Deployed"
    assert frame.loc[1002, "assigned_to.person"] == "ann@example.com"
    assert frame.loc[1004, "status_label.shown"] == "Deployed"  # out to a location
    assert frame.loc[1004, "assigned_to.person"] is None
    stream = client.config.entities["assets"]
    rows = map_record_frame(frame.reset_index(), stream).set_index("asset_tag")
    assert rows.loc["T-1001", "status"] == "in_stock"
    assert rows.loc["T-1002", "status"] == "in_use"
    assert rows.loc["T-1002", "assigned_to_key"] == "ann@example.com"
    assert rows.loc["T-1003", "status"] == "in_repair"
    assert rows.loc["T-1004", "status"] == "in_use"


def map_record_frame(frame: pd.DataFrame, stream: Any) -> pd.DataFrame:
    return map_stream(frame, "assets", stream, CTX, source="snipeit").rows


# ---------------------------------------------------------------------- update
def test_update_sets_fields_by_patch_with_names_looked_up(
    client: SnipeItConnector, server: VendorServer, snipe: SnipeIt
) -> None:
    raw = raw_of(client, "1001", {"status": "in_repair", "location": "Paris Office", "name": "Spare 1",
                                  "purchase_date": "2025-02-03"})  # fmt: skip
    assert raw["status_label.shown"] == "Out for Repair"  # Snipe-IT's word, as the record spells them
    back = client.update("assets", "1001", raw)
    (patch,) = sent(server, "PATCH")
    assert patch == {"status_id": 2, "location_id": 11, "name": "Spare 1", "purchase_date": "2025-02-03"}
    assert back["status_label.name"] == "Out for Repair"
    row = unified(client, back)
    assert (row["status"], row["location_key"], row["name"]) == ("in_repair", "Paris Office", "Spare 1")
    assert row["purchase_date"] == pd.Timestamp("2025-02-03")
    assert record(snipe, 1001)["location"] == {"id": 11, "name": "Paris Office"}
    frame = pd.concat(b.frame for b in batches(client, "assets")).set_index("id")
    assert frame.loc[1001, "status_label.shown"] == "Out for Repair"  # the next list read sees it


def test_status_and_holder_written_by_check_out_and_check_in(
    client: SnipeItConnector, server: VendorServer, snipe: SnipeIt
) -> None:
    raw = raw_of(client, "1001", {"status": "in_use", "assigned_to": "cid@example.com"})
    assert raw == {"status_label.shown": "Deployed", "assigned_to.person": "cid@example.com"}
    back = client.update("assets", "1001", raw)
    assert sent(server, "POST", "/checkout") == [
        {"checkout_to_type": "user", "assigned_user": 3, "status_id": 1}
    ]
    assert not sent(server, "PATCH")
    assert (unified(client, back)["status"], back["assigned_to.person"]) == ("in_use", "cid@example.com")
    assert record(snipe, 1001)["status_label"]["name"] == "Ready to Deploy"
    back = client.update(
        "assets", "1001", raw_of(client, "1001", {"status": "in_stock", "assigned_to": None})
    )
    assert sent(server, "POST", "/checkin") == [{"status_id": 1}]
    assert (unified(client, back)["status"], back["assigned_to.person"]) == ("in_stock", None)
    assert record(snipe, 1001)["assigned_to"] is None


def test_a_status_other_than_in_use_checks_a_checked_out_asset_in(
    client: SnipeItConnector, server: VendorServer
) -> None:
    back = client.update("assets", "1002", raw_of(client, "1002", {"status": "in_repair"}))
    assert sent(server, "POST", "/checkin") == [{"status_id": 2}]
    row = unified(client, back)
    assert (row["status"], row["assigned_to_key"]) == ("in_repair", None)


def test_in_use_without_a_holder_is_refused_before_anything_is_sent(
    client: SnipeItConnector, server: VendorServer
) -> None:
    with pytest.raises(WriteRefused) as refused:
        client.update("assets", "1001", {"status_label.shown": "Deployed"})
    assert refused.value.kind == "invalid"
    assert refused.value.fields[0]["field"] == "status_label.shown"
    assert "checked out" in refused.value.fields[0]["message"]
    assert not [c for c in server.calls_to("snipeit") if c.method != "GET"]


def test_in_use_with_a_location_checks_out_to_that_location(
    client: SnipeItConnector, server: VendorServer
) -> None:
    back = client.update(
        "assets", "1001", {"status_label.shown": "Deployed", "location.name": "Paris Office"}
    )
    assert sent(server, "POST", "/checkout") == [
        {"checkout_to_type": "location", "assigned_location": 11, "status_id": 1}
    ]
    row = unified(client, back)
    assert (row["status"], row["location_key"], row["assigned_to_key"]) == ("in_use", "Paris Office", None)


def test_handing_a_checked_out_asset_to_another_person_checks_in_then_out(
    client: SnipeItConnector, server: VendorServer
) -> None:
    back = client.update("assets", "1002", {"assigned_to.person": "bob"})  # a username works too
    posts = [c.path for c in server.calls_to("snipeit") if c.method == "POST"]
    assert posts == ["/api/v1/hardware/1002/checkin", "/api/v1/hardware/1002/checkout"]
    assert back["assigned_to.person"] == "bob@example.com"


# ---------------------------------------------------------------------- checkout() / checkin()
def test_checkout_and_checkin_methods(client: SnipeItConnector, server: VendorServer, snipe: SnipeIt) -> None:
    back = client.checkout(
        "1001", to_person_key="bob@example.com", expected_checkin="2030-02-01", note="desk"
    )
    (body,) = sent(server, "POST", "/checkout")
    assert body == {"checkout_to_type": "user", "assigned_user": 2, "status_id": 1,
                    "expected_checkin": "2030-02-01", "note": "desk"}  # fmt: skip
    assert (back["status_label.shown"], back["assigned_to.person"]) == ("Deployed", "bob@example.com")
    assert record(snipe, 1001)["expected_checkin"]["date"] == "2030-02-01"
    back = client.checkin("1001", location_key="Paris Office", note="returned")
    assert sent(server, "POST", "/checkin") == [{"location_id": 11, "note": "returned"}]
    assert (back["status_label.shown"], back["assigned_to.person"]) == ("Ready to Deploy", None)
    assert unified(client, back)["location_key"] == "Paris Office"
    back = client.checkout("1001", to_location_key="Berlin Office")
    assert (back["status_label.shown"], back["assigned_to.type"]) == ("Deployed", "location")
    with pytest.raises(WriteRefused) as twice:
        client.checkout("1001", to_person_key="ann@example.com")
    assert twice.value.kind == "invalid"
    assert "not available for checkout" in str(twice.value)
    client.checkin("1001")
    with pytest.raises(WriteRefused) as again:
        client.checkin("1001")
    assert again.value.kind == "invalid"
    assert "already checked in" in str(again.value)
    with pytest.raises(WriteRefused) as nobody:
        client.checkout("1001", to_person_key="zed@example.com")
    assert (nobody.value.kind, nobody.value.fields[0]["field"]) == ("invalid", "assigned_to.person")


# ---------------------------------------------------------------------- refusals
def test_validation_errors_name_the_callers_columns(client: SnipeItConnector, server: VendorServer) -> None:
    with pytest.raises(WriteRefused) as refused:
        client.update("assets", "1001", {"purchase_date.date": "soon", "asset_tag": "T-1002"})
    assert refused.value.kind == "invalid"
    assert sorted(refused.value.fields, key=lambda f: f["field"]) == [
        {"field": "asset_tag", "message": "The asset tag has already been taken."},
        {"field": "purchase_date.date", "message": "The purchase date is not a valid date."},
    ]
    assert len(sent(server, "PATCH")) == 1  # answered HTTP 200 with status: error
    with pytest.raises(WriteRefused) as label:
        client.update("assets", "1001", {"status_label.shown": "Broken"})
    assert label.value.fields[0]["field"] == "status_label.shown"
    assert "Out for Repair" in label.value.fields[0]["message"]  # the labels it has
    with pytest.raises(WriteRefused) as place:
        client.update("assets", "1001", {"location.name": "Mars Base"})
    assert place.value.fields == [
        {"field": "location.name", "message": "no locations named 'Mars Base' in Snipe-IT"}
    ]
    with pytest.raises(WriteRefused) as computed:
        client.update("assets", "1001", {"category.name": "Desktops"})
    assert "model" in str(computed.value)
    assert len(sent(server, "PATCH")) == 1  # nothing more was sent


def test_a_read_only_token_is_forbidden_and_a_wrong_one_unavailable(server: VendorServer) -> None:
    reader = snipe_source(server, READER)
    try:
        assert reader.fetch("assets", "1001") is not None  # it may read
        with pytest.raises(WriteRefused) as forbidden:
            reader.update("assets", "1001", {"name": "x"})
        assert forbidden.value.kind == "forbidden"
        assert "Insufficient permissions" in str(forbidden.value)
        with pytest.raises(WriteRefused) as checkout:
            reader.checkout("1001", to_person_key="ann")
        assert checkout.value.kind == "forbidden"
    finally:
        reader.close()
    stranger = snipe_source(server, "wrong-token-0000")
    try:
        with pytest.raises(SourceError) as failed:
            stranger.update("assets", "1001", {"name": "x"})
        assert not isinstance(failed.value, WriteRefused)
        assert "wrong-token-0000" not in str(failed.value)
        assert "API token" in str(failed.value)
    finally:
        stranger.close()


def test_an_unknown_asset_is_not_found(client: SnipeItConnector) -> None:
    assert client.fetch("assets", "9999") is None  # Snipe-IT: 200 + "Asset does not exist."
    for write in (
        lambda: client.update("assets", "9999", {"name": "x"}),
        lambda: client.delete("assets", "9999"),
        lambda: client.checkin("9999"),
    ):
        with pytest.raises(WriteRefused) as missing:
            write()
        assert missing.value.kind == "not_found"


def test_a_change_since_the_caller_read_is_a_conflict(
    client: SnipeItConnector, server: VendorServer, snipe: SnipeIt
) -> None:
    seen = client.fetch("assets", "1001")
    assert seen is not None
    record(snipe, 1001)["name"] = "Renamed meanwhile"
    with pytest.raises(WriteRefused) as refused:
        client.update("assets", "1001", {"name": "Mine"}, expected={"name": seen["name"]})
    assert refused.value.kind == "conflict"
    assert refused.value.fields[0]["field"] == "name"
    assert "Renamed meanwhile" in refused.value.fields[0]["message"]
    assert not sent(server, "PATCH")
    client.update("assets", "1001", {"name": "Mine"}, expected={"name": "Renamed meanwhile"})
    assert record(snipe, 1001)["name"] == "Mine"


def test_people_are_not_written_here(client: SnipeItConnector) -> None:
    assert client.read_only_columns("people") == {
        "*": "the snipeit connector writes hardware (assets) only, not people"
    }
    with pytest.raises(SourceError, match="hardware"):
        client.update("people", "1", {"email": "x@example.com"})


# ---------------------------------------------------------------------- insert / delete
def test_insert_and_delete(client: SnipeItConnector, server: VendorServer, snipe: SnipeIt) -> None:
    values = {"asset_tag": "N-1", "serial": "SN-NEW", "model.name": "ThinkPad X1",
              "status_label.shown": "Ready to Deploy", "purchase_cost": "799.5"}  # fmt: skip
    made = client.insert("assets", values)
    (post,) = sent(server, "POST")
    assert post == {
        "asset_tag": "N-1",
        "serial": "SN-NEW",
        "model_id": 19,
        "purchase_cost": 799.5,
        "status_id": 1,
    }
    new_id = str(made["id"])
    assert (made["asset_tag"], made["manufacturer.name"]) == ("N-1", "Lenovo")
    assert unified(client, made)["cost"] == pytest.approx(799.5)
    assert "N-1" in set(pd.concat(b.frame for b in batches(client, "assets"))["asset_tag"])
    client.delete("assets", new_id, expected={"asset_tag": "N-1"})
    assert client.fetch("assets", new_id) is None
    with pytest.raises(WriteRefused) as gone:
        client.delete("assets", new_id)
    assert gone.value.kind == "not_found"
    with pytest.raises(WriteRefused) as incomplete:
        client.insert("assets", {"asset_tag": "N-2"})
    assert incomplete.value.kind == "invalid"
    assert {f["field"] for f in incomplete.value.fields} == {"model_id", "status_id"}
    with pytest.raises(WriteRefused) as lent:
        client.delete("assets", "1002")
    assert lent.value.kind == "invalid"
    assert "check it in" in str(lent.value)
    assert record(snipe, 1002)


def test_insert_in_use_creates_then_checks_out(client: SnipeItConnector, server: VendorServer) -> None:
    values = {"asset_tag": "N-3", "model.name": "MacBook Pro 14", "status_label.shown": "Deployed",
              "assigned_to.person": "ann"}  # fmt: skip
    made = client.insert("assets", values)
    assert sent(server, "POST")[0]["status_id"] == 1  # created with the deployable label
    assert (made["status_label.shown"], made["assigned_to.person"]) == ("Deployed", "ann@example.com")


# ---------------------------------------------------------------------- retries
def test_a_throttled_patch_is_sent_again(
    client: SnipeItConnector, server: VendorServer, snipe: SnipeIt
) -> None:
    snipe.throttle("PATCH")
    back = client.update("assets", "1001", {"name": "After 429"})
    assert back["name"] == "After 429"
    assert len(sent(server, "PATCH")) == 2
    assert client.client.retries == 1


def test_a_patch_is_retried_after_a_5xx(client: SnipeItConnector, server: VendorServer) -> None:
    server.fail("snipeit", 502, path="/api/v1/hardware/1001", times=2)  # the GET, then the PATCH
    assert client.update("assets", "1001", {"name": "After 502"})["name"] == "After 502"
    assert client.client.retries == 2


def test_a_post_is_not_sent_again_after_a_5xx(
    client: SnipeItConnector, server: VendorServer, snipe: SnipeIt
) -> None:
    before = len(snipe.lists["hardware"])
    server.fail("snipeit", 500, path="/api/v1/hardware", times=1)  # the lookups go elsewhere first
    with pytest.raises(SourceError) as failed:
        client.insert(
            "assets", {"asset_tag": "N-4", "model.name": "ThinkPad X1", "status_label.shown": "Pending"}
        )
    assert not isinstance(failed.value, WriteRefused)
    assert "may have been applied" in str(failed.value)
    assert len(sent(server, "POST")) == 1
    assert len(snipe.lists["hardware"]) == before
    server.fail("snipeit", 500, path="/checkout", times=1)
    with pytest.raises(SourceError, match="may have been applied"):
        client.checkout("1001", to_person_key="ann")
    assert len(sent(server, "POST", "/checkout")) == 1
    snipe.throttle("POST")  # 429: not processed, so sent again
    assert client.checkout("1001", to_person_key="ann")["assigned_to.person"] == "ann@example.com"
    assert len(sent(server, "POST", "/checkout")) == 3
