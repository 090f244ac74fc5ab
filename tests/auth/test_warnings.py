"""Stale-source warnings say which source and why only to roles that may read `sources`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
from auth_gateway import make_config, token
from schema_estate import aid, frames
from support.serving import serving

from federation.pipeline.store import Publisher, StoreReader
from federation.serving.app import create_app

SECRET_ERROR = "cannot open /srv/finance/secret-budget-2025.xlsx: permission denied"


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("warnings")
    data = frames()
    fetched = datetime(2024, 5, 3, 8, 0, tzinfo=UTC)
    data["record_sources"] = pd.concat(
        [data["record_sources"], pd.DataFrame([("assets", aid(1), "sheet", "s-1", fetched)],
                                              columns=data["record_sources"].columns)],
        ignore_index=True,
    )  # fmt: skip
    status = data["source_status"]
    status.loc[status["name"] == "sheet", "error"] = SECRET_ERROR
    Publisher(root / "store").publish(data)
    app = create_app(make_config(root), StoreReader(root / "store"))
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _warnings(http: httpx.Client, role: str) -> list[dict[str, object]]:
    response = http.post(
        "/graphql",
        json={"query": "{ assets(limit: 1) { asset_tag } }"},
        headers={"authorization": f"Bearer {token(role, email='alice@example.com')}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["extensions"]["warnings"]


def test_a_role_that_reads_sources_gets_the_source_and_its_error(http: httpx.Client) -> None:
    (warning,) = _warnings(http, "admin")
    assert warning["code"] == "SOURCE_UNAVAILABLE"
    assert warning["source"] == "sheet"
    assert SECRET_ERROR in str(warning["message"])


@pytest.mark.parametrize("role", ["employee", "network_team", "service_desk"])
def test_other_roles_learn_only_that_data_is_stale(http: httpx.Client, role: str) -> None:
    (warning,) = _warnings(http, role)
    assert warning["code"] == "SOURCE_UNAVAILABLE"
    assert "source" not in warning
    assert "secret-budget" not in str(warning["message"])
    assert "sheet" not in str(warning["message"])
