"""Property: whatever a role asks, no value outside its columns and rows comes back.

Hypothesis generates queries (fields, nested relationships, filters with values taken from
every row — visible or not —, sorts, by primary key, aggregates, group_by) and actors of the
demo roles, runs them over HTTP against the seeded estate, and checks every answer against
a model of the roles written out here by hand (not read from the code under test):

- an object of a type appears only if its row is visible to the role, and holds only fields
  the role may read, with the seed's values (`attributes` with only the keys it may read);
- a to-one relationship to an invisible row is null; arrays and filters see visible rows only
  (the returned set equals the one computed here from the visible seed rows);
- counts, sums and groups are over visible rows only;
- a query naming anything the role may not read (a key of `attributes` in `_has_key`
  included) is refused with FORBIDDEN, and only then.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from auth_gateway import Gateway, token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_estate import frames

BATCH = 10
#: x BATCH queries per run: 5,200 under the `full` Hypothesis profile (CI), a few under `quick`
FULL = settings.get_current_profile_name() == "full"
EXAMPLES = 520 if FULL else settings.default.max_examples
SENT = {"queries": 0, "forbidden": 0}
_LOCK = threading.Lock()


def _records(name: str) -> dict[str, dict[str, Any]]:
    frame = frames()[name].astype(object).where(lambda f: f.notna(), None)
    return {row["id"]: row for row in frame.to_dict("records")}


ASSETS, PEOPLE, LOCATIONS = _records("assets"), _records("people"), _records("locations")
SEED = {"assets": ASSETS, "people": PEOPLE, "locations": LOCATIONS}
#: relationship → (target, local column, remote column, to-one?)
RELATIONS = {
    "assets": {
        "assigned_to": ("people", "assigned_to_id", "id", True),
        "location": ("locations", "location_id", "id", True),
    },
    "people": {
        "manager": ("people", "manager_id", "id", True),
        "assets": ("assets", "id", "assigned_to_id", False),
    },
    "locations": {"assets": ("assets", "id", "location_id", False)},
}  # fmt: skip
STRING_COLUMNS = {
    "assets": ["asset_tag", "serial_number", "hostname", "name", "category", "manufacturer", "status",
               "department", "os"],
    "people": ["email", "name", "department", "employment_status"],
    "locations": ["name", "site", "city", "country"],
}  # fmt: skip
OTHER_COLUMNS = {
    "assets": ["cost", "purchase_date", "warranty_end", "mac_addresses", "attributes", "last_seen",
               "assigned_to_id", "location_id", "cost_currency", "model", "ip_addresses"],
    "people": ["manager_id"],
    "locations": [],
}  # fmt: skip

# ----------------------------------------------------------------------------- the roles, by hand
ALL_ASSETS = set(STRING_COLUMNS["assets"]) | set(OTHER_COLUMNS["assets"]) | {"id", "assigned_to", "location"}
ALL_PEOPLE = {"id", "email", "name", "department", "employment_status", "manager_id", "manager", "assets"}
ALL_LOCATIONS = {"id", "name", "site", "city", "country", "assets"}
EMPLOYEE_ASSETS = {"id", "asset_tag", "hostname", "name", "category", "manufacturer", "model", "status", "os",
                   "warranty_end", "location", "assigned_to"}  # fmt: skip
NETWORK_ASSETS = {"id", "asset_tag", "serial_number", "hostname", "name", "category", "manufacturer", "model",
                  "status", "location_id", "location", "mac_addresses", "ip_addresses", "os", "last_seen",
                  "warranty_end", "attributes"}  # fmt: skip
FINANCE_ASSETS = {"id", "asset_tag", "serial_number", "hostname", "name", "category", "manufacturer",
                  "model", "status", "department", "purchase_date", "warranty_end", "cost", "cost_currency",
                  "location", "assigned_to"}  # fmt: skip
DESK_ASSETS = ALL_ASSETS - {"cost", "cost_currency", "purchase_date"}
#: the keys of `attributes` service_desk and network_team may read (config.yaml: attributes.cpu, …)
HARDWARE_KEYS = DESK_KEYS = {"cpu", "ram_gb", "disk_gb"}
#: keys asked for by `_has_key`: those of the seed, and one no asset has
KEYS = ["cpu", "gpu", "rack", "ram_gb", "u"]
LOCATION_BASICS = {"id", "name", "site", "city", "country"}
Row = dict[str, Any]
Pred = Callable[[Row], bool]
EVERY: Pred = lambda row: True  # noqa: E731


def _email(email: str | None) -> Callable[[Row], bool]:
    def own_or_catalog(row: Row) -> bool:
        person = PEOPLE.get(row["assigned_to_id"] or "")
        return (email is not None and person is not None and person["email"] == email) or row[
            "status"
        ] == "in_stock"

    return own_or_catalog


def spec(role: str, actor: dict[str, Any]) -> dict[str, Any]:
    """{"tables": {table: (readable fields, row predicate)}, "aggregate": {tables}}."""
    email = actor.get("email")
    if role == "employee":
        tables = {
            "assets": (EMPLOYEE_ASSETS, _email(email)),
            "people": (
                {"id", "name", "email", "department"},
                lambda r: email is not None and r["email"] == email,
            ),
            "locations": (LOCATION_BASICS, EVERY),
        }
        return {"tables": tables, "aggregate": {"assets"}, "count_only": {"assets"}}
    if role == "network_team":
        tables = {
            "assets": (NETWORK_ASSETS, lambda r: r["category"] == "network"),
            "locations": (LOCATION_BASICS, EVERY),
        }
        return {"tables": tables, "aggregate": {"assets"}, "keys": HARDWARE_KEYS}
    if role == "finance":
        tables = {
            "assets": (FINANCE_ASSETS, EVERY),
            "people": ({"id", "name", "email", "department", "employment_status"}, EVERY),
            "locations": (LOCATION_BASICS, EVERY),
        }
        return {"tables": tables, "aggregate": {"assets", "locations"}}
    if role == "service_desk":
        people = {"id", "name", "email", "department", "employment_status", "manager", "assets"}
        tables = {
            "assets": (DESK_ASSETS, EVERY),
            "people": (people, EVERY),
            "locations": (ALL_LOCATIONS, EVERY),
        }
        return {"tables": tables, "aggregate": {"assets"}, "keys": DESK_KEYS}
    if role == "laptop_finance":
        tables = {
            "assets": (
                {"id", "asset_tag", "category", "assigned_to", "location"},
                lambda r: r["category"] == "laptop",
            ),
            "people": ({"id", "name", "email", "assets"}, lambda r: r["department"] == "Finance"),
            "locations": ({"id", "name", "assets"}, EVERY),
        }
        return {"tables": tables, "aggregate": {"assets", "people"}}
    if role in ("admin", "it_leader", "auditor"):
        tables = {
            "assets": (ALL_ASSETS, EVERY),
            "people": (ALL_PEOPLE, EVERY),
            "locations": (ALL_LOCATIONS, EVERY),
        }
        return {"tables": tables, "aggregate": {"assets", "people", "locations"}}
    assert role == "anonymous"
    return {"tables": {}, "aggregate": set()}


ACTORS = [
    ("employee", {"email": "alice@example.com"}),
    ("employee", {"email": "bob@example.com"}),
    ("employee", {"email": "frank@example.com"}),
    ("employee", {}),
    ("network_team", {}),
    ("finance", {}),
    ("service_desk", {}),
    ("laptop_finance", {}),
    ("it_leader", {}),
    ("anonymous", {}),
]


# ----------------------------------------------------------------------------- generation


def _values(table: str, column: str) -> list[Any]:
    return sorted({r[column] for r in SEED[table].values() if r[column] is not None}, key=str)


@st.composite
def where(draw: st.DrawFn, table: str, depth: int = 0) -> dict[str, Any]:
    choices = ["eq", "null"] + (["rel", "or"] if depth < 2 else []) + (["key"] if table == "assets" else [])
    kind = draw(st.sampled_from(choices))
    if kind == "key":
        return {"attributes": {"_has_key": draw(st.sampled_from(KEYS))}}
    if kind == "eq":
        column = draw(st.sampled_from(STRING_COLUMNS[table]))
        return {column: {"_eq": draw(st.sampled_from(_values(table, column)))}}
    if kind == "null":
        column = draw(st.sampled_from(STRING_COLUMNS[table] + (["cost"] if table == "assets" else [])))
        return {column: {"_is_null": draw(st.booleans())}}
    if kind == "rel":
        name = draw(st.sampled_from(sorted(RELATIONS[table])))
        return {name: draw(where(RELATIONS[table][name][0], depth + 1))}
    return {"_or": draw(st.lists(where(table, depth + 1), min_size=1, max_size=2))}


@st.composite
def selection(draw: st.DrawFn, table: str, depth: int = 0) -> dict[str, Any]:
    columns = STRING_COLUMNS[table] + OTHER_COLUMNS[table]
    picked = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=4, unique=True))
    nested = {}
    if depth < 2:
        for name in draw(st.lists(st.sampled_from(sorted(RELATIONS[table])), max_size=1, unique=True)):
            nested[name] = draw(selection(RELATIONS[table][name][0], depth + 1))
    return {"columns": ["id", *picked], "nested": nested}


@st.composite
def query_case(draw: st.DrawFn) -> dict[str, Any]:
    role, actor = draw(st.sampled_from(ACTORS))
    table = draw(st.sampled_from(["assets", "people", "locations"]))
    kind = draw(st.sampled_from(["list", "list", "by_pk", "aggregate"]))
    case: dict[str, Any] = {"role": role, "actor": actor, "table": table, "kind": kind}
    if kind == "by_pk":
        case["id"] = draw(st.sampled_from(sorted(SEED[table])))
        case["select"] = draw(selection(table))
    elif kind == "list":
        case["select"] = draw(selection(table))
        case["where"] = draw(st.none() | where(table))
        if draw(st.booleans()):
            case["order"] = (
                draw(st.sampled_from(STRING_COLUMNS[table])),
                draw(st.sampled_from(["asc", "desc"])),
            )
    else:
        case["where"] = draw(st.none() | where(table))
        case["group"] = draw(st.none() | st.sampled_from(STRING_COLUMNS[table]))
        case["sum"] = table == "assets" and draw(st.booleans())
    return case


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _fields(table: str, sel: dict[str, Any]) -> str:
    parts = list(sel["columns"])
    for name, sub in sel["nested"].items():
        parts.append(f"{name} {{ {_fields(RELATIONS[table][name][0], sub)} }}")
    return " ".join(parts)


def render(case: dict[str, Any]) -> str:
    table = case["table"]
    args = []
    if case.get("where") is not None:
        args.append(f"where: {_literal(case['where'])}")
    if case.get("order"):
        args.append(f"order_by: {{{case['order'][0]}: {case['order'][1]}}}")
    arg_text = f"({', '.join(args)})" if args else ""
    if case["kind"] == "by_pk":
        return f'{{ {table}_by_pk(id: "{case["id"]}") {{ {_fields(table, case["select"])} }} }}'
    if case["kind"] == "list":
        return f"{{ {table}{arg_text} {{ {_fields(table, case['select'])} }} }}"
    inner = "aggregate { count" + (" sum { cost }" if case["sum"] else "") + " }"
    if case["group"]:
        inner += f" group_by(fields: [{case['group']}]) {{ keys count }}"
    return f"{{ {table}_aggregate{arg_text} {{ {inner} }} }}"


# ----------------------------------------------------------------------------- the model


def _visible(rules: dict[str, Any], table: str) -> dict[str, Row]:
    if table not in rules["tables"]:
        return {}
    predicate = rules["tables"][table][1]
    return {k: r for k, r in SEED[table].items() if predicate(r)}


def _related(rules: dict[str, Any], table: str, row: Row, name: str) -> list[Row]:
    target, local, remote, _ = RELATIONS[table][name]
    return [r for r in _visible(rules, target).values() if row[local] is not None and r[remote] == row[local]]


def _attributes(rules: dict[str, Any], row: Row) -> Any:
    """The seed's attributes of an asset as the role may read them."""
    value = json.loads(row["attributes"]) if isinstance(row["attributes"], str) else row["attributes"]
    keys = rules.get("keys")
    if value is None or keys is None:
        return value
    return {k: v for k, v in value.items() if k in keys}


