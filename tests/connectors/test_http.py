"""The shared HTTP machinery through `kind: rest`: retries, rate limits, timeouts, malformed
answers, token refresh, guards and config errors, against real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from contract import read_all
from http_sync import FAST_RETRY, Gateway, connector
from pydantic import ValidationError
from support.ports import closed_port
from vendor_server import MicrosoftGraph, Okta, VendorServer

from connectors.base import SourceError
from connectors.http.records import _after, at_path, cursor_key, cursor_text, flatten, latest, newer_than
from federation.config.settings import ConfigError, parse_config
from federation.demo.vendor_server import Call, Reply, Vendor

TOKEN = "rest-token-77"
SECRET = "client-secret-42"


def okta_user(i: int) -> dict[str, Any]:
    return {
        "id": f"u{i:03d}",
        "status": "ACTIVE",
        "lastUpdated": f"2024-01-01T00:00:{i:02d}.000Z",
        "profile": {"email": f"p{i}@example.com", "login": f"p{i}"},
    }


@pytest.fixture
def graph() -> MicrosoftGraph:
    users = [
        {
            "id": f"id{i}",
            "mail": f"m{i}@example.com",
            "userPrincipalName": f"m{i}@x.onmicrosoft.com",
            "displayName": f"M {i}",
            "accountEnabled": True,
        }
        for i in range(12)
    ]
    return MicrosoftGraph("t1", "app", SECRET, [], users, {}, page_size=5)


@pytest.fixture
def server(graph: MicrosoftGraph) -> Iterator[VendorServer]:
    srv = VendorServer([Okta(TOKEN, [okta_user(i) for i in range(7)]), graph]).start()
    yield srv
    srv.stop()


def okta_rest(server: VendorServer, **extra: Any) -> dict[str, Any]:
    return {
        "name": "idp",
        "kind": "rest",
        "base_url": server.base("okta"),
        "timeout": "1s",
        "auth": {"type": "api_key", "prefix": "SSWS", "key": TOKEN},
        "paginator": {"type": "link_header", "size_param": "limit", "size": 3},
        "retry": FAST_RETRY,
        "entities": {
            "people": {
                "path": "/api/v1/users",
                "id": "id",
                "cursor": "lastUpdated",
                "incremental": {"params": {"search": 'lastUpdated ge "{cursor}"'}},
                "fields": {"email": "profile.email", "username": "profile.login"},
            }
        },
        **extra,
    }


def graph_rest(server: VendorServer, secret: str = SECRET) -> dict[str, Any]:
    return {
        "name": "entra",
        "kind": "rest",
        "base_url": server.base("msgraph") + "/v1.0",
        "timeout": "2s",
        "auth": {
            "type": "oauth2_client_credentials",
            "client_id": "app",
            "client_secret": secret,
            "token_url": server.base("msgraph") + "/t1/oauth2/v2.0/token",
        },
        "paginator": "odata",
        "retry": FAST_RETRY,
        "entities": {
            "people": {
                "path": "/users",
                "records": "value",
                "id": "id",
                "fields": {"email": "mail", "name": "displayName"},
            }
        },
    }


def ids(source: dict[str, Any], entity: str = "people", cursor: str | None = None) -> list[str]:
    conn = connector(source)
    try:
        return [i for b in read_all(conn, entity, cursor) for i in b.frame["id"]]
    finally:
        conn.close()


def errors_of(source: dict[str, Any], entity: str = "people") -> str:
    conn = connector(source)
    try:
        with pytest.raises(SourceError) as info:
            read_all(conn, entity)
    finally:
        conn.close()
    return str(info.value)


# --------------------------------------------------------------------------- transient faults
def test_429_waits_for_retry_after_then_reads_everything(server: VendorServer) -> None:
    server.fail("okta", 429, times=1)
    started = time.monotonic()
    assert len(ids(okta_rest(server))) == 7
    assert time.monotonic() - started >= 0.9  # Retry-After: 1


def test_a_5xx_that_recovers_is_retried(server: VendorServer) -> None:
    server.fail("okta", 502, times=2)
    assert len(ids(okta_rest(server))) == 7


def test_a_slow_answer_past_the_timeout_is_retried_then_reported(server: VendorServer) -> None:
    server.fail("okta", "slow", delay=1.5, times=1)
    assert len(ids(okta_rest(server))) == 7
    server.fail("okta", "slow", delay=1.5, times=float("inf"))
    message = errors_of(okta_rest(server, retry={**FAST_RETRY, "max_tries": 2}))
    assert "ReadTimeout from http" in message
    assert "no answer within 1s" in message
    assert "(tried 2 times)" in message


def test_a_retry_after_longer_than_max_wait_fails_at_once(server: VendorServer) -> None:
    server.fail("okta", 429, times=5)
    message = errors_of(okta_rest(server, retry={**FAST_RETRY, "max_wait": 0.5}))
    assert "429 Too Many Requests" in message
    assert "longer than retry.max_wait" in message


def test_server_down_says_cannot_connect(server: VendorServer) -> None:
    down = f"http://127.0.0.1:{closed_port()}/okta"
    source = okta_rest(server, base_url=down)
    message = errors_of(source)
    assert f"ConnectionError from {down}/api/v1/users" in message
    assert "cannot connect" in message


# ----------------------------------------------------------------------------- bad answers
def test_a_malformed_page_names_the_url_and_what_was_expected(server: VendorServer) -> None:
    server.fail("okta", "garbage", path="/api/v1/users", times=1)
    message = errors_of(okta_rest(server))
    assert "the answer from http" in message
    assert "/okta/api/v1/users is not JSON" in message
    assert "Service maintenance" in message


def test_a_missing_record_path_lists_the_keys_found(server: VendorServer) -> None:
    source = graph_rest(server)
    source["entities"]["people"]["records"] = "items"
    message = errors_of(source)
    assert "has no `items` holding the records of people" in message
    assert "@odata.context, value" in message


@pytest.mark.parametrize(
    ("status", "words"),
    [
        pytest.param(403, "403 Forbidden", id="403"),
        pytest.param(404, "not found: check base_url in sources[idp]", id="404"),
        pytest.param(400, "the server refused the request", id="400"),
    ],
)
def test_client_errors_fail_at_once_with_advice(server: VendorServer, status: int, words: str) -> None:
    server.fail("okta", status, times=1)
    message = errors_of(okta_rest(server))
    assert words in message
    assert "tried" not in message


# ------------------------------------------------------------------------------------- auth
def test_oauth2_token_is_cached_and_renewed_once_after_a_401(
    server: VendorServer, graph: MicrosoftGraph
) -> None:
    conn = connector(graph_rest(server))
    try:
        assert len([i for b in read_all(conn, "people") for i in b.frame["id"]]) == 12
        assert graph.tokens_issued == 1  # three pages, one token
        graph.revoke_tokens()
        assert len([i for b in read_all(conn, "people") for i in b.frame["id"]]) == 12
        assert graph.tokens_issued == 2
    finally:
        conn.close()


def test_wrong_client_secret_names_the_token_endpoint_not_the_secret(server: VendorServer) -> None:
    message = errors_of(graph_rest(server, secret="not-the-secret-99"))
    assert "401 Unauthorized from the token endpoint" in message
    assert "check the credentials in sources[entra].auth" in message
    assert "not-the-secret-99" not in message


# ---------------------------------------------------------------------------------- guards
def test_max_pages_stops_a_runaway_source(server: VendorServer) -> None:
    message = errors_of(okta_rest(server, max_pages=2))
    assert "more than max_pages (2) pages" in message


def test_max_records_stops_a_runaway_source(server: VendorServer) -> None:
    assert "more than max_records (4)" in errors_of(okta_rest(server, max_records=4))


def test_a_next_link_to_another_server_is_not_followed(server: VendorServer) -> None:
    source = okta_rest(server, base_url=server.base("okta").replace("127.0.0.1", "localhost"))
    message = errors_of(source)
    assert "the next page is on another server" in message


class Redirector(Vendor):
    """Answers every request with a 302 to `target` (plus the request's path and query)."""

    name = "hop"

    def __init__(self, target: Callable[[], str]) -> None:
        self.target = target

    def answer(self, call: Call) -> Reply:
        query = urlencode({k: v[0] for k, v in call.query.items()})
        return Reply(302, {}, {"Location": f"{self.target()}{call.path}?{query}"})


class Catcher(Vendor):
    name = "catch"

    def answer(self, call: Call) -> Reply:
        return Reply(200, [])


def test_a_redirect_to_another_origin_is_refused_before_any_header_goes_there(server: VendorServer) -> None:
    other = VendorServer([Catcher()]).start()
    try:
        server.vendors["hop"] = Redirector(lambda: other.base("catch").replace("127.0.0.1", "localhost"))
        source = okta_rest(server, base_url=server.base("hop"), headers={"X-Tenant-Secret": "hdr-secret"})
        source["auth"] = {"type": "api_key", "header": "X-API-Key", "key": "TOPSECRET"}
        message = errors_of(source)
        assert "redirects to another server" in message
        assert "TOPSECRET" not in message
        assert other.calls_to("catch") == []  # nothing, not even the custom header, went there
    finally:
        other.stop()


def test_a_redirect_within_the_origin_is_followed_with_the_credentials(server: VendorServer) -> None:
    server.vendors["hop"] = Redirector(lambda: server.base("okta"))
    source = okta_rest(server, base_url=server.base("hop"))
    assert sorted(ids(source)) == [f"u{i:03d}" for i in range(7)]


class Linked(Vendor):
    """Two pages behind basic auth; the `next` link carries no user info."""

    name = "linked"

    def answer(self, call: Call) -> Reply:
        expected = "Basic " + base64.b64encode(b"reader:S3cretPass").decode()
        if call.header("Authorization") != expected:
            return Reply(401, {"error": "unauthorized"})
        if call.arg("p"):
            return Reply(200, {"results": [{"id": 2}], "next": None})
        return Reply(200, {"results": [{"id": 1}], "next": f"{call.base}{call.path}?p=2"})


def test_user_info_in_base_url_is_never_shown_and_next_links_without_it_are_followed(
    server: VendorServer,
) -> None:
    server.vendors["linked"] = Linked()
    base = server.base("linked").replace("http://", "http://reader:S3cretPass@")
    source = {
        "name": "linked",
        "kind": "rest",
        "base_url": base,
        "paginator": "json_link",
        "retry": FAST_RETRY,
        "entities": {"people": {"path": "/users", "records": "results", "id": "id", "fields": {}}},
    }
    assert ids(source) == [1, 2]
    source["entities"]["people"]["path"] = "http://localhost:1/users"
    message = errors_of(source)
    assert "another server" in message
    assert "S3cretPass" not in message
    assert "reader" not in message


def test_origins_normalise_default_ports_and_drop_user_info() -> None:
    from connectors.http.client import _origin

    assert _origin("https://u:p@Example.com/api") == "https://example.com:443"
    assert _origin("https://example.com:443/x") == _origin("https://example.com/y")
    assert _origin("http://example.com:80") == _origin("http://EXAMPLE.com")
    assert _origin("http://example.com:8080") != _origin("http://example.com")
    assert _origin("http://example.com") != _origin("https://example.com")


def test_the_incremental_cursor_is_at_or_after(server: VendorServer) -> None:
    assert ids(okta_rest(server), cursor="2024-01-01T00:00:04.000Z") == ["u004", "u005", "u006"]


def test_a_record_written_in_the_cursors_second_after_the_read_is_not_lost(server: VendorServer) -> None:
    okta = server.vendors["okta"]
    assert isinstance(okta, Okta)
    conn = connector(okta_rest(server))
    try:
        cursor = read_all(conn, "people")[-1].cursor
        assert cursor == "2024-01-01T00:00:06.000Z"
        same_second = okta_user(6) | {"id": "u007", "profile": {"email": "p7@example.com", "login": "p7"}}
        okta.users.append(same_second)
        again = [i for b in read_all(conn, "people", cursor) for i in b.frame["id"]]
        assert "u007" in again
        assert set(again) <= {"u006", "u007"}
    finally:
        conn.close()


def test_rate_limit_spaces_requests(server: VendorServer) -> None:
    started = time.monotonic()
    ids(okta_rest(server, rate_limit=10))  # 3 pages at 10/s
    assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------------------------- config
def _config_problems(source: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config({"sources": [source]})
    return info.value.problems


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param(
            {"paginator": "pages"},
            "sources[0].paginator: unknown paginator 'pages'; expected one of "
            "offset, page_number, cursor, link_header, odata, json_link, single",
            id="paginator",
        ),
        pytest.param(
            {"auth": {"type": "digest"}},
            "sources[0].auth: unknown auth type 'digest'; expected one of "
            "bearer, basic, api_key, oauth2_client_credentials, token_exchange",
            id="auth",
        ),
        pytest.param(
            {"base_url": "ftp://x"}, "sources[0].base_url: String should match pattern", id="base_url"
        ),
    ],
)
def test_config_errors_name_the_key_and_the_choices(change: dict[str, Any], words: str) -> None:
    source = {"name": "x", "kind": "rest", "base_url": "http://127.0.0.1:1", "entities": {}} | change
    assert any(words in p for p in _config_problems(source)), _config_problems(source)


