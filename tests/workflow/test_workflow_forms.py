"""A request form as JSON Schema: a valid draft 2020-12 schema (checked by the validator's
own meta-schema), whose conditions (`show_if`, `required_if`, on answers and on the item)
accept and refuse answers both ways; and the `forms:` section refused with the path of a
bad key."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from federation.config.forms import FormConfig
from federation.config.problems import ConfigError
from federation.config.settings import parse_config
from federation.workflow.forms import Item, answer_errors, approvals, json_schema, pick_form, with_defaults

LAPTOP: dict[str, Any] = {
    "title": "Request a laptop",
    "applies_to": {"category": "laptop"},
    "fields": {
        "purpose": {"type": "text", "label": "What it is for", "required": True, "min": 5},
        "delivery": {
            "type": "string",
            "label": "Delivery",
            "choices": [
                {"value": "pickup", "label": "Pick up at the desk"},
                {"value": "ship", "label": "Ship it"},
            ],
            "default": "pickup",
            "required": True,
        },
        "shipping_address": {
            "type": "text",
            "label": "Shipping address",
            "show_if": {"delivery": "ship"},
            "required_if": {"delivery": "ship"},
        },
        "justification": {
            "type": "text",
            "label": "Justification",
            "required_if": {"item.cost": {"_gt": 2000}},
        },
        "monitors": {"type": "integer", "label": "Extra monitors", "min": 0, "max": 2},
        "needed_by": {"type": "date", "label": "Needed by"},
        "keyboard": {"type": "string", "label": "Keyboard", "pattern": "^[A-Z]{2}$"},
    },
    "approvals": [
        {"approver": "manager", "when": {"item.cost": {"_gt": 2000}}},
        {"approver": {"role": "it_leader"}, "when": {"monitors": {"_gte": 2}}},
    ],
    "fulfil": {"role": "service_desk"},
}
FORM = FormConfig.model_validate(LAPTOP)
CHEAP = Item({"category": "laptop"}, {"category": "laptop", "cost": 900})
DEAR = Item({"category": "laptop"}, {"category": "laptop", "cost": 2400})


def _errors(item: Item, answers: dict[str, Any]) -> dict[str, str]:
    schema = json_schema("laptop", FORM, item)
    return {
        e["field"]: e["message"]
        for e in answer_errors(FORM, item, schema, with_defaults(FORM, item, answers))
    }


def _raw_valid(item: Item, answers: dict[str, Any]) -> bool:
    """The schema alone, as another client would use it (no defaults filled in)."""
    return Draft202012Validator(json_schema("laptop", FORM, item)).is_valid(answers)


@pytest.mark.parametrize("item", [CHEAP, DEAR], ids=["cheap", "dear"])
def test_the_schema_is_valid_draft_2020_12(item: Item) -> None:
    schema = json_schema("laptop", FORM, item)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["unevaluatedProperties"] is False
    # the conditional field is defined only under its condition, as form renderers expect
    assert "shipping_address" not in schema["properties"]
    branches = [c for c in schema["allOf"] if "shipping_address" in c["then"].get("properties", {})]
    assert branches[0]["if"] == {"properties": {"delivery": {"const": "ship"}}, "required": ["delivery"]}


def test_each_rendering_has_its_own_id() -> None:
    """The form for a dearer item asks more: a validator that keeps compiled schemas by `$id`
    (ajv) must not take one for the other; the same rendering keeps its id."""
    cheap, dear = json_schema("laptop", FORM, CHEAP), json_schema("laptop", FORM, DEAR)
    assert cheap["$id"] != dear["$id"]
    assert cheap["$id"] == json_schema("laptop", FORM, CHEAP)["$id"]
    assert cheap["$id"].startswith("urn:assetgraph:form:laptop:")


def test_a_broken_schema_is_caught_by_the_meta_schema() -> None:
    """check_schema can fail: the property that proves the test above means something."""
    schema = json_schema("laptop", FORM, CHEAP)
    schema["properties"]["monitors"]["minimum"] = "zero"
    with pytest.raises(Exception, match="is not of type 'number'"):
        Draft202012Validator.check_schema(schema)


def test_shipping_address_is_required_only_when_shipping() -> None:
    assert _errors(CHEAP, {"purpose": "daily work"}) == {}
    assert _raw_valid(CHEAP, {"purpose": "daily work", "delivery": "pickup"})
    assert set(_errors(CHEAP, {"purpose": "daily work", "delivery": "ship"})) == {"shipping_address"}
    assert not _raw_valid(CHEAP, {"purpose": "daily work", "delivery": "ship"})
    assert (
        _errors(CHEAP, {"purpose": "daily work", "delivery": "ship", "shipping_address": "1 Main St"}) == {}
    )
    # not shown when picking up: an answer to it is refused, not silently kept
    given = _errors(CHEAP, {"purpose": "daily work", "delivery": "pickup", "shipping_address": "1 Main St"})
    assert list(given) == ["shipping_address"]
    assert "not asked" in given["shipping_address"]


def test_justification_is_required_over_the_cost_threshold_only() -> None:
    answers = {"purpose": "daily work"}
    assert _errors(CHEAP, answers) == {}
    assert _errors(DEAR, answers) == {"justification": "Justification: required"}
    assert _raw_valid(CHEAP, {**answers, "delivery": "pickup"})
    assert not _raw_valid(DEAR, {**answers, "delivery": "pickup"})
    assert _errors(DEAR, {**answers, "justification": "travels to clients weekly"}) == {}
    # the item's cost is decided on the server: it never appears in the schema
    assert "2000" not in str(json_schema("laptop", FORM, DEAR))


@pytest.mark.parametrize(
    ("answers", "field", "fragment"),
    [
        pytest.param({}, "purpose", "required", id="missing"),
        pytest.param({"purpose": "pc"}, "purpose", "too short", id="min-length"),
        pytest.param({"purpose": "daily work", "monitors": 3}, "monitors", "maximum of 2", id="maximum"),
        pytest.param(
            {"purpose": "daily work", "monitors": "two"}, "monitors", "not of type 'integer'", id="type"
        ),
        pytest.param({"purpose": "daily work", "delivery": "drone"}, "delivery", "is not valid", id="choice"),
        pytest.param(
            {"purpose": "daily work", "needed_by": "tomorrow"}, "needed_by", "is not a 'date'", id="date"
        ),
        pytest.param(
            {"purpose": "daily work", "keyboard": "german"}, "keyboard", "does not match", id="pattern"
        ),
        pytest.param({"purpose": "daily work", "colour": "red"}, "colour", "not a field", id="unknown"),
    ],
)
def test_per_field_errors(answers: dict[str, Any], field: str, fragment: str) -> None:
    errors = _errors(CHEAP, answers)
    assert list(errors) == [field], errors
    assert fragment in errors[field]


def test_approval_steps_follow_the_thresholds() -> None:
    assert approvals(FORM, CHEAP, {"monitors": 0}) == []
    assert approvals(FORM, DEAR, {"monitors": 0}) == [{"approver": "manager"}]
    assert approvals(FORM, DEAR, {"monitors": 2}) == [{"approver": "manager"}, {"role": "it_leader"}]


def test_the_most_specific_form_is_picked() -> None:
    model = FormConfig.model_validate(
        {"title": "MacBook", "applies_to": {"category": "laptop", "model": "MBP 14"}}
    )
    forms = {"laptop": FORM, "mbp": model}
    assert pick_form(forms, Item({}, {"category": "Laptop", "model": "mbp 14"}))[0] == "mbp"  # type: ignore[index]
    assert pick_form(forms, Item({}, {"category": "laptop", "model": "XPS"}))[0] == "laptop"  # type: ignore[index]
    assert pick_form(forms, Item({}, {"category": "phone"})) is None


def _config_problems(forms: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config({"roles": {"it_leader": {}, "service_desk": {}}, "forms": forms})
    return info.value.problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"fields": {"x": {"type": "colour", "label": "X"}}}, "forms.laptop.fields.x.type", id="bad-type"
        ),
        pytest.param({"fields": {"x": {"type": "string"}}}, "forms.laptop.fields.x.label", id="no-label"),
        pytest.param(
            {"fields": {"x": {"label": "X", "show_if": {"nope": 1}}}},
            "forms.laptop.fields.x.show_if.nope: unknown field",
            id="unknown-answer",
        ),
        pytest.param(
            {"fields": {"x": {"label": "X", "required_if": {"item.price": {"_gt": 1}}}}},
            "forms.laptop.fields.x.required_if.item.price: unknown item fact",
            id="unknown-fact",
        ),
        pytest.param(
            {"fields": {"x": {"label": "X", "required_if": {"item.cost": {"_over": 1}}}}},
            "forms.laptop.fields.x.required_if",
            id="unknown-operator",
        ),
        pytest.param(
            {"fields": {"x": {"label": "X", "pattern": "(["}}}, "forms.laptop.fields.x.pattern", id="regex"
        ),
        # Python reads these; a browser's validator (ECMA-262) cannot
        pytest.param(
            {"fields": {"x": {"label": "X", "pattern": r"^(?P<area>\d{3})$"}}},
            "forms.laptop.fields.x.pattern: not an ECMA-262 regular expression",
            id="python-named-group",
        ),
        pytest.param(
            {"fields": {"x": {"label": "X", "pattern": r"^[A-Z]{2}\Z"}}},
            "forms.laptop.fields.x.pattern: not an ECMA-262 regular expression",
            id="python-end-of-text",
        ),
        pytest.param(
            {"fields": {"x": {"label": "X", "choices": ["a"], "default": "b"}}},
            "forms.laptop.fields.x.default: 'b' is not one of the choices",
            id="default",
        ),
        pytest.param(
            {"approvals": [{"approver": {"role": "boss"}}]},
            "forms.laptop.approvals[0].approver.role: unknown role 'boss'",
            id="role",
        ),
        pytest.param(
            {"applies_to": {"category": "spaceship"}},
            "forms.laptop.applies_to.category: 'spaceship' is not a category",
            id="category",
        ),
        pytest.param({"fulfil": {"role": "nobody"}}, "forms.laptop.fulfil.role: unknown role", id="fulfil"),
    ],
)
def test_a_bad_form_is_refused_with_its_path(change: dict[str, Any], expected: str) -> None:
    problems = _config_problems({"laptop": {**LAPTOP, **change}})
    assert any(p.startswith(expected) for p in problems), problems


def test_the_demo_form_is_valid() -> None:
    assert _config_problems({"laptop": {**LAPTOP, "fields": {"x": {"type": "colour", "label": "X"}}}})
    config = parse_config({"roles": {"it_leader": {}, "service_desk": {}}, "forms": {"laptop": LAPTOP}})
    assert list(config.settings.forms) == ["laptop"]