def _matches(rules: dict[str, Any], table: str, row: Row, exp: dict[str, Any]) -> bool:
    for key, value in exp.items():
        if key == "_or":
            if not any(_matches(rules, table, row, e) for e in value):
                return False
        elif key in RELATIONS[table]:
            if not any(
                _matches(rules, RELATIONS[table][key][0], r, value) for r in _related(rules, table, row, key)
            ):
                return False
        elif "_has_key" in value:
            if value["_has_key"] not in (_attributes(rules, row) or {}):
                return False
        elif "_eq" in value:
            if row[key] is None or row[key] != value["_eq"]:
                return False
        elif (row[key] is None) != value["_is_null"]:
            return False
    return True


def _hidden_names(rules: dict[str, Any], case: dict[str, Any]) -> set[str]:
    """Everything the query names that the role may not read (empty: it must be answered)."""
    out: set[str] = set()
    tables = rules["tables"]

    def need(table: str, name: str | None = None) -> None:
        if table not in tables:
            out.add(table)
        elif name is not None and name not in tables[table][0]:
            out.add(name)

    def walk_select(table: str, sel: dict[str, Any]) -> None:
        need(table)
        for column in sel["columns"]:
            need(table, column)
        for name, sub in sel["nested"].items():
            need(table, name)
            walk_select(RELATIONS[table][name][0], sub)

    def walk_where(table: str, exp: dict[str, Any]) -> None:
        for key, value in exp.items():
            if key == "_or":
                for item in value:
                    walk_where(table, item)
            elif key in RELATIONS[table]:
                need(table, key)
                need(RELATIONS[table][key][0])
                walk_where(RELATIONS[table][key][0], value)
            else:
                need(table, key)
                keys = rules.get("keys")
                if "_has_key" in value and keys is not None and value["_has_key"] not in keys:
                    out.add(f"attributes.{value['_has_key']}")

    table = case["table"]
    need(table)
    if "select" in case:
        walk_select(table, case["select"])
    if case.get("where"):
        walk_where(table, case["where"])
    if case.get("order"):
        need(table, case["order"][0])
    if case["kind"] == "aggregate":
        if table in tables and table not in rules["aggregate"]:
            out.add(f"aggregations over `{table}`")
        elif (case["group"] or case["sum"]) and table in rules.get("count_only", ()):
            out.add(f"only counts over `{table}`")
        if case["group"]:
            need(table, case["group"])
        if case["sum"]:
            need(table, "cost")
    return out


