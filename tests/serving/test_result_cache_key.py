"""The result cache's keys are bounded: a SHA-256 of what a result depends on (actor,
document, variables, operation name), whatever the size of the document or variables."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pandas as pd
import pytest
import strawberry
from support.serving import serving

from federation.config.settings import Config, ServerConfig, Settings
from federation.pipeline import metrics
from federation.pipeline.store import Publisher, StoreReader
from federation.serving.app import create_app
from federation.serving.documents import digest
from federation.serving.documents import result_key as endpoint_key

BASE = (b'{"role":"admin"}', "query Q($n: Int) { hello(n: $n) }", b'{"n":1}', "Q")


def result_key(actor: bytes, query: str, variables: bytes, operation_name: str | None) -> bytes:
    return endpoint_key(actor, digest(query), variables, operation_name)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param((b'{"role":"employee"}', *BASE[1:]), id="another-actor"),
        pytest.param((BASE[0], "query Q($n: Int) { hello(n: $n) } ", *BASE[2:]), id="another-document"),
        pytest.param((*BASE[:2], b'{"n":2}', BASE[3]), id="other-variables"),
        pytest.param((*BASE[:3], None), id="no-operation-name"),
        # the same bytes, cut in another place, are another request
        pytest.param((b'{"role":"admin"}q', BASE[1][1:], *BASE[2:]), id="shifted-boundary"),
    ],
)
def test_each_part_of_a_request_changes_the_key(other: tuple[bytes, str, bytes, str | None]) -> None:
    assert result_key(*BASE) == result_key(*BASE)
    assert result_key(*other) != result_key(*BASE)


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, n: int = 0, text: str = "") -> str:
        return f"hello {n} {len(text)}"


def hits() -> float:
    return metrics.REGISTRY.get_sample_value("assetgraph_cache_hits_total") or 0.0


def test_keys_stay_small_for_large_documents_and_variables(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Publisher(root).publish({"assets": pd.DataFrame({"id": ["a"], "hostname": ["h"]})})
    config = Config(settings=Settings(server=ServerConfig(cache_size=8)), sources=[], base_dir=tmp_path)
    app = create_app(config, StoreReader(root), strawberry.Schema(Query), actor=lambda r: {"role": "admin"})
    document = "# " + "x" * 100_000 + "\nquery Big($n: Int, $text: String) { hello(n: $n, text: $text) }"
    with serving(app) as url:
        answers = []
        before = hits()
        for n in (1, 1, 2):
            body = orjson.dumps({"query": document, "variables": {"n": n, "text": "y" * 50_000}})
            response = httpx.post(
                f"{url}/graphql", content=body, headers={"content-type": "application/json"}
            )
            answers.append(response.json()["data"]["hello"])
        assert hits() - before == 1  # the repeat was served from the cache
    assert answers == ["hello 1 50000", "hello 1 50000", "hello 2 50000"]
    cache = app.state.graphql.cache
    assert len(cache) == 2
    for snapshot_id, entry_key in cache:
        assert snapshot_id.startswith("snap-")
        assert isinstance(entry_key, bytes)
        assert len(entry_key) == 32
