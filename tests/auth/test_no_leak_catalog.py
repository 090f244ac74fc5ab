"""Property (test_no_leak.py's, for the catalog): whatever a role asks of `catalog`, it gets the
models of the assets it sees within its grant's categories and price band, counted over those
assets only, with only the fields its grant shows; anything else it names is FORBIDDEN.

The grants are written out here by hand from config.yaml's `roles.*.catalog` (not read from
the code under test); the rows a role sees come from test_no_leak.py's model of the roles.
"""

from __future__ import annotations

from typing import Any

import pytest
from auth_gateway import Gateway, token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_no_leak import ACTORS, ASSETS, EXAMPLES, FULL, _literal, _same, _visible, spec

#: role → (categories or None for all, highest price or None, prices shown, asset fields)
GRANTS = {
    "employee": (
        {"laptop", "desktop", "monitor", "phone", "tablet", "peripheral"},
        3000,
        False,
        {"id", "asset_tag", "status", "warranty_end"},
    ),
    "it_leader": (None, None, True, {"id", "asset_tag", "status", "cost", "purchase_date", "warranty_end"}),
}
ENTRY_FIELDS = ["in_stock", "expected_returns", "next_return", "price_min", "price_max"]
ASSET_FIELDS = ["asset_tag", "status", "cost", "purchase_date", "hostname", "serial_number"]
CATEGORIES = sorted({r["category"] for r in ASSETS.values() if r["category"]})
MANUFACTURERS = sorted({r["manufacturer"] for r in ASSETS.values() if r["manufacturer"]})


@st.composite
def catalog_case(draw: st.DrawFn) -> dict[str, Any]:
    role, actor = draw(st.sampled_from(ACTORS))
    where = draw(
        st.none()
        | st.builds(lambda n: {"in_stock": {"_gte": n}}, st.integers(0, 2))
        | st.builds(lambda c: {"category": {"_eq": c}}, st.sampled_from(CATEGORIES))
        | st.builds(lambda m: {"manufacturer": {"_eq": m}}, st.sampled_from(MANUFACTURERS))
        | st.builds(lambda p: {"price_max": {"_lte": p}}, st.sampled_from([500, 1500, 5000]))
    )
    return {
        "role": role,
        "actor": actor,
        "category": draw(st.none() | st.sampled_from(CATEGORIES)),
        "where": where,
        "order": draw(st.none() | st.sampled_from(["in_stock", "model", "price_min"])),
        "fields": draw(st.lists(st.sampled_from(ENTRY_FIELDS), max_size=3, unique=True)),
        "assets": draw(st.none() | st.lists(st.sampled_from(ASSET_FIELDS), max_size=3, unique=True)),
    }


def render(case: dict[str, Any]) -> str:
    args = ["limit: 1000"]
    if case["category"]:
        args.append(f"category: {_literal(case['category'])}")
    if case["where"]:
        args.append(f"where: {_literal(case['where'])}")
    if case["order"]:
        args.append(f"order_by: [{{{case['order']}: asc}}]")
    fields = ["category", "manufacturer", "model", *case["fields"]]
    if case["assets"] is not None:
        fields.append("assets { " + " ".join(["id", *case["assets"]]) + " }")
    return f"{{ catalog({', '.join(args)}) {{ {' '.join(fields)} }} }}"


def hidden(case: dict[str, Any]) -> set[str]:
    grant = GRANTS.get(case["role"])
    if grant is None:
        return {"catalog"}
    _, _, prices, columns = grant
    named = set(case["fields"]) | set(case["where"] or {}) | ({case["order"]} if case["order"] else set())
    out = {f for f in named if f.startswith("price_") and not prices}
    return out | {f for f in case["assets"] or [] if f not in columns}