def _same(got: Any, seed: Any) -> bool:
    if isinstance(seed, float | Decimal) and got is not None:
        return float(got) == float(seed)
    return got == seed


def check_object(rules: dict[str, Any], table: str, obj: Row, sel: dict[str, Any], where_: str) -> None:
    visible = _visible(rules, table)
    assert obj["id"] in visible, f"{where_}: row {obj['id']} of {table} is not visible to the role"
    readable = rules["tables"][table][0]
    row = visible[obj["id"]]
    for key, value in obj.items():
        assert key in readable, f"{where_}: field {key} of {table} is not readable"
        if key in STRING_COLUMNS[table] or key == "cost":
            assert _same(value, row[key]), f"{where_}: {table}.{key} = {value!r}, seed has {row[key]!r}"
        if key == "attributes":
            expected = _attributes(rules, row)
            assert value == expected, f"{where_}: attributes = {value!r}, the role may read {expected!r}"
    for name, sub in sel["nested"].items():
        target, _, _, to_one = RELATIONS[table][name]
        expected = _related(rules, table, row, name)
        if to_one:
            if not expected:
                assert obj[name] is None, f"{where_}.{name}: an invisible row came back"
            else:
                assert obj[name] is not None
                assert obj[name]["id"] == expected[0]["id"]
                check_object(rules, target, obj[name], sub, f"{where_}.{name}")
        else:
            assert {c["id"] for c in obj[name]} == {r["id"] for r in expected}, f"{where_}.{name}"
            for child in obj[name]:
                check_object(rules, target, child, sub, f"{where_}.{name}")


