"""What an outside audit sent the gateway (issue 10), over real HTTP: oversized and deeply
nested requests, crashes, API-key guessing, odd tokens, long names. Every request gets a coded
answer, an access-log row and a metric; nothing stalls the event loop or pins memory."""

from __future__ import annotations

import gc
import re
import sqlite3
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_gateway import TEST_ROLES, Gateway, demo_sections, make_config, serving, token

from federation.access.auth import Authenticator, hash_api_key
from federation.pipeline.store import StoreReader
from federation.serving.app import create_app

METRICS_TOKEN = "metrics-token-for-the-hostile-tests"
METRICS = {"authorization": f"Bearer {METRICS_TOKEN}"}
QUERY = "{ assets(limit: 1) { asset_tag } }"
DEEP_VARIABLES_QUERY = "query($w: assets_bool_exp) { assets(where: $w) { asset_tag } }"


@contextmanager
def gateway_with(auth_store: Path, server: dict[str, Any] | None = None, **overrides: Any) -> Iterator[Any]:
    """A gateway of its own (the shared one must not see these limits), and its app."""
    settings = {"metrics": {"token": METRICS_TOKEN}, **(server or {})}
    config = make_config(auth_store, server=settings, **overrides)
    app = create_app(config, StoreReader(auth_store / "store"))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield Gateway(http, auth_store / "store"), app


#: a role whose filter compares a claim with a list operator: that claim may be a list
CATEGORY_TEAM = {
    "types": {
        "assets": {
            "columns": ["asset_tag", "category"],
            "filter": {"category": {"_in": "X-Actor-Categories"}},
        }
    }
}


@pytest.fixture(scope="module")
def hostile(auth_store: Path) -> Iterator[Gateway]:
    roles = {**demo_sections()["roles"], **TEST_ROLES, "category_team": CATEGORY_TEAM}
    with gateway_with(auth_store, roles=roles) as (gateway, _app):
        yield gateway


def access_row(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The access-log row of one request (written after the response: waited for)."""
    deadline = time.monotonic() + 10
    while True:
        con = sqlite3.connect(gateway.store / "access_log.sqlite")
        con.row_factory = sqlite3.Row
        try:
            row = con.execute("SELECT * FROM access_log WHERE request_id = ?", [request_id]).fetchone()
        finally:
            con.close()
        if row is not None:
            return dict(row)
        assert time.monotonic() < deadline, f"no access-log row for request {request_id}"
        time.sleep(0.05)


def counter(http: httpx.Client, name: str, labels: str) -> float:
    text = http.get("/metrics", headers=METRICS).text
    match = re.search(rf"^{re.escape(name)}{{{re.escape(labels)}}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def coded(response: httpx.Response, status: int, code: str) -> str:
    """The error's message, after checking the status, the JSON shape and the code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    return error["message"]


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"_and": [value]}
    return value


# ----------------------------------------------------------------------------- 1. request size

BIG = 300 * 1024  # past the default 256 KiB


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda h: h.post("/graphql", json={"query": "#" * BIG + "\n{ x }"}), id="json-body"),
        pytest.param(
            lambda h: h.post("/graphql", content=b"#" * BIG, headers={"content-type": "application/graphql"}),
            id="graphql-body",
        ),
        pytest.param(
            lambda h: h.post(
                "/graphql",
                content=iter([b'{"query": "', b"#" * BIG, b'"}']),  # chunked: no Content-Length
                headers={"content-type": "application/json"},
            ),
            id="chunked-body",
        ),
    ],
)
def test_a_body_past_the_limit_is_refused_before_it_is_read(hostile: Gateway, send: Any) -> None:
    response = send(hostile.http)
    assert "larger than 262144 bytes" in coded(response, 413, "BAD_USER_INPUT")
    assert access_row(hostile, response.headers["x-request-id"])["outcome"] == "BAD_USER_INPUT"


def test_the_body_limit_is_configurable_and_covers_query_strings(auth_store: Path) -> None:
    with gateway_with(auth_store, {"max_body_bytes": 4096}) as (gateway, _app):
        ok = gateway.post(QUERY + " " * 3000, headers={"authorization": f"Bearer {token('admin')}"})
        assert ok.status_code == 200, ok.text
        coded(gateway.post(QUERY + " " * 5000), 413, "BAD_USER_INPUT")
        response = gateway.http.get("/graphql", params={"query": QUERY, "pad": "p" * 5000})
        assert "send a POST" in coded(response, 414, "BAD_USER_INPUT")


