"""The serving layer over real HTTP: uvicorn on 127.0.0.1, a real published store, httpx.

The schema here is a tiny hand-made one (the real one comes from `schema.build`): it reads the
snapshot through `info.context`, and raises the kinds of errors resolvers raise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import strawberry
from graphql import GraphQLError, parse
from support.serving import serving

from federation.config.settings import Config, ServerConfig, Settings
from federation.pipeline.store import Publisher, StoreReader
from federation.serving.app import create_app
from federation.serving.http import shape_errors

try:
    from federation.access.errors import ForbiddenError
except ImportError:  # the schema helper has not landed yet

    class ForbiddenError(GraphQLError):  # type: ignore[no-redef]
        def __init__(self, message: str) -> None:
            super().__init__(message, extensions={"code": "FORBIDDEN"})


class CodedError(Exception):
    """A plain exception carrying `extensions`, as resolvers may raise."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.extensions = {"code": code}


SECRET = "password=hunter2"


def ADMIN(request: Any) -> dict[str, Any]:
    """Who every caller of the bare serving layer is in these tests (said, not defaulted)."""
    return {"role": "admin", "via": "test"}


@strawberry.type
class Asset:
    id: str
    hostname: str | None


@strawberry.type
class Node:
    name: str

    @strawberry.field
    def child(self) -> Node:
        return Node(name=self.name + "+")


@strawberry.type
class Query:
    @strawberry.field
    def assets(self, info: strawberry.Info) -> list[Asset]:
        info.context.touched.add("assets")
        rows = info.context.snapshot.query("SELECT id, hostname FROM assets ORDER BY id")
        return [Asset(id=r[0], hostname=r[1]) for r in rows]

    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hello {name}"

    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError(f"cannot connect with {SECRET}")

    @strawberry.field
    def forbidden(self) -> str:
        raise ForbiddenError("you may not read `forbidden`")

    @strawberry.field
    def unauthenticated(self) -> str:
        raise CodedError("the token has expired", "UNAUTHENTICATED")

    @strawberry.field
    def node(self) -> Node:
        return Node(name="root")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> int:
        return 1


def small_schema() -> strawberry.Schema:
    return strawberry.Schema(Query, mutation=Mutation)


# ----------------------------------------------------------------------------- fixtures

STALE_SINCE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seed(root: Path, hostnames: tuple[str, ...] = ("alpha", "beta", "gamma")) -> str:
    now = datetime.now(UTC)
    assets = pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(len(hostnames))],
            "hostname": list(hostnames),
            "category": "laptop",
            "status": "in_use",
        }
    )
    status = pd.DataFrame(
        {
            "name": ["cmdb", "laptops_db"],
            "kind": ["sql", "sql"],
            "status": ["ok", "failed"],
            "last_sync_at": [now, now],
            "last_success_at": [now, STALE_SINCE],
            "record_count": [2, 1],
            "stale": [False, True],
            "error": [None, "connection refused"],
        }
    )
    record_sources = pd.DataFrame(
        {
            "entity": ["assets", "assets", "assets"],
            "entity_id": ["a0", "a1", "a1"],
            "source": ["cmdb", "cmdb", "laptops_db"],
            "record_id": ["c0", "c1", "l1"],
            "fetched_at": [now, now, STALE_SINCE],
        }
    )
    return Publisher(root).publish(
        {"assets": assets, "source_status": status, "record_sources": record_sources}
    )


METRICS_TOKEN = "metrics-token-for-the-app-tests"


def make_config(tmp_path: Path, **server: Any) -> Config:
    limits = {
        "max_depth": 4,
        "max_aliases": 3,
        "max_tokens": 200,
        "metrics": {"token": METRICS_TOKEN},
        **server,
    }
    return Config(settings=Settings(server=ServerConfig(**limits)), sources=[], base_dir=tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    seed(root)
    return root


@pytest.fixture
def client(store: Path, tmp_path: Path) -> Iterator[httpx.Client]:
    app = create_app(make_config(tmp_path), StoreReader(store), small_schema(), actor=ADMIN)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


METRICS_AUTH = {"authorization": f"Bearer {METRICS_TOKEN}"}


def gql(http: httpx.Client, query: str, **body: Any) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query, **body})
    assert response.status_code == 200, response.text
    return response.json()


def metric(http: httpx.Client, name: str) -> float:
    text = http.get("/metrics", headers=METRICS_AUTH).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


# ----------------------------------------------------------------------------- queries


