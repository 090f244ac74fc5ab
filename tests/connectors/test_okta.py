"""kind: okta against a local Okta: users by `search`, Link paging, SSWS tokens, apps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from http_sync import FAST_RETRY, Gateway, VendorContract
from vendor_server import Okta, VendorServer

TOKEN = "okta-test-token-8f2c"
STATUSES = ["ACTIVE", "ACTIVE", "DEPROVISIONED", "SUSPENDED", "PROVISIONED", "ACTIVE", "LOCKED_OUT"]


def user(i: int, status: str | None = None, updated: str | None = None) -> dict[str, Any]:
    return {
        "id": f"00u{i:05d}",
        "status": status or STATUSES[i % len(STATUSES)],
        "created": "2022-04-04T15:56:05.000Z",
        "lastLogin": None,
        "lastUpdated": updated or f"2024-05-{1 + i % 28:02d}T10:{i % 60:02d}:00.000Z",
        "type": {"id": "oty1"},
        "profile": {
            "firstName": f"Ann{i}",
            "lastName": "Smith",
            "login": f"ann{i}@example.com",
            "email": f"Ann{i}@Example.com",
            "department": "IT",
            "mobilePhone": None,
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": f"https://example.okta.com/api/v1/users/00u{i:05d}"}},
    }


N = 23


@pytest.fixture
def okta() -> Okta:
    apps = [
        {"id": "0oa1", "name": "slack", "label": "Slack"},
        {"id": "0oa2", "name": "zoom", "label": "Zoom"},
    ]
    members = {
        "0oa1": [
            {
                "id": f"00u{i:05d}",
                "scope": "USER",
                "created": "2023-01-02T03:04:05.000Z",
                "credentials": {"userName": f"ann{i}@example.com"},
            }
            for i in range(0, N, 2)
        ],
        "0oa2": [
            {
                "id": f"00u{i:05d}",
                "scope": "USER",
                "created": "2023-01-02T03:04:05.000Z",
                "credentials": {"userName": f"ann{i}@example.com"},
            }
            for i in range(0, 5)
        ],
    }
    return Okta(TOKEN, [user(i) for i in range(N)], apps, members)


@pytest.fixture
def server(okta: Okta) -> Iterator[VendorServer]:
    srv = VendorServer([okta]).start()
    yield srv
    srv.stop()


def source(server: VendorServer, token: str = TOKEN, **extra: Any) -> dict[str, Any]:
    return {
        "name": "okta",
        "kind": "okta",
        "base_url": server.base("okta"),
        "auth": {"token": token},
        "paginator": {"size": 5},
        "retry": FAST_RETRY,
        "timeout": "2s",
        **extra,
    }


class TestOktaContract(VendorContract):
    make_source = source
    wrong_credential: ClassVar[dict[str, str]] = {"token": "wrong-secret-token"}
    broken_words = "401 Unauthorized"

    @pytest.fixture
    def expected_records(self) -> dict[str, set[Any]]:
        return {
            "people": {f"00u{i:05d}" for i in range(N)},  # DEPROVISIONED too: read by search
            "licenses": {"0oa1", "0oa2"},
            "license_assignments": {("0oa1", f"00u{i:05d}") for i in range(0, N, 2)}
            | {("0oa2", f"00u{i:05d}") for i in range(5)},
        }

    @pytest.fixture
    def change_records(self, okta: Okta) -> Callable[[], dict[str, set[Any]]]:
        def change() -> dict[str, set[Any]]:
            okta.users[3] = user(3, "ACTIVE", "2025-01-01T00:00:00.000Z")  # reactivated
            okta.users.append(user(99, "ACTIVE", "2025-01-02T00:00:00.000Z"))
            return {"people": {"00u00003", "00u00099"}}

        return change


def test_sync_lands_people_with_their_status_and_app_seats(
    server: VendorServer, okta: Okta, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    result = gateway.sync()
    assert result.ok, result.error
    people = dict(gateway.rows("SELECT email, employment_status FROM people"))
    assert len(people) == N
    assert people["ann2@example.com"] == "terminated"  # DEPROVISIONED
    assert people["ann3@example.com"] == "terminated"  # SUSPENDED
    assert people["ann0@example.com"] == "active"
    assert people["ann6@example.com"] == "active"  # LOCKED_OUT is still employed
    names = {r[0] for r in gateway.rows("SELECT name FROM people")}
    assert "Ann1 Smith" in names
    seats = dict(gateway.rows("SELECT product, seats_assigned FROM licenses"))
    assert seats == {"Slack": 12, "Zoom": 5}
    holders = gateway.rows(
        "SELECT p.email FROM license_assignments a JOIN licenses l ON l.id = a.license_id "
        "JOIN people p ON p.id = a.person_id WHERE l.product = 'Zoom' ORDER BY 1"
    )
    assert [h[0] for h in holders] == [f"ann{i}@example.com" for i in range(5)]
    # check() reads one page, then Link paging: 23 users in pages of 5
    assert len([c for c in server.calls_to("okta") if c.path == "/api/v1/users"]) == 1 + 5


def test_second_sync_asks_only_for_users_changed_since(
    server: VendorServer, okta: Okta, tmp_path: Path
) -> None:
    gateway = Gateway(tmp_path, source(server))
    assert gateway.sync().ok
    okta.users[2] = user(2, "ACTIVE", "2025-03-01T00:00:00.000Z")
    server.calls.clear()
    result = gateway.sync()
    assert result.ok
    assert "people" in result.incremental
    searches = [c.arg("search") for c in server.calls_to("okta") if c.path == "/api/v1/users"]
    assert searches[-1] == 'lastUpdated ge "2024-05-23T10:22:00.000Z"'  # check() asks the first
    people = dict(gateway.rows("SELECT email, employment_status FROM people"))
    assert len(people) == N
    assert people["ann2@example.com"] == "active"


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        pytest.param(401, "401 Unauthorized from http", id="401"),
        pytest.param(500, "500 Internal Server Error from http", id="500-forever"),
        pytest.param("garbage", "is not JSON (text/html", id="garbage"),
    ],
)
def test_a_failing_okta_keeps_the_last_good_people(
    server: VendorServer, tmp_path: Path, fault: int | str, words: str
) -> None:
    gateway = Gateway(tmp_path, source(server))
    error = gateway.sync_through_failure(server, "okta", fault)
    assert words in error
    assert "/okta/api/v1/users" in error
    assert TOKEN not in error
    if fault == 401:
        assert "check the credentials in sources[okta].auth" in error
    if fault == 500:
        assert "tried 3 times" in error
    assert len(gateway.rows("SELECT email FROM people")) == N  # the last good snapshot
