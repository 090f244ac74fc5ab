"""README.md's examples, run against the demo over HTTP, so a figure that drifts fails here.

- Every ```graphql block runs as the role on its fence (`role=finance`, and `email=…` for a
  role whose rows depend on the caller), with a token made by `assetgraph token` as the README
  says. When a ```json block follows, the answer must match it: the same `data` (floats to a
  relative 1e-9: sums may add up in another order), and the same `errors` by message and
  extensions (their positions are not compared). A block without one must answer without
  errors.
- A value the demo draws at random (a request's id) is written `"<request id>"` in an answer:
  it matches any value there and names it, and the same `"<request id>"` in a later query is
  that value (the examples run in the README's order; one that names a value no earlier
  answer gave fails, saying so). Given twice in answers, it must be the same value.
- The README's shell example (`TOKEN=$(assetgraph token …)` then `curl …`) runs as written.
- Figures that come from the generated estate are checked against the demo generator's ground
  truth (federation/demo/estate.py), not against the gateway: the estate's size, the network
  devices, José's machines, the showcase laptop in all four sources and its CMDB cost.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.demo import write_demo_config
from support.serving import serving

from federation.config.settings import Config, load_config
from federation.demo import prepare_demo
from federation.demo.estate import make_estate
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.app import create_app
from federation.serving.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Example:
    line: int
    query: str
    role: str
    email: str | None
    expected: dict[str, Any] | None


def _examples() -> list[Example]:
    blocks = list(FENCE.finditer(README))
    out = []
    for i, block in enumerate(blocks):
        lang, info, body = block.groups()
        if lang != "graphql":
            continue
        attrs = dict(re.findall(r"(\w+)=(\S+)", info))
        assert "role" in attrs, f"README line {README.count(chr(10), 0, block.start()) + 1}: no role="
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        follows = nxt is not None and nxt.group(1) == "json" and not README[block.end() : nxt.start()].strip()
        expected = json.loads(nxt.group(3)) if follows and nxt is not None else None
        line = README.count("\n", 0, block.start()) + 1
        out.append(Example(line, body, attrs["role"], attrs.get("email"), expected))
    return out


EXAMPLES = _examples()


def _shown(example: str) -> Any:
    """The README's answer to one of its queries, found by a fragment of the query."""
    return next(e.expected for e in EXAMPLES if example in e.query and e.expected is not None)


# ----------------------------------------------------------------------------- the demo