def test_post_query_reads_the_snapshot(client: httpx.Client) -> None:
    response = client.post("/graphql", json={"query": "{ assets { id hostname } }"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.json()["data"]["assets"] == [
        {"id": "a0", "hostname": "alpha"},
        {"id": "a1", "hostname": "beta"},
        {"id": "a2", "hostname": "gamma"},
    ]


def test_post_with_variables_and_operation_name(client: httpx.Client) -> None:
    query = "query A { hello } query B($n: String!) { hello(name: $n) }"
    body = gql(client, query, variables={"n": "ops"}, operationName="B")
    assert body == {"data": {"hello": "hello ops"}}


def test_post_application_graphql_body(client: httpx.Client) -> None:
    response = client.post("/graphql", content="{ hello }", headers={"content-type": "application/graphql"})
    assert response.json() == {"data": {"hello": "hello world"}}


def test_get_query(client: httpx.Client) -> None:
    response = client.get(
        "/graphql",
        params={"query": "query($n: String!) { hello(name: $n) }", "variables": '{"n": "get"}'},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "hello get"}}


def test_get_refuses_mutations(client: httpx.Client) -> None:
    response = client.get("/graphql", params={"query": "mutation { touch }"})
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert gql(client, "mutation { touch }") == {"data": {"touch": 1}}


def test_graphiql_in_the_browser(client: httpx.Client) -> None:
    response = client.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_graphiql_can_be_disabled(store: Path, tmp_path: Path) -> None:
    config = make_config(tmp_path, graphiql=False)
    app = create_app(config, StoreReader(store), small_schema(), actor=ADMIN)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/graphql", headers={"accept": "text/html"}).status_code == 404
        assert http.get("/graphql", params={"query": "{ hello }"}).status_code == 200


@pytest.mark.parametrize("path", ["/graphql", "/graphql/"])
def test_post_is_answered_where_it_is_sent(client: httpx.Client, path: str) -> None:
    response = client.post(path, json={"query": "{ hello }"}, follow_redirects=False)
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "hello world"}}


def test_graphql_response_media_type(client: httpx.Client) -> None:
    accept = {"accept": "application/graphql-response+json"}
    response = client.post("/graphql", json={"query": "{ hello }"}, headers=accept)
    assert response.headers["content-type"].startswith("application/graphql-response+json")


PREFLIGHT = {
    "origin": "https://dashboards.example",
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def test_cors_allows_no_origin_by_default(client: httpx.Client) -> None:
    response = client.options("/graphql", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers
    response = client.post("/graphql", json={"query": "{ hello }"}, headers={"origin": PREFLIGHT["origin"]})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_configured_origins(store: Path, tmp_path: Path) -> None:
    config = make_config(tmp_path, cors_origins=["https://dashboards.example"])
    app = create_app(config, StoreReader(store), small_schema(), actor=ADMIN)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        response = http.options("/graphql", headers=PREFLIGHT)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://dashboards.example"
        other = http.options("/graphql", headers={**PREFLIGHT, "origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        pytest.param(b"{not json", "application/json", 400, id="bad-json"),
        pytest.param(b'{"variables": {}}', "application/json", 400, id="no-query"),
        pytest.param(b'{"query": 3}', "application/json", 400, id="query-not-a-string"),
        pytest.param(b'{"query": "{ hello }", "variables": [1]}', "application/json", 400,
                     id="variables-not-an-object"),
        pytest.param(b'[{"query": "{ hello }"}]', "application/json", 400, id="batch"),
        pytest.param(b"query={ hello }", "text/plain", 415, id="unsupported-type"),
    ],
)  # fmt: skip
def test_bad_requests(client: httpx.Client, body: bytes, content_type: str, status: int) -> None:
    response = client.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"]


def test_get_without_query_is_a_bad_request(client: httpx.Client) -> None:
    response = client.get("/graphql", headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_syntax_error(client: httpx.Client) -> None:
    body = gql(client, "{ assets { id ")
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("Syntax Error")
    assert "data" not in body


def test_unknown_field_is_named_with_a_suggestion(client: httpx.Client) -> None:
    body = gql(client, "{ assets { id hostnme } }")
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "hostnme" in error["message"]
    assert "hostname" in error["message"]  # graphql-core's "Did you mean"
    assert error["locations"]


def test_bad_variable_is_user_input(client: httpx.Client) -> None:
    body = gql(client, "query($n: String!) { hello(name: $n) }", variables={"n": 5})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_unexpected_error_is_masked_and_logged(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="assetgraph.graphql"):
        response = client.post("/graphql", json={"query": "{ hello boom }"})
    body = response.json()
    assert response.status_code == 200
    assert SECRET not in response.text
    assert body["data"] is None  # boom is non-null, so the null propagates
    (error,) = body["errors"]
    assert error["message"] == "internal error"
    assert error["path"] == ["boom"]
    assert error["extensions"]["code"] == "INTERNAL"
    request_id = response.headers["x-request-id"]
    assert error["extensions"]["request_id"] == request_id
    (record,) = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("field", "code"),
    [
        pytest.param("forbidden", "FORBIDDEN", id="graphql-error"),
        pytest.param("unauthenticated", "UNAUTHENTICATED", id="exception-with-extensions"),
    ],
)
def test_resolver_error_keeps_its_code(client: httpx.Client, field: str, code: str) -> None:
    response = client.post("/graphql", json={"query": f"{{ {field} }}"})
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code
    assert error["path"] == [field]
    assert "internal" not in error["message"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ node { child { child { child { child { name } } } } } }", id="depth"),
        pytest.param("{ a: hello b: hello c: hello d: hello }", id="aliases"),
        pytest.param("{ " + "hello " * 250 + "}", id="tokens"),
    ],
)
def test_limits_are_query_too_complex(client: httpx.Client, query: str) -> None:
    body = gql(client, query)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert "data" not in body


def test_within_limits_still_runs(client: httpx.Client) -> None:
    body = gql(client, "{ a: hello b: hello node { child { child { name } } } }")
    assert body["data"]["node"] == {"child": {"child": {"name": "root++"}}}


def test_introspection_is_not_cut_by_the_depth_limit(client: httpx.Client) -> None:
    query = "{ __schema { types { name fields { name type { ofType { ofType { name } } } } } } }"
    body = gql(client, query)
    assert "errors" not in body


# ----------------------------------------------------------------------------- warnings


def test_stale_source_is_a_warning_not_an_error(client: httpx.Client) -> None:
    body = gql(client, "{ assets { id } }")
    assert "errors" not in body
    (warning,) = body["extensions"]["warnings"]
    assert warning["code"] == "SOURCE_UNAVAILABLE"
    assert warning["source"] == "laptops_db"
    assert "connection refused" in warning["message"]
    assert "2024-05-01" in warning["message"]


def test_no_warning_when_no_table_is_read(client: httpx.Client) -> None:
    assert gql(client, "{ hello }") == {"data": {"hello": "hello world"}}


# ----------------------------------------------------------------------------- cache


def test_result_cache_hits_then_misses_after_a_publish(store: Path, client: httpx.Client) -> None:
    query = "{ assets { hostname } }"
    hits, misses = (
        metric(client, "assetgraph_cache_hits_total"),
        metric(client, "assetgraph_cache_misses_total"),
    )
    first = gql(client, query)
    assert metric(client, "assetgraph_cache_misses_total") == misses + 1
    assert gql(client, query) == first
    assert metric(client, "assetgraph_cache_hits_total") == hits + 1
    # the same query with other variables is another entry
    gql(client, query + " ", variables={"unused": 1})
    assert metric(client, "assetgraph_cache_misses_total") == misses + 2

    seed(store, hostnames=("delta",))
    after = gql(client, query)
    assert after["data"]["assets"] == [{"hostname": "delta"}]
    assert metric(client, "assetgraph_cache_misses_total") == misses + 3
    assert metric(client, "assetgraph_cache_hits_total") == hits + 1


def test_errors_are_not_cached(client: httpx.Client) -> None:
    hits = metric(client, "assetgraph_cache_hits_total")
    for _ in range(2):
        gql(client, "{ forbidden }")
    assert metric(client, "assetgraph_cache_hits_total") == hits


def test_cache_can_be_disabled(store: Path, tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path, cache_size=0), StoreReader(store), small_schema(), actor=ADMIN)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        hits = metric(http, "assetgraph_cache_hits_total")
        for _ in range(2):
            assert gql(http, "{ assets { id } }")["data"]["assets"]
        assert metric(http, "assetgraph_cache_hits_total") == hits