def check(case: dict[str, Any], status: int, body: dict[str, Any]) -> None:
    rules = spec(case["role"], case["actor"])
    hidden = _hidden_names(rules, case)
    assert status == 200, body
    if hidden:
        assert body.get("data") is None, (hidden, body)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN", body
        assert any(f"`{name}`" in error["message"] or name in error["message"] for name in hidden), (
            hidden,
            body,
        )
        return
    assert "errors" not in body, body
    data = body["data"]
    table = case["table"]
    visible = _visible(rules, table)
    matching = [
        r for r in visible.values() if not case.get("where") or _matches(rules, table, r, case["where"])
    ]
    if case["kind"] == "by_pk":
        obj = data[f"{table}_by_pk"]
        if case["id"] not in visible:
            assert obj is None, f"by_pk returned an invisible {table} row"
        else:
            check_object(rules, table, obj, case["select"], f"{table}_by_pk")
    elif case["kind"] == "list":
        rows = data[table]
        assert {r["id"] for r in rows} == {r["id"] for r in matching}, (
            "the list differs from the visible rows"
        )
        for obj in rows:
            check_object(rules, table, obj, case["select"], table)
        if case.get("order"):
            column, direction = case["order"]
            values = [SEED[table][r["id"]][column] for r in rows]
            keys = [v for v in values if v is not None]
            assert keys == sorted(keys, reverse=direction == "desc")
    else:
        agg = data[f"{table}_aggregate"]
        assert agg["aggregate"]["count"] == len(matching)
        if case["sum"]:
            costs = [float(r["cost"]) for r in matching if r["cost"] is not None]
            assert (agg["aggregate"]["sum"]["cost"] or 0) == pytest.approx(sum(costs))
        if case["group"]:
            counts: dict[Any, int] = {}
            for r in matching:
                counts[r[case["group"]]] = counts.get(r[case["group"]], 0) + 1
            got = {g["keys"][case["group"]]: g["count"] for g in agg["group_by"]}
            assert got == counts


