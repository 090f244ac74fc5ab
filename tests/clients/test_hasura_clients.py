"""The real Hasura clients against the gateway over HTTP, as restricted roles: react-admin's
`ra-data-hasura` (which introspects and selects every visible scalar column) and Refine's
`@refinedev/hasura` (which hard-codes Hasura's query shapes, totals included).

Needs `npm ci --prefix tests/clients` (.ci/run does it). Without node_modules the test is
skipped, except under CI=true, where it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "auth"))

from auth_gateway import serving, token  # noqa: E402

from federation.pipeline.store import StoreReader  # noqa: E402
from federation.serving.app import create_app  # noqa: E402

EMPLOYEE_HIDDEN = {"cost", "cost_currency", "purchase_date", "serial_number", "department", "assigned_to_id",
                   "location_id", "mac_addresses", "ip_addresses", "attributes", "last_seen"}  # fmt: skip
NETWORK_HIDDEN = {"cost", "cost_currency", "purchase_date", "department", "assigned_to_id"}


def _node_ready() -> None:
    reason = None
    if shutil.which("node") is None:
        reason = "node is not installed"
    elif not (HERE / "node_modules" / "ra-data-hasura").is_dir():
        reason = "tests/clients/node_modules is missing: run `npm ci --prefix tests/clients`"
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def results(auth_store: Path) -> dict[str, Any]:
    _node_ready()
    from auth_gateway import make_config

    app = create_app(make_config(auth_store), StoreReader(auth_store / "store"))
    with serving(app) as url:
        run = subprocess.run(
            [
                "node",
                str(HERE / "hasura_clients.mjs"),
                f"{url}/graphql",
                f"employee={token('employee', email='bob@example.com')}",
                f"network_team={token('network_team')}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def ok(result: dict[str, Any]) -> Any:
    assert "ok" in result, result.get("error")
    return result["ok"]


@pytest.mark.parametrize(
    ("role", "in_use", "hidden"),
    [
        # bob's own assets in use (AT-014 is lost); the catalog holds nothing in use
        pytest.param("employee", ["AT-002", "AT-009", "AT-011", "AT-019"], EMPLOYEE_HIDDEN, id="employee"),
        pytest.param("network_team", ["AT-011", "AT-012"], NETWORK_HIDDEN, id="network_team"),
    ],
)
def test_ra_data_hasura(results: dict[str, Any], role: str, in_use: list[str], hidden: set[str]) -> None:
    ra = results[role]["ra"]
    page = ok(ra["getList"])  # filter status = in_use, sort asset_tag DESC
    assert [r["asset_tag"] for r in page["data"]] == in_use[::-1]
    assert page["total"] == len(in_use)
    for row in page["data"]:
        assert "asset_tag" in row
        assert "hostname" in row  # every visible column is selected...
        assert not hidden & set(row), row  # ...and no restricted one exists
    one = ok(ra["getOne"])["data"]
    assert one["asset_tag"] == in_use[-1]
    many = ok(ra["getMany"])["data"]
    assert sorted(r["asset_tag"] for r in many) == in_use


@pytest.mark.parametrize(
    ("role", "in_use"),
    [
        pytest.param("employee", ["AT-002", "AT-009", "AT-011", "AT-019"], id="employee"),
        pytest.param("network_team", ["AT-011", "AT-012"], id="network_team"),
    ],
)
def test_refine_hasura(results: dict[str, Any], role: str, in_use: list[str]) -> None:
    refine = results[role]["refine"]
    page = ok(refine["getList"])  # filter status eq in_use, sort asset_tag asc
    assert [r["asset_tag"] for r in page["data"]] == in_use
    assert page["total"] == len(in_use)
    assert ok(refine["getOne"])["data"]["asset_tag"] == in_use[0]
    assert sorted(r["asset_tag"] for r in ok(refine["getMany"])["data"]) == in_use