@pytest.mark.parametrize("level", ["stream", "source"])
def test_a_param_the_incremental_template_would_replace_is_a_config_error(
    server: VendorServer, level: str
) -> None:
    source = okta_rest(server)
    if level == "stream":
        source["entities"]["people"]["params"] = {"search": 'status eq "ACTIVE"'}
        mine = "entities.people.params.search"
    else:
        source["params"] = {"search": 'status eq "ACTIVE"'}
        mine = "params.search"
    problems = _config_problems(source)
    assert any(mine in p and "entities.people.incremental.params.search" in p for p in problems), problems


def test_a_secret_never_appears_in_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REST_TOKEN", "super-secret-value")
    source = {
        "name": "x",
        "kind": "rest",
        "base_url": "http://h",
        "entities": {},
        "auth": {"type": "bearer", "token": "${REST_TOKEN}", "extra": 1},
    }
    problems = _config_problems(source)
    assert problems
    assert not any("super-secret-value" in p for p in problems)


def test_a_preset_entity_can_be_dropped_or_overridden() -> None:
    from connectors.okta import OktaConfig

    config = OktaConfig.model_validate(
        {
            "name": "o",
            "kind": "okta",
            "base_url": "http://h",
            "auth": {"token": "t"},
            "entities": {
                "licenses": None,
                "license_assignments": None,
                "people": {"fields": {"department": None, "name": "profile.nickName"}},
            },
        }
    )
    assert list(config.entities) == ["people"]
    fields = config.entities["people"].fields
    assert "department" not in fields
    assert fields["name"].column == "profile.nickName"
    assert fields["email"].column == "profile.email"
    with pytest.raises(ValidationError):
        OktaConfig.model_validate({"name": "o", "kind": "okta", "base_url": "http://h"} | {"paginator": "x"})