def expected(case: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """(category, manufacturer, model) → {"in_stock", "price_min", "price_max", "ids"}."""
    categories, ceiling, _, _ = GRANTS[case["role"]]
    rows = _visible(spec(case["role"], case["actor"]), "assets").values()
    entries: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        if row["model"] is None or (categories is not None and row["category"] not in categories):
            continue
        if ceiling is not None and (row["cost"] is None or float(row["cost"]) > ceiling):
            continue
        if case["category"] and row["category"] != case["category"]:
            continue
        key = (row["category"], row["manufacturer"], row["model"])
        entry = entries.setdefault(key, {"in_stock": 0, "costs": [], "ids": set()})
        entry["in_stock"] += row["status"] == "in_stock"
        entry["ids"].add(row["id"])
        if row["cost"] is not None:
            entry["costs"].append(float(row["cost"]))
    for entry in entries.values():
        entry["price_min"] = min(entry["costs"], default=None)
        entry["price_max"] = max(entry["costs"], default=None)
    where = case["where"] or {}
    if "in_stock" in where:
        entries = {k: e for k, e in entries.items() if e["in_stock"] >= where["in_stock"]["_gte"]}
    if "category" in where:
        entries = {k: e for k, e in entries.items() if k[0] == where["category"]["_eq"]}
    if "manufacturer" in where:
        entries = {k: e for k, e in entries.items() if k[1] == where["manufacturer"]["_eq"]}
    if "price_max" in where:
        limit = where["price_max"]["_lte"]
        entries = {k: e for k, e in entries.items() if e["price_max"] is not None and e["price_max"] <= limit}
    return entries


def check(case: dict[str, Any], body: dict[str, Any]) -> None:
    refused = hidden(case)
    if refused:
        assert body.get("data") is None, (refused, body)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert any(name in body["errors"][0]["message"] for name in refused), (refused, body)
        return
    assert "errors" not in body, body
    want = expected(case)
    got = {(e["category"], e["manufacturer"], e["model"]): e for e in body["data"]["catalog"]}
    assert set(got) == set(want), "the entries differ from the models of the visible assets"
    columns = GRANTS[case["role"]][3]
    for key, entry in got.items():
        model = want[key]
        if "in_stock" in entry:
            assert entry["in_stock"] == model["in_stock"], key
        if "expected_returns" in entry:  # no loans in this estate
            assert entry["expected_returns"] == 0, key
        for bound in ("price_min", "price_max"):
            if bound in entry:
                assert _same(entry[bound], model[bound]), (key, bound)
        if case["assets"] is not None:
            assert {a["id"] for a in entry["assets"]} == model["ids"], key
            for asset in entry["assets"]:
                assert set(asset) <= columns
                for field in set(asset) - {"id", "purchase_date"}:
                    assert _same(asset[field], ASSETS[asset["id"]][field]), (key, field)
    if case["order"]:
        values = [e[case["order"]] if case["order"] in e else want[k][case["order"]] for k, e in got.items()]
        keys = [v for v in values if v is not None]
        assert keys == sorted(keys)


@pytest.mark.timeout(600)
def test_the_catalog_shows_nothing_outside_the_grant_and_the_rows(gateway: Gateway) -> None:
    tokens = {(role, actor.get("email")): token(role, email=actor.get("email")) for role, actor in ACTORS}
    seen = {"answered": 0, "forbidden": 0}

    @settings(max_examples=400 if FULL else EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(catalog_case())
    def run(case: dict[str, Any]) -> None:
        headers = {}
        if case["role"] != "anonymous":
            headers["authorization"] = f"Bearer {tokens[(case['role'], case['actor'].get('email'))]}"
        response = gateway.post(render(case), headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        try:
            check(case, body)
        except AssertionError as exc:
            raise AssertionError(f"{case['role']} {case['actor']}: {render(case)}\n{exc}") from exc
        seen["forbidden" if "errors" in body else "answered"] += 1

    run()
    if FULL:
        assert seen["answered"] > 50, seen
        assert seen["forbidden"] > 50, seen
