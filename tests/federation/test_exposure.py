"""What the gateway shows besides GraphQL (issue 10): /metrics only to Prometheus (a token or
its own port), the GraphiQL page with its security headers and served whole from the package
(no CDN), CORS closed unless origins are configured."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import strawberry
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from support.serving import serving

from federation.config.settings import Config, MetricsConfig, ServerConfig, Settings
from federation.pipeline.store import Publisher, StoreReader
from federation.serving.app import create_app, create_metrics_app

TOKEN = "a-metrics-token-of-some-length"
HTML = {"accept": "text/html"}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hello"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    Publisher(tmp_path / "store").publish({"assets": pd.DataFrame({"id": ["a0"], "hostname": ["h"]})})
    return tmp_path / "store"


@contextmanager
def gateway(store: Path, **server: Any) -> Iterator[httpx.Client]:
    config = Config(settings=Settings(server=ServerConfig(**server)), sources=[], base_dir=store.parent)
    app = create_app(
        config, StoreReader(store), strawberry.Schema(Query), actor=lambda request: {"role": "admin"}
    )
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


# ----------------------------------------------------------------------------- /metrics


def test_metrics_are_off_unless_configured(store: Path) -> None:
    with gateway(store) as http:
        response = http.get("/metrics")
        assert response.status_code == 404
        assert "server.metrics.port" in response.json()["errors"][0]["message"]
        assert "assetgraph_" not in response.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-token"),
        pytest.param({"authorization": "Bearer not-the-token-at-all"}, 401, id="wrong-token"),
        pytest.param({"authorization": f"Bearer {TOKEN}x"}, 401, id="token-plus-one"),
        pytest.param({"authorization": f"Bearer {TOKEN}"}, 200, id="the-token"),
    ],
)
def test_metrics_behind_a_token(store: Path, headers: dict[str, str], status: int) -> None:
    with gateway(store, metrics={"token": TOKEN}) as http:
        response = http.get("/metrics", headers=headers)
        assert response.status_code == status
        assert ("assetgraph_source_up" in response.text) == (status == 200)
        assert TOKEN not in response.text


def test_metrics_on_their_own_port(store: Path) -> None:
    """`server.metrics.port` serves /metrics alone (what `assetgraph serve` starts); the
    GraphQL port does not serve it."""
    with gateway(store, metrics={"port": 0}) as http:
        assert http.get("/metrics").status_code == 404
    app = create_metrics_app(MetricsConfig(port=0), StoreReader(store))
    with serving_without_healthz(app) as url:
        response = httpx.get(f"{url}/metrics")
        assert response.status_code == 200
        assert "assetgraph_snapshot_age_seconds" in response.text
        assert httpx.post(f"{url}/graphql", json={"query": "{ hello }"}).status_code == 404


@contextmanager
def serving_without_healthz(app: Any) -> Iterator[str]:
    """`serving` waits for /healthz, which the metrics app does not have: give it one."""
    app.router.routes.append(Route("/healthz", lambda request: PlainTextResponse("ok")))
    with serving(app) as url:
        yield url


# ----------------------------------------------------------------------------- GraphiQL


class Page(HTMLParser):
    """The scripts and stylesheets a page loads, and any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str | None]] = []  # (url, integrity)
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = True
            if found.get("src"):
                self.loads.append((found["src"] or "", found.get("integrity")))
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.loads.append((found.get("href") or "", found.get("integrity")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def read_page(http: httpx.Client) -> tuple[httpx.Response, Page]:
    response = http.get("/graphql", headers=HTML)
    assert response.status_code == 200
    page = Page()
    page.feed(response.text)
    return response, page


def test_graphiql_page_has_security_headers(store: Path) -> None:
    with gateway(store) as http:
        response, page = read_page(http)
    csp = {d.split()[0]: d.split()[1:] for d in response.headers["content-security-policy"].split("; ")}
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert page.inline_scripts == 0  # what script-src 'self' (no 'unsafe-inline') needs


def test_graphiql_loads_only_files_the_gateway_serves(store: Path) -> None:
    """No CDN: every script and stylesheet is a local URL, served with its SRI hash matching,
    the right type and a long cache; the page works on an air-gapped machine."""
    with gateway(store) as http:
        _response, page = read_page(http)
        assert len(page.loads) >= 5  # react, react-dom, graphiql (+ its css), the page's own
        for url, integrity in page.loads:
            assert url.startswith("/"), url
            assert not url.startswith("//"), url
            asset = http.get(url)
            assert asset.status_code == 200, url
            assert integrity is not None, url
            digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert integrity == f"sha384-{digest}", url
            kind = "text/css" if url.split("?")[0].endswith(".css") else "text/javascript"
            assert asset.headers["content-type"].startswith(kind), url
            assert "immutable" in asset.headers["cache-control"], url
            assert asset.headers["x-content-type-options"] == "nosniff"
        assert http.get("/graphiql/..%2Fgraphiql.py").status_code == 404
        assert http.get("/graphiql/nothing.js").status_code == 404


def test_graphiql_does_not_keep_the_token_in_local_storage(store: Path) -> None:
    with gateway(store) as http:
        _response, page = read_page(http)
        ours = next(url for url, _ in page.loads if "assetgraph-graphiql.js" in url)
        script = http.get(ours).text
    assert "shouldPersistHeaders: false" in script
    assert "shouldPersistHeaders: true" not in script


def test_graphiql_can_be_turned_off(store: Path) -> None:
    with gateway(store, graphiql=False) as http:
        assert http.get("/graphql", headers=HTML).status_code == 404
        assert http.get("/graphiql/assetgraph-graphiql.js").status_code == 404


def test_every_response_says_nosniff(store: Path) -> None:
    with gateway(store) as http:
        for response in (
            http.get("/healthz"),
            http.post("/graphql", json={"query": "{ hello }"}),
            http.post("/graphql", content=b"{nope", headers={"content-type": "application/json"}),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