@dataclass
class Demo:
    url: str
    config: Config
    folder: Path

    def token(self, role: str, email: str | None = None) -> str:
        args = ["token", "--config", str(self.config.path), "--role", role]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main([*args, *(["--email", email] if email else [])]) == 0
        return printed.getvalue().strip()

    def ask(self, query: str, role: str, email: str | None = None) -> httpx.Response:
        headers = {} if role == "anonymous" else {"authorization": f"Bearer {self.token(role, email)}"}
        return httpx.post(f"{self.url}/graphql", json={"query": query}, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The repo's config.yaml as it is (3,000 assets, seed 7), synced once, served over HTTP."""
    folder = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as monkeypatch:
        config = load_config(write_demo_config(folder, monkeypatch))
        prepare_demo(config)
        syncer = Syncer(config)
        try:
            report = syncer.run()
        finally:
            syncer.close()
        assert report.failed == [], report.failed
        app = create_app(config, StoreReader(config.resolve(config.settings.store.path)))
        with serving(app) as url:
            yield Demo(url, config, folder)


# ----------------------------------------------------------------------------- comparing


#: `"<name>"` in an answer: a value the demo draws at random, named for later queries
PLACEHOLDER = re.compile(r"^<[a-z][a-z ]*>$")
#: the values named so far, in the README's order
NAMED: dict[str, Any] = {}


def _with_named(query: str, line: int) -> str:
    """The query with each `"<name>"` an earlier answer named replaced by its value."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in NAMED:
            pytest.fail(
                f"README line {line}: {name} is named by no earlier answer (run the examples in order)"
            )
        return json.dumps(NAMED[name])

    return re.sub(r'"(<[a-z][a-z ]*>)"', value, query)


def _same(expected: Any, got: Any, where: str = "") -> None:
    if isinstance(expected, str) and PLACEHOLDER.match(expected):
        assert got is not None, f"{where}: README names {expected}, the demo gives null"
        assert NAMED.setdefault(expected, got) == got, (
            f"{where}: {expected} was {NAMED[expected]!r}, now {got!r}"
        )
    elif isinstance(expected, float) or (isinstance(got, float) and isinstance(expected, int)):
        assert isinstance(got, int | float), f"{where}: {got!r} is not a number"
        assert math.isclose(expected, got, rel_tol=1e-9), f"{where}: README says {expected}, the demo {got}"
    elif isinstance(expected, dict):
        assert isinstance(got, dict), f"{where}: README {expected}, demo {got}"
        assert set(got) == set(expected), f"{where}: README {expected}, demo {got}"
        for key, value in expected.items():
            _same(value, got[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list), f"{where}: README {expected}, demo {got}"
        assert len(got) == len(expected), f"{where}: README {expected}, demo {got}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            _same(e, g, f"{where}[{i}]")
    else:
        assert expected == got, f"{where}: README says {expected!r}, the demo {got!r}"


def _matches(expected: dict[str, Any], body: dict[str, Any]) -> None:
    if "data" in expected:
        _same(expected["data"], body.get("data"), "data")
    errors = [{k: e.get(k) for k in ("message", "extensions")} for e in body.get("errors") or []]
    _same(expected.get("errors", []), errors, "errors")


# ----------------------------------------------------------------------------- the examples


def test_the_readme_has_the_examples_of_every_demo_role() -> None:
    roles = {e.role for e in EXAMPLES if e.expected is not None}
    assert roles >= {"admin", "it_leader", "auditor", "finance", "network_team", "service_desk", "employee",
                     "anonymous"}  # fmt: skip


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line-{e.line}-{e.role}" for e in EXAMPLES])
def test_each_graphql_example_answers_as_the_readme_says(demo: Demo, example: Example) -> None:
    body = demo.ask(_with_named(example.query, example.line), example.role, example.email).json()
    if example.expected is None:
        assert "errors" not in body, body
        assert body.get("data"), body
    else:
        _matches(example.expected, body)


def test_a_forged_token_is_refused_as_the_readme_says(demo: Demo) -> None:
    shown = re.search(r"A forged token \(signature altered\) → HTTP (\d+)\s+`([^`]+)`", README)
    assert shown is not None
    good = demo.token("admin")
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    response = httpx.post(
        f"{demo.url}/graphql",
        json={"query": "{ assets { id } }"},
        headers={"authorization": f"Bearer {forged}"},
    )
    assert response.status_code == int(shown.group(1))
    assert response.json() == json.loads(shown.group(2))


def test_the_shell_example_runs_as_written(demo: Demo) -> None:
    if shutil.which("curl") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("curl is not installed")
        pytest.skip("curl is not installed")
    script = next(b.group(3) for b in FENCE.finditer(README) if b.group(1) == "sh" and "curl" in b.group(3))
    query = next(e for e in EXAMPLES if e.role == "admin" and e.expected is not None)
    script = script.replace("ROLE", "admin").replace("localhost:8000", demo.url.removeprefix("http://"))
    script = script.replace("QUERY", json.dumps(" ".join(query.query.split()))[1:-1])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        ["bash", "-c", script], cwd=demo.config.base_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert query.expected is not None
    _matches(query.expected, json.loads(run.stdout))


# ----------------------------------------------------------------------------- the ground truth


def test_figures_from_the_estate_match_the_demo_generator(demo: Demo) -> None:
    settings = demo.config.settings.demo
    assert settings is not None
    estate = make_estate(settings.seed, settings.assets)
    assets, people = estate.assets, estate.people

    size = re.search(r"writes a made-up estate of ([\d,]+) assets", README)
    assert size is not None
    assert int(size.group(1).replace(",", "")) == settings.assets == len(assets)
    assert re.search(rf"{settings.assets:,} generated assets", README)

    # network devices: the network team's count, and the it_leader's group
    network = int((assets["category"] == "network").sum())
    count = _shown("assets_aggregate { aggregate { count } } }")
    assert count["data"]["assets_aggregate"]["aggregate"]["count"] == network
    groups = _shown("group_by(fields: [category])")["data"]["assets_aggregate"]["group_by"]
    assert {g["keys"]["category"]: g["count"] for g in groups}["network"] == network

    # José's machines: the employee example lists exactly the assets the estate gives him
    jose = int(people.index[people["email"] == "jose.nunez@example.com"][0])
    his = sorted(assets.loc[assets["person"] == jose, "asset_tag"])
    listed = _shown("catalog: assets_aggregate")["data"]["assets"]
    assert [row["asset_tag"] for row in listed] == his
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
    assert f"still holds {words[len(his)]} machines" in README
    assert f"his {len(his)} +" in README
    assert not bool(people.loc[jose, "active"])  # "José has left the company"

    # the showcase laptop: in all four sources, and what the CMDB says it cost
    first = assets.iloc[0]
    assert first["asset_tag"] == "P000001"
    assert all(first[f"in_{s}"] for s in ("cmdb", "finance", "inventory", "endpoint"))
    assert "`P000001` is in all four demo sources" in README
    sources = _shown("sources { source record_id }")["data"]["assets"][0]["sources"]
    assert {s["source"] for s in sources} == {"cmdb", "finance", "inventory", "endpoint_team"}
    conflicts = _shown("conflicts { field values")["data"]["assets"][0]["conflicts"]
    cost = {v["source"]: v["value"] for c in conflicts if c["field"] == "cost" for v in c["values"]}
    assert cost["cmdb"] == pytest.approx(float(first["usd_cost"]))


def test_the_network_team_cannot_work_out_costs_from_attributes(demo: Demo) -> None:
    """The audit: with finance's keys of `attributes` (depreciation = cost / 3, the entity's
    currency) the network team recomputed every hidden cost. It reads hardware keys only."""
    query = '{ assets(where: {category: {_eq: "network"}}, limit: 1000) { asset_tag attributes } }'
    admin = demo.ask(query, "admin").json()["data"]["assets"]
    assert sum("depreciation" in (a["attributes"] or {}) for a in admin) > 0  # the keys exist
    network = demo.ask(query, "network_team").json()["data"]["assets"]
    assert len(network) == len(admin)
    assert all(set(a["attributes"] or {}) <= {"cpu", "ram_gb", "disk_gb"} for a in network), network[:3]