# ----------------------------------------------------------------------------- probes


def test_health_ready_and_not_ready(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    app = create_app(make_config(tmp_path), StoreReader(root), small_schema(), actor=ADMIN)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        response = http.get("/readyz")
        assert (response.status_code, response.json()) == (503, {"status": "starting"})
        response = http.post("/graphql", json={"query": "{ hello }"})
        assert response.status_code == 503
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_READY"

        snapshot_id = seed(root)
        response = http.get("/readyz")
        assert (response.status_code, response.json()) == (
            200,
            {"status": "ready", "snapshot": snapshot_id},
        )
        assert gql(http, "{ hello }") == {"data": {"hello": "hello world"}}


def test_metrics(client: httpx.Client) -> None:
    gql(client, "{ hello }")
    gql(client, "{ forbidden }")
    response = client.get("/metrics", headers=METRICS_AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "assetgraph_graphql_requests_total",
        "assetgraph_graphql_request_seconds_bucket",
        "assetgraph_graphql_errors_total",
        "assetgraph_cache_hits_total",
        "assetgraph_cache_misses_total",
        "assetgraph_snapshot_age_seconds",
        "assetgraph_source_up",
        "assetgraph_source_records",
        "assetgraph_sync_seconds",
        "assetgraph_sync_failures_total",
    ):
        assert f"# TYPE {name.removesuffix('_bucket').removesuffix('_total')}" in text, name
    assert 'assetgraph_graphql_requests_total{operation_type="query",status="ok"}' in text
    assert 'assetgraph_graphql_errors_total{code="FORBIDDEN"}' in text
    age = metric(client, "assetgraph_snapshot_age_seconds")
    assert 0 <= age < 60


def test_a_document_nested_past_the_parser_limit_is_query_too_complex() -> None:
    with pytest.raises(GraphQLError) as info:
        parse("{" + " a {" * 2000 + " b" + " }" * 2001)
    (shaped,) = shape_errors([info.value], "req-1")
    assert shaped["extensions"]["code"] == "QUERY_TOO_COMPLEX"