def test_comments_count_toward_the_token_limit(hostile: Gateway) -> None:
    response = hostile.post("{ assets { asset_tag } }" + "\n#" * 6000)
    assert "more than 5000 tokens" in coded(response, 200, "QUERY_TOO_COMPLEX")


@pytest.mark.parametrize(
    ("document", "role", "code"),
    [
        pytest.param("{{ assets {{ asset_tag }} }} #{i}{pad}\n}}", None, "BAD_USER_INPUT", id="syntax-error"),
        # parses, but names what the role cannot read: the FORBIDDEN check looks at it
        pytest.param("{{ assets {{ cost }} }} #{i}{pad}\n", "service_desk", "FORBIDDEN", id="forbidden"),
    ],
)
def test_documents_that_fail_are_not_kept(
    hostile: Gateway, document: str, role: str | None, code: str
) -> None:
    """Thirty 200 KB documents that fail (each new): none stays in memory after its request
    (no cache keyed by the text, no cache of documents that did not validate)."""
    headers = {"authorization": f"Bearer {token(role)}"} if role else {}
    hostile.post("{ warm }", headers=headers)  # first-request allocations out of the way
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(30):
            response = hostile.post(document.format(i=i, pad="x" * 200_000), headers=headers)
            coded(response, 200, code)
        # access-log rows are written after the responses, in order: the last one's means all
        access_row(hostile, response.headers["x-request-id"])
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 2_000_000, f"{grown} bytes kept after 30 x 200 KB bad documents"


# ----------------------------------------------------------------------------- 3. crashes


@pytest.mark.parametrize(
    "variables",  # JSON text: Python's and orjson's encoders stop short of these depths
    [
        pytest.param('{"_and": [' * 480 + '{"asset_tag": {"_eq": "x"}}' + "]}" * 480, id="480-nested-ands"),
        pytest.param('{"a": ' * 256 + "1" + "}" * 256, id="256-deep-objects"),
        pytest.param("[" * 40 + "1" + "]" * 40, id="lists"),
    ],
)
@pytest.mark.parametrize("role", [pytest.param(None, id="anonymous"), pytest.param("admin", id="admin")])
def test_variables_nested_too_deep_are_refused_and_recorded(
    hostile: Gateway, variables: str, role: str | None
) -> None:
    headers = {"content-type": "application/json"}
    if role:
        headers["authorization"] = f"Bearer {token(role)}"
    body = f'{{"query": "{DEEP_VARIABLES_QUERY}", "variables": {{"w": {variables}}}}}'
    response = hostile.http.post("/graphql", content=body, headers=headers)
    assert "more than 32 levels deep" in coded(response, 400, "BAD_USER_INPUT")
    row = access_row(hostile, response.headers["x-request-id"])
    assert row["outcome"] == "BAD_USER_INPUT"


def test_an_input_literal_nested_too_deep_is_too_complex(hostile: Gateway) -> None:
    where = '{asset_tag: {_eq: "x"}}'
    for _ in range(20):  # 41 levels of objects and lists: past 32, within the parser's 200
        where = "{_and: [" + where + "]}"
    response = hostile.post(
        f"{{ assets(where: {where}) {{ asset_tag }} }}", headers={"authorization": f"Bearer {token('admin')}"}
    )
    assert "nested more than 32 levels" in coded(response, 200, "QUERY_TOO_COMPLEX")


def test_a_shallow_where_still_works(hostile: Gateway) -> None:
    where = nested(5, {"asset_tag": {"_eq": "AT-001"}})
    body = hostile.as_role("admin", DEEP_VARIABLES_QUERY, variables={"w": where})
    assert body == {"data": {"assets": [{"asset_tag": "AT-001"}]}}


class BrokenAuthenticator(Authenticator):
    """An authenticator with a bug: stands for any exception nobody foresaw."""

    def authenticate(self, headers: Any, client: str | None = None) -> dict[str, Any]:
        raise RuntimeError("a bug nobody foresaw")