# ----------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def tokens() -> dict[tuple[str, str | None], str]:
    return {(role, actor.get("email")): token(role, email=actor.get("email")) for role, actor in ACTORS}


@pytest.fixture(scope="module")
def pool() -> Any:
    with ThreadPoolExecutor(4) as executor:
        yield executor


@pytest.mark.timeout(900)  # ~80 s on 2 idle cores; several times that on a loaded machine
def test_no_value_outside_the_roles_columns_and_rows(
    gateway: Gateway, tokens: dict[Any, str], pool: Any
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )
    @given(st.lists(query_case(), min_size=BATCH, max_size=BATCH))
    def run(cases: list[dict[str, Any]]) -> None:
        def send(case: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            headers = {}
            if case["role"] != "anonymous":
                headers["authorization"] = f"Bearer {tokens[(case['role'], case['actor'].get('email'))]}"
            response = gateway.post(render(case), headers=headers)
            return response.status_code, response.json()

        answers = list(pool.map(send, cases))
        for case, (status, body) in zip(cases, answers, strict=True):
            try:
                check(case, status, body)
            except AssertionError as exc:
                raise AssertionError(f"{case['role']} {case['actor']}: {render(case)}\n{exc}") from exc
            with _LOCK:
                SENT["queries"] += 1
                SENT["forbidden"] += "errors" in body

    run()
    assert SENT["queries"] >= (5000 if FULL else BATCH * EXAMPLES), SENT
    if FULL:  # the generator must exercise both sides: answers and refusals
        assert 0.1 < SENT["forbidden"] / SENT["queries"] < 0.9, SENT


# ----------------------------------------------------------------------------- keys of attributes


@st.composite
def attributes_case(draw: st.DrawFn) -> dict[str, Any]:
    """A query about `attributes` (selected, filtered by `_has_key`) by roles that read it whole,
    key by key, or not at all: the general generator above rarely gets there."""
    role = draw(st.sampled_from(["service_desk", "network_team", "it_leader", "finance"]))
    case: dict[str, Any] = {"role": role, "actor": {}, "table": "assets"}
    select = {"columns": ["id", "asset_tag", "attributes"], "nested": {}}
    if draw(st.booleans()):
        case.update(kind="by_pk", id=draw(st.sampled_from(sorted(ASSETS))), select=select)
    else:
        keys = draw(st.lists(st.sampled_from(KEYS), max_size=2))
        where_: dict[str, Any] | None = None
        if keys:
            where_ = {"_or": [{"attributes": {"_has_key": k}} for k in keys]}
        case.update(kind="list", select=select, where=where_)
    return case


def test_keys_of_attributes_never_leak(gateway: Gateway, tokens: dict[Any, str]) -> None:
    seen = {"answered": 0, "forbidden": 0}

    @settings(max_examples=300 if FULL else EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(attributes_case())
    def run(case: dict[str, Any]) -> None:
        headers = {"authorization": f"Bearer {tokens[(case['role'], None)]}"}
        response = gateway.post(render(case), headers=headers)
        body = response.json()
        try:
            check(case, response.status_code, body)
        except AssertionError as exc:
            raise AssertionError(f"{case['role']}: {render(case)}\n{exc}") from exc
        seen["forbidden" if "errors" in body else "answered"] += 1

    run()
    if FULL:
        assert seen["answered"] > 50, seen
        assert seen["forbidden"] > 50, seen
