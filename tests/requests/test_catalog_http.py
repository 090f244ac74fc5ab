"""The requestable catalog over HTTP, with the demo config's catalog grants: an employee sees the
models of the assets it sees (its own and those in stock), without prices; the it_leader
with prices; availability counts the assets in stock and the open loans due back; filtering,
sorting and paging as other lists; FORBIDDEN for a role without a grant and for a field a
grant does not show; the price band of a grant leaves out the assets priced outside it."""

from __future__ import annotations

from typing import Any

from request_gateway import ANN, CY, DESK, LEADER, RequestGateway

CATALOG = """{ catalog { category model in_stock expected_returns next_return
  assets { asset_tag status } } }"""
PRICED = "{ catalog { model in_stock price_min price_max assets { asset_tag cost } } }"
CHECKOUT = """mutation($tag: String!, $to: uuid!, $due: timestamptz) {
  checkout_asset(asset: {asset_tag: $tag}, to_person: $to, expected_checkin: $due) { id } }"""
DUE = "2031-01-15T09:00:00+00:00"


def _code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


def _by_model(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "errors" not in body, body
    return {e["model"]: e for e in body["data"]["catalog"]}


def _person(gw: RequestGateway, email: str) -> str:
    query = "query($e: String) { people(where: {email: {_eq: $e}}) { id } }"
    return str(gw.post("admin", None, query, e=email)["data"]["people"][0]["id"])


def test_an_employee_sees_the_models_of_the_assets_it_sees(gateway: RequestGateway) -> None:
    ann = _by_model(gateway.post("employee", ANN, CATALOG))
    assert set(ann) == {"XPS 13", "MacBook Pro 16", "Pixel"}
    assert {model: entry["in_stock"] for model, entry in ann.items()} == {
        "XPS 13": 1,
        "MacBook Pro 16": 2,
        "Pixel": 1,
    }
    # her own laptop (in use) and the one in stock; no loans due back yet
    assert ann["XPS 13"]["assets"] == [
        {"asset_tag": "L-002", "status": "in_stock"},
        {"asset_tag": "L-001", "status": "in_use"},
    ]
    assert (ann["XPS 13"]["expected_returns"], ann["XPS 13"]["next_return"]) == (0, None)
    # a colleague does not see Ann's laptop, in the list or in any count
    cy = _by_model(gateway.post("employee", CY, CATALOG))
    assert cy["XPS 13"]["assets"] == [{"asset_tag": "L-002", "status": "in_stock"}]


def test_availability_counts_stock_and_loans_due_back(gateway: RequestGateway) -> None:
    out = gateway.post("service_desk", DESK, CHECKOUT, tag="L-002", to=_person(gateway, CY), due=DUE)
    assert "errors" not in out, out
    leader = _by_model(gateway.post("it_leader", LEADER, CATALOG))
    assert (leader["XPS 13"]["in_stock"], leader["XPS 13"]["expected_returns"]) == (0, 1)
    assert leader["XPS 13"]["next_return"] == DUE
    # Cy holds it now: due back from her; Ann no longer sees it at all
    cy = _by_model(gateway.post("employee", CY, CATALOG))
    assert (cy["XPS 13"]["expected_returns"], cy["XPS 13"]["next_return"]) == (1, DUE)
    ann = _by_model(gateway.post("employee", ANN, CATALOG))
    assert (ann["XPS 13"]["in_stock"], ann["XPS 13"]["expected_returns"]) == (0, 0)
    assert [a["asset_tag"] for a in ann["XPS 13"]["assets"]] == ["L-001"]


def test_prices_only_where_the_grant_shows_them(gateway: RequestGateway) -> None:
    leader = _by_model(gateway.post("it_leader", LEADER, PRICED))
    assert (leader["XPS 13"]["price_min"], leader["XPS 13"]["price_max"]) == (900, 1100)
    assert {a["cost"] for a in leader["MacBook Pro 16"]["assets"]} == {2500}
    for query in (PRICED, "{ catalog(order_by: [{price_max: desc}]) { model } }",
                  "{ catalog(where: {price_min: {_gt: 1000}}) { model } }",
                  "{ catalog { model assets { hostname } } }"):  # fmt: skip
        body = gateway.post("employee", ANN, query)
        assert _code(body) == "FORBIDDEN", (query, body)
        assert body.get("data") is None
    # the employee's schema has no prices at all
    fields = gateway.post("employee", ANN, '{ __type(name: "catalog_entry") { fields { name } } }')
    names = {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert "in_stock" in names
    assert not names & {"price_min", "price_max"}


def test_a_role_without_a_catalog_grant_is_refused(gateway: RequestGateway) -> None:
    for role in ("finance", "service_desk"):
        body = gateway.post(role, "x@example.com", "{ catalog { model } }")
        assert _code(body) == "FORBIDDEN", body
        assert "catalog" in body["errors"][0]["message"]


def test_filters_sorts_and_pages_like_other_lists(gateway: RequestGateway) -> None:
    query = """query($c: String, $n: Int, $o: Int) {
      catalog(category: $c, where: {in_stock: {_gte: 1}}, order_by: [{in_stock: desc}, {model: asc}],
              limit: $n, offset: $o) { model in_stock } }"""
    body = gateway.post("employee", ANN, query, c=None, n=10, o=0)
    assert body["data"]["catalog"] == [
        {"model": "MacBook Pro 16", "in_stock": 2},
        {"model": "Pixel", "in_stock": 1},
        {"model": "XPS 13", "in_stock": 1},
    ]
    assert gateway.post("employee", ANN, query, c=None, n=1, o=1)["data"]["catalog"] == [
        {"model": "Pixel", "in_stock": 1}
    ]
    laptops = gateway.post("employee", ANN, query, c="Laptop", n=10, o=0)["data"]["catalog"]
    assert [e["model"] for e in laptops] == ["MacBook Pro 16", "XPS 13"]
    bad = gateway.post("employee", ANN, "{ catalog(where: {colour: {_eq: 1}}) { model } }")
    assert _code(bad) == "BAD_USER_INPUT"


def test_a_price_band_leaves_out_the_assets_outside_it(gateway: RequestGateway) -> None:
    # `budget` (request_gateway.py): the employee's grants with a catalog up to 1,000
    body = _by_model(gateway.post("budget", ANN, CATALOG))
    assert set(body) == {"XPS 13", "Pixel"}  # the MacBooks cost 2,500
    # and Ann's own XPS 13 costs 1,100: outside the band, not in her catalog
    assert [a["asset_tag"] for a in body["XPS 13"]["assets"]] == ["L-002"]