def test_an_unforeseen_exception_is_a_coded_500_with_a_row_and_a_metric(
    auth_store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with gateway_with(auth_store) as (gateway, app):
        security = app.state.graphql.security
        security.authenticator = BrokenAuthenticator(None, security.policy)
        before = counter(gateway.http, "assetgraph_graphql_errors_total", 'code="INTERNAL"')
        response = gateway.post(QUERY)
        request_id = response.headers["x-request-id"]
        assert coded(response, 500, "INTERNAL") == "internal error"
        assert response.json()["errors"][0]["extensions"]["request_id"] == request_id
        assert "a bug" not in response.text
        assert access_row(gateway, request_id)["outcome"] == "INTERNAL"
        after = counter(gateway.http, "assetgraph_graphql_errors_total", 'code="INTERNAL"')
        assert after == before + 1
    logged = [r for r in caplog.records if r.name == "assetgraph.graphql" and request_id in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None


# ----------------------------------------------------------------------------- 7. long names


def test_a_long_operation_name_is_refused(hostile: Gateway) -> None:
    response = hostile.post(QUERY, operationName="N" * 10_000)
    assert "longer than 256 characters" in coded(response, 400, "BAD_USER_INPUT")


def test_logged_strings_are_capped(hostile: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="assetgraph.access")
    name = "Long" + uuid.uuid4().hex + "N" * 50_000
    response = hostile.post(f"query {name} {{ assets {{ asset_tag }} }}")
    row = access_row(hostile, response.headers["x-request-id"])
    assert row["operation_name"].startswith(name[:200])
    assert len(row["operation_name"]) <= 256
    lines = [r.getMessage() for r in caplog.records if r.name == "assetgraph.access"]
    line = next(line for line in lines if response.headers["x-request-id"] in line)
    assert len(line) < 2000


# ----------------------------------------------------------------------------- 4. API keys

KEY_ID = "0123456789ab"
KEY = f"ak_{KEY_ID}_" + "s" * 40


def slow_hash(key: str) -> str:
    """A stored hash costing ~8 times the default scrypt (p=8: more time, same memory)."""
    plain = hash_api_key(key)
    _, n, r, _p, salt, _digest = plain.split("$")
    import base64
    import hashlib

    raw_salt = base64.urlsafe_b64decode(salt + "=" * (-len(salt) % 4))
    digest = hashlib.scrypt(key.encode(), salt=raw_salt, n=int(n), r=int(r), p=8, dklen=32)
    return f"scrypt${n}${r}$8${salt}${base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def api_key_entry(key: str = KEY, key_hash: str | None = None) -> dict[str, Any]:
    return {
        "name": "dash",
        "id": key.split("_")[1],
        "hash": key_hash or hash_api_key(key),
        "role": "it_leader",
    }


def test_a_wrong_api_key_does_not_block_the_event_loop(auth_store: Path) -> None:
    """While a wrong secret is being checked (a slow scrypt), /healthz answers first."""
    with gateway_with(auth_store, auth={"api_keys": [api_key_entry(key_hash=slow_hash(KEY))]}) as (gw, _):
        finished: list[str] = []

        def guess() -> None:
            gw.post(QUERY, headers={"x-api-key": KEY[:-1] + "t"})
            finished.append("guess")

        thread = threading.Thread(target=guess)
        thread.start()
        time.sleep(0.05)  # the guess is being checked now
        with httpx.Client(base_url=str(gw.http.base_url), timeout=30) as probe:
            assert probe.get("/healthz").status_code == 200
        finished.append("healthz")
        thread.join()
        assert finished == ["healthz", "guess"]


def test_unknown_key_ids_cost_a_scrypt_like_known_ones(auth_store: Path) -> None:
    with gateway_with(auth_store, auth={"api_keys": [api_key_entry()]}) as (gateway, app):
        authenticator = app.state.graphql.security.authenticator
        for key in (KEY[:-1] + "t", "ak_ffffffffffff_" + "s" * 40):
            before = authenticator.verifications
            response = gateway.post(QUERY, headers={"x-api-key": key})
            assert coded(response, 401, "UNAUTHENTICATED") == "invalid API key"
            assert authenticator.verifications == before + 1, key


def test_failed_api_keys_are_limited_per_client(auth_store: Path) -> None:
    limits = {"failed_attempts": {"per_client": 3, "per_key": 100, "window": "15m"}}
    with gateway_with(auth_store, auth={"api_keys": [api_key_entry()], **limits}) as (gateway, app):
        for _ in range(3):
            coded(
                gateway.post(QUERY, headers={"x-api-key": "ak_ffffffffffff_" + "x" * 40}),
                401,
                "UNAUTHENTICATED",
            )
        verified = app.state.graphql.security.authenticator.verifications
        refused = gateway.post(QUERY, headers={"x-api-key": KEY})  # even the right key, not yet verified
        assert "too many failed API key attempts from this client" in coded(refused, 429, "RATE_LIMITED")
        assert int(refused.headers["retry-after"]) > 0
        assert app.state.graphql.security.authenticator.verifications == verified  # no scrypt run
        assert access_row(gateway, refused.headers["x-request-id"])["outcome"] == "RATE_LIMITED"
        # JWTs are not API keys: the client still gets in with one
        assert gateway.as_role("admin", QUERY)["data"]["assets"]


def test_failed_api_keys_are_limited_per_key_id_across_clients(auth_store: Path) -> None:
    limits = {"failed_attempts": {"per_client": 100, "per_key": 3, "window": "15m"}}
    with gateway_with(auth_store, auth={"api_keys": [api_key_entry()], **limits}) as (gateway, _app):
        url = str(gateway.http.base_url)

        def from_address(address: str, key: str) -> httpx.Response:
            transport = httpx.HTTPTransport(local_address=address)
            with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
                return client.post("/graphql", json={"query": QUERY}, headers={"x-api-key": key})

        wrong = KEY[:-1] + "t"
        for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            coded(from_address(address, wrong), 401, "UNAUTHENTICATED")
        response = from_address("127.0.0.5", wrong)
        assert "from this key id" in coded(response, 429, "RATE_LIMITED")
        other = from_address("127.0.0.5", "ak_ffffffffffff_" + "s" * 40)  # another id: not limited
        coded(other, 401, "UNAUTHENTICATED")


# ----------------------------------------------------------------------------- 5. tokens


def test_tokens_living_past_the_maximum_are_refused(hostile: Gateway) -> None:
    now = datetime.now(UTC)
    for claims in (
        {"exp": 10**20},
        {"exp": now + timedelta(days=2)},
        {"iat": now - timedelta(hours=1), "exp": now + timedelta(hours=24)},
    ):
        bearer = token("admin", **claims)
        response = hostile.post(QUERY, headers={"authorization": f"Bearer {bearer}"})
        assert "token lives too long" in coded(response, 401, "UNAUTHENTICATED"), claims


def test_the_maximum_lifetime_is_configurable(auth_store: Path) -> None:
    with gateway_with(auth_store, auth={"max_token_lifetime": "3d"}) as (gateway, _app):
        bearer = token("admin", expires_in=timedelta(days=2))
        assert gateway.post(QUERY, headers={"authorization": f"Bearer {bearer}"}).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": str(int(time.time()) + 600)}, id="exp-a-string"),
        pytest.param({"nbf": "0"}, id="nbf-a-string"),
        pytest.param({"iat": True}, id="iat-a-boolean"),
    ],
)
def test_time_claims_must_be_numbers(hostile: Gateway, claims: dict[str, Any]) -> None:
    response = hostile.post(QUERY, headers={"authorization": f"Bearer {token('admin', **claims)}"})
    assert "must be a number" in coded(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("role", "claims", "claim"),
    [
        pytest.param("employee", {"email": ["alice@example.com"]}, "email", id="email-a-list"),
        pytest.param("employee", {"email": {"_neq": "x"}}, "email", id="email-an-object"),
        pytest.param("employee", {"email": True}, "email", id="email-a-boolean"),
        pytest.param("team_lead", {"department": ["Finance", "IT"]}, "department", id="department-a-list"),
        pytest.param("category_team", {"categories": [{"a": 1}]}, "categories", id="categories-of-objects"),
        pytest.param("category_team", {"categories": {"a": 1}}, "categories", id="categories-an-object"),
    ],
)
def test_claims_the_policy_reads_are_type_checked(
    hostile: Gateway, role: str, claims: dict[str, Any], claim: str
) -> None:
    response = hostile.post(
        "{ assets { asset_tag } }", headers={"authorization": f"Bearer {token(role, sub='x', **claims)}"}
    )
    assert f"token claim {claim!r} must be" in coded(response, 401, "UNAUTHENTICATED")


def test_a_list_claim_compared_with_in_is_accepted(hostile: Gateway) -> None:
    bearer = token("category_team", sub="x", categories=["network", "server"])
    response = hostile.post("{ assets { category } }", headers={"authorization": f"Bearer {bearer}"})
    assert response.status_code == 200, response.text
    categories = {a["category"] for a in response.json()["data"]["assets"]}
    assert categories
    assert categories <= {"network", "server"}
