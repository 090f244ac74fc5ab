"""kind: snipeit against a local Snipe-IT: `{total, rows}` paging, locale-formatted costs,
`{date, formatted}` dates, bearer tokens, license seats; incremental on the client side."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from contract import read_all
from http_sync import FAST_RETRY, Gateway, VendorContract, connector
from vendor_server import SnipeIt, VendorServer

from connectors.base import SourceError

TOKEN = "snipe-token-0a9b"
N = 9
COSTS = ["1.599,62", "446,80", "1,799.99", None, "299.99"]
STATUS = [
    ("Ready to Deploy", "deployable"),
    ("Deployed", "deployed"),
    ("Pending Diagnostics", "pending"),
    ("Archived", "archived"),
]


def stamp(day: int) -> dict[str, str]:
    return {"datetime": f"2024-04-{day:02d} 15:42:44", "formatted": f"Mon Apr {day}, 2024 3:42PM"}


def asset(i: int, day: int | None = None) -> dict[str, Any]:
    label, meta = STATUS[i % 4]
    return {
        "id": 1000 + i,
        "name": f"Laptop {i}",
        "asset_tag": f"{86285000 + i}",
        "serial": f"c02zc{i:03d}lvdl",
        "model": {"id": 18, "name": "MacBook Pro 14"},
        "category": {"id": 5, "name": "Laptops"},
        "manufacturer": {"id": 3, "name": "Apple"},
        "status_label": {"id": 1, "name": label, "status_type": meta, "status_meta": meta},
        "location": {"id": 10, "name": "Berlin Office"},
        "assigned_to": {"id": 7, "username": f"user{i % 3}", "name": f"User {i % 3}", "type": "user"}
        if label == "Deployed"
        else None,
        "purchase_date": {"date": "2022-09-16", "formatted": "Fri Sep 16, 2022"},
        "warranty_expires": {"date": "2025-09-16", "formatted": "Tue Sep 16, 2025"},
        "purchase_cost": COSTS[i % len(COSTS)],
        "custom_fields": {},
        "created_at": stamp(1),
        "updated_at": stamp(day or 1 + i),
    }


@pytest.fixture
def snipe() -> SnipeIt:
    users = [
        {
            "id": u,
            "username": f"user{u}",
            "email": f"user{u}@example.com",
            "name": f"User {u}",
            "department": {"id": 1, "name": "Finance"},
            "updated_at": stamp(1 + u),
        }
        for u in range(3)
    ]
    licenses = [
        {
            "id": 1,
            "name": "Photoshop",
            "manufacturer": {"id": 9, "name": "Adobe"},
            "seats": 10,
            "free_seats_count": 8,
            "purchase_cost": "1.234,50",
            "updated_at": stamp(2),
            "expiration_date": {"date": "2026-01-31", "formatted": "2026-01-31"},
        }
    ]
    seats = {
        1: [
            {
                "id": 10 + s,
                "license_id": 1,
                "name": f"Seat {s + 1}",
                "assigned_asset": None,
                "assigned_user": {"id": s, "name": f"User {s}", "email": f"user{s}@example.com"}
                if s < 2
                else None,
            }
            for s in range(10)
        ]
    }
    return SnipeIt(TOKEN, [asset(i) for i in range(N)], users, licenses, seats)


@pytest.fixture
def server(snipe: SnipeIt) -> Iterator[VendorServer]:
    srv = VendorServer([snipe]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, token: str = TOKEN) -> dict[str, Any]:
    return {
        "name": "snipeit",
        "kind": "snipeit",
        "base_url": server.base("snipeit"),
        "auth": {"token": token},
        "paginator": {"limit": 4},
        "retry": FAST_RETRY,
        "timeout": "2s",
    }


class TestSnipeItContract(VendorContract):
    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"token": "bad-token-xyz"}
    broken_words = "401 Unauthorized"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "assets": {str(1000 + i) for i in range(N)},
            "people": {"0", "1", "2"},
            "licenses": {"1"},
            "license_assignments": {("1", "10"), ("1", "11")},
        }

    @pytest.fixture
    def change_records(self, snipe: SnipeIt) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            snipe.lists["hardware"][0] = asset(0, day=28)
            return {"assets": {"1000"}}

        return change


def test_sync_normalises_costs_dates_statuses_and_seats(server: VendorServer, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    rows = {
        r[0]: r[1:]
        for r in gateway.rows(
            "SELECT a.asset_tag, a.cost, a.purchase_date, a.status, a.serial_number, p.email "
            "FROM assets a LEFT JOIN people p ON p.id = a.assigned_to_id"
        )
    }
    assert len(rows) == N
    assert float(rows["86285000"][0]) == pytest.approx(1599.62)  # "1.599,62"
    assert float(rows["86285001"][0]) == pytest.approx(446.80)  # "446,80"
    assert float(rows["86285002"][0]) == pytest.approx(1799.99)  # "1,799.99"
    assert rows["86285003"][0] is None
    assert str(rows["86285000"][1]) == "2022-09-16"  # {date, formatted}
    assert [rows[f"{86285000 + i}"][2] for i in range(4)] == ["in_stock", "in_use", "in_repair", "retired"]
    assert rows["86285001"][3:] == ("C02ZC001LVDL", "user1@example.com")
    licenses = gateway.rows(
        "SELECT vendor, product, seats_purchased, seats_assigned, cost_per_seat FROM licenses"
    )
    assert [(v, p, sp, sa) for v, p, sp, sa, _ in licenses] == [("Adobe", "Photoshop", 10, 2)]
    assert float(licenses[0][4]) == pytest.approx(1234.5)
    holders = gateway.rows(
        "SELECT p.email FROM license_assignments a JOIN people p ON p.id = a.person_id ORDER BY 1"
    )
    assert holders == [("user0@example.com",), ("user1@example.com",)]


def test_second_sync_keeps_only_rows_changed_after_the_cursor(
    server: VendorServer, snipe: SnipeIt, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    assert gateway.sync().ok
    snipe.lists["hardware"][4] = asset(4, day=27) | {"purchase_cost": "2.000,00"}
    result = gateway.sync()
    assert result.ok
    assert "assets" in result.incremental
    calls = [c for c in server.calls_to("snipeit") if c.path == "/api/v1/hardware"]
    assert {(c.arg("sort"), c.arg("order")) for c in calls} == {("id", "asc")}
    (cost,) = gateway.rows("SELECT cost FROM assets WHERE asset_tag = '86285004'")[0]
    assert float(cost) == 2000.0
    assert len(gateway.rows("SELECT id FROM assets")) == N


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (401, "check the credentials in sources[snipeit].auth"),
        (500, "500 Internal Server Error"),
        ("garbage", "is not JSON"),
    ],
)
def test_a_failing_snipeit_keeps_the_last_good_snapshot(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "snipeit", fault)
    assert words in error
    assert len(gateway.rows("SELECT id FROM assets")) == N


def test_offset_paging_without_a_total_reads_past_a_capped_limit(
    server: VendorServer, snipe: SnipeIt
) -> None:
    snipe.max_limit = 2  # asked for 4 a page, the server sends 2, and no total is used
    conn = connector(source(server) | {"paginator": {"type": "offset", "limit": 4, "total_path": None}})
    try:
        ids = [i for b in read_all(conn, "assets") for i in b.frame["id"]]
    finally:
        conn.close()
    assert sorted(ids) == [1000 + i for i in range(N)]


def test_offset_paging_with_a_total_reads_past_a_capped_limit(server: VendorServer, snipe: SnipeIt) -> None:
    snipe.max_limit = 2
    conn = connector(source(server))
    try:
        ids = [i for b in read_all(conn, "assets") for i in b.frame["id"]]
    finally:
        conn.close()
    assert sorted(ids) == [1000 + i for i in range(N)]


def test_reads_are_sorted_by_id_not_by_update_time(server: VendorServer) -> None:
    conn = connector(source(server))
    try:
        read_all(conn, "assets")
    finally:
        conn.close()
    sorts = {
        (c.arg("sort"), c.arg("order")) for c in server.calls_to("snipeit") if c.path == "/api/v1/hardware"
    }
    assert sorts == {("id", "asc")}


def test_a_record_changed_during_the_read_does_not_push_another_out(
    server: VendorServer, snipe: SnipeIt
) -> None:
    """Offset paging: after the first page, asset 0 is edited (its update time is now the
    newest). Sorted by update time, it would move to the end and shift asset 4 onto page 1."""
    hardware = snipe.lists["hardware"]
    answer = snipe.answer

    def edit_after_first_page(call: Any) -> Any:
        reply = answer(call)
        if call.path == "/api/v1/hardware" and call.arg("offset") in (None, "0"):
            hardware[0] = asset(0, day=28)
        return reply

    snipe.answer = edit_after_first_page  # type: ignore[method-assign]
    conn = connector(source(server))
    try:
        ids = [i for b in read_all(conn, "assets") for i in b.frame["id"]]
    finally:
        conn.close()
    assert sorted(ids) == [1000 + i for i in range(N)]


def test_a_server_ignoring_the_offset_fails_the_source(server: VendorServer, snipe: SnipeIt) -> None:
    snipe.ignore_offset = True
    conn = connector(source(server))
    try:
        with pytest.raises(SourceError, match="repeats the previous page"):
            read_all(conn, "assets")
    finally:
        conn.close()