# ---------------------------------------------------------------------------------- records
@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        pytest.param({"rows": [1]}, "rows", [1], id="key"),
        pytest.param({"data": {"items": [2]}}, "data.items", [2], id="nested"),
        pytest.param({"@odata.nextLink": "u"}, "@odata.nextLink", "u", id="dotted-key"),
        pytest.param([3], "", [3], id="body"),
    ],
)
def test_record_paths(body: Any, path: str, expected: Any) -> None:
    assert at_path(body, path) == expected


def test_flatten_keeps_date_objects_whole_and_dotted() -> None:
    flat = flatten({"a": {"b": 1}, "purchase_date": {"date": "2024-01-02", "formatted": "Tue"}, "l": [1]})
    assert flat == {
        "a.b": 1,
        "purchase_date": {"date": "2024-01-02", "formatted": "Tue"},
        "purchase_date.date": "2024-01-02",
        "purchase_date.formatted": "Tue",
        "l": [1],
    }


def test_json_integers_with_gaps_keep_every_digit() -> None:
    from connectors.http.records import to_frame
    from transforms.cells import text_view

    frame = to_frame([{"id": 1234567890123456789, "n": 1.5}, {"n": None}, {"id": 100000000000000001, "n": 2}])
    assert text_view(frame["id"]).tolist()[::2] == ["1234567890123456789", "100000000000000001"]
    assert frame["id"].isna().tolist() == [False, True, False]
    assert frame["n"].tolist()[::2] == [1.5, 2.0]


def test_cursors_compare_as_numbers_and_times() -> None:
    import pandas as pd

    assert cursor_key("10") > cursor_key("9")  # type: ignore[operator]
    assert cursor_key("2024-01-01T00:00:00Z") == cursor_key("2024-01-01T00:00:00+00:00")
    values = pd.Series(["2024-01-01 10:00:00", None, "2024-01-02 00:00:00"])
    assert newer_than(values, "2024-01-01 10:00:00").tolist() == [True, False, True]  # at or after
    assert newer_than(values, "2024-01-01T10:00:00Z").tolist() == [True, False, True]
    assert newer_than(values, "2024-01-01 10:00:01").tolist() == [False, False, True]
    assert latest(values, "2023-12-31 00:00:00") == "2024-01-02 00:00:00"


def test_frame_of_named_columns_matches_the_flattened_one() -> None:
    import pandas as pd

    from connectors.http.records import to_frame

    records = [
        {
            "id": 1,
            "model": {"name": "X1", "id": 7},
            "purchase_date": {"date": "2024-01-02", "formatted": "Tue"},
            "parent": {"profile.email": "a@x", "name": "P"},
            "@odata.type": "t",
            "tags": ["a"],
            "assigned_to": None,
        },
        {"id": 2, "model": {"name": "X2"}, "purchase_date": None, "assigned_to": {"email": "b@x"}},
        {"id": None, "model": {}, "n": 2**60, "purchase_date": {"date": None, "formatted": None}},
    ]
    columns = [
        "id",
        "model.name",
        "purchase_date",
        "purchase_date.date",
        "parent.profile.email",
        "parent.name",
        "@odata.type",
        "tags",
        "assigned_to.email",
        "n",
        "nowhere.at_all",
        "model",
    ]
    only = to_frame(records, columns, only=True)
    full = to_frame(records, columns)
    assert list(only.columns) == [c for c in columns if c not in ("nowhere.at_all", "model")] + [
        "nowhere.at_all",
        "model",
    ]
    pd.testing.assert_frame_equal(only, full[list(only.columns)])
    assert only["purchase_date"][0] == {"date": "2024-01-02", "formatted": "Tue"}
    assert only["n"].tolist()[2] == 2**60  # integers with gaps stay exact
    assert only["nowhere.at_all"].tolist() == [None, None, None]


def test_vectorised_cursors_agree_with_value_by_value_keys() -> None:
    import pandas as pd

    def by_value(values: pd.Series, current: str | None) -> tuple[list[bool], str | None]:
        floor = cursor_key(current) if current is not None else None
        keys = [cursor_key(v) for v in values]
        best_key, best = floor, current
        for value, key in zip(values, keys, strict=True):
            if key is not None and (best_key is None or _after(key, best_key)):
                best_key, best = key, cursor_text(value)
        kept = [k is not None and (floor is None or not _after(floor, k)) for k in keys]
        return kept, best

    columns = [
        pd.Series(["2024-01-01T10:00:00Z", None, " 2024-01-01 12:00:00+02:00 ", "", "2024-01-02"]),
        pd.Series(["2024-01-01 10:00:00", "2024-13-45"]),  # an invalid time: text
        pd.Series(["2024-01-01 10:00:00", "10", {"datetime": "2024-01-03 00:00:00"}], dtype=object),
        pd.Series([3, 10, None, 10.0], dtype=object),
        pd.Series([3.0, float("nan"), 12.0]),
        pd.Series([5, 9, 1]),
        pd.Series([True, False]),
        pd.Series([], dtype=object),
    ]
    cursors = [None, "2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "2024-01-02", "9", "10", "x", " "]
    for values in columns:
        for cursor in cursors:
            kept, best = by_value(values, cursor)
            assert latest(values, cursor) == best, (values.tolist(), cursor)
            if cursor is not None:
                assert newer_than(values, cursor).tolist() == kept, (values.tolist(), cursor)


def test_sync_of_a_rest_source_resumes_from_its_cursor(server: VendorServer, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, okta_rest(server))
    assert gateway.sync().ok
    server.calls.clear()
    result = gateway.sync()
    assert result.ok
    assert result.incremental == ["people"]
    searches = [c.arg("search") for c in server.calls_to("okta")]
    assert searches[-1] == 'lastUpdated ge "2024-01-01T00:00:06.000Z"'
    assert len(gateway.rows("SELECT id FROM people")) == 7


def test_a_token_endpoint_that_redirects_is_not_followed(server: VendorServer) -> None:
    other = VendorServer([Catcher()]).start()
    try:
        server.vendors["hop"] = Redirector(lambda: other.base("catch"))
        source = graph_rest(server)
        source["headers"] = {"X-Tenant-Secret": "hdr-secret"}
        source["auth"]["token_url"] = server.base("hop") + "/token"
        message = errors_of(source)
        assert "redirects to" in message
        assert SECRET not in message
        assert other.calls_to("catch") == []
    finally:
        other.stop()
