"""A request form as JSON Schema (draft 2020-12) plus a UI hint block, and the answers
checked against that same schema by a maintained validator (`jsonschema`).

The form is rendered for one item: conditions on the item (`item.cost > 2000`) are decided
here, so the schema a client gets holds only conditions on answers, as `if`/`then`:

- `required_if` → `{"if": <condition>, "then": {"required": [field]}}`;
- `show_if` → the field is defined only in the `then` of its condition (react-jsonschema-form
  and JSON Forms show it only then), and `unevaluatedProperties: false` refuses an answer
  to a field that is not shown.

A condition on an answer holds only when the answer is given (`{"required": [..]}` in the `if`).
Defaults of the fields shown are filled in before the answers are checked.

The answers are checked as a browser's form renderer checks them (react-jsonschema-form's
validator is ajv with ajv-formats; tests/clients cross-checks the two): `pattern` is an
ECMA-262 regular expression with the `u` flag (the `regress` engine: `$` is the end of the
text and `\\d` is [0-9], where Python's `re` differ), and `email` is ajv-formats' rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import regress
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from federation.config.forms import Choice, FieldConfig, FormConfig

DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: ajv-formats' `email` (its default, full mode), as ECMA-262 with the `i` flag
EMAIL = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
)
_JSON_OPS = {"_gt": "exclusiveMinimum", "_gte": "minimum", "_lt": "exclusiveMaximum", "_lte": "maximum"}


@dataclass(frozen=True)
class Item:
    """What is requested: an asset, or a catalog entry (category / manufacturer / model), and
    the facts conditions read (`cost` may be known to the gateway but not to the requester)."""

    descriptor: dict[str, Any]
    facts: dict[str, Any]


def pick_form(forms: Mapping[str, FormConfig], item: Item) -> tuple[str, FormConfig] | None:
    """The most specific form whose `applies_to` the item matches (case-insensitive)."""
    best: tuple[int, str, FormConfig] | None = None
    for name, form in forms.items():
        given = form.applies_to.given()
        matches = all(_same(item.facts.get(k), v) for k, v in given.items())
        if matches and (best is None or len(given) > best[0]):
            best = (len(given), name, form)
    return (best[1], best[2]) if best else None


def _same(a: Any, b: Any) -> bool:
    return a is not None and str(a).strip().lower() == str(b).strip().lower()


# ----------------------------------------------------------------------------- conditions


def _one(value: Any, op: str, expected: Any) -> bool:
    if op == "_eq":
        return bool(value == expected)
    if op == "_neq":
        return bool(value != expected)
    if op == "_in":
        return value in expected
    if op == "_nin":
        return value not in expected
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        number = float(value)
    except ValueError:
        return False
    return {"_gt": number > expected, "_gte": number >= expected, "_lt": number < expected,
            "_lte": number <= expected}[op]  # fmt: skip


def _test(value: Any, test: Any) -> bool:
    """A missing value (None) satisfies no test."""
    ops = test if isinstance(test, dict) else {"_eq": test}
    return value is not None and all(_one(value, op, expected) for op, expected in ops.items())


def holds(condition: Mapping[str, Any] | None, answers: Mapping[str, Any], item: Item) -> bool:
    """Whether every entry of the condition holds for these answers and this item."""
    for key, test in (condition or {}).items():
        value = item.facts.get(key.removeprefix("item.")) if key.startswith("item.") else answers.get(key)
        if not _test(value, test):
            return False
    return True


def _split(condition: Mapping[str, Any] | None, item: Item) -> tuple[bool, dict[str, Any]]:
    """(whether its item part holds, its answer part)."""
    on_item = {k: v for k, v in (condition or {}).items() if k.startswith("item.")}
    return holds(on_item, {}, item), {k: v for k, v in (condition or {}).items() if not k.startswith("item.")}


def _json_condition(condition: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, test in condition.items():
        ops = test if isinstance(test, dict) else {"_eq": test}
        parts: list[dict[str, Any]] = []
        for op, value in ops.items():
            if op == "_eq":
                parts.append({"const": value})
            elif op == "_neq":
                parts.append({"not": {"const": value}})
            elif op == "_in":
                parts.append({"enum": list(value)})
            elif op == "_nin":
                parts.append({"not": {"enum": list(value)}})
            else:
                parts.append({"type": "number", _JSON_OPS[op]: value})
        properties[key] = parts[0] if len(parts) == 1 else {"allOf": parts}
    return {"properties": properties, "required": sorted(condition)}


# ----------------------------------------------------------------------------- rendering


def _field_schema(field: FieldConfig) -> dict[str, Any]:
    kind = {"text": "string", "date": "string", "email": "string"}.get(field.type, field.type)
    out: dict[str, Any] = {"type": kind, "title": field.label}
    if field.description:
        out["description"] = field.description
    if field.type == "date":
        out["format"] = "date"
    if field.type == "email":
        out["format"] = "email"
    if field.choices:
        if any(isinstance(c, Choice) for c in field.choices):
            out["oneOf"] = [
                {"const": c.value, "title": c.label}
                if isinstance(c, Choice)
                else {"const": c, "title": str(c)}
                for c in field.choices
            ]
        else:
            out["enum"] = list(field.choices)  # type: ignore[arg-type]
    numeric = field.type in ("integer", "number")
    if field.min is not None:
        out["minimum" if numeric else "minLength"] = field.min if numeric else int(field.min)
    if field.max is not None:
        out["maximum" if numeric else "maxLength"] = field.max if numeric else int(field.max)
    if field.pattern is not None:
        out["pattern"] = field.pattern
    if field.default is not None:
        out["default"] = field.default
    return out


def shown(form: FormConfig, item: Item) -> dict[str, FieldConfig]:
    """The fields that may be shown for this item (those whose `show_if` on the item holds)."""
    return {name: f for name, f in form.fields.items() if _split(f.show_if, item)[0]}


def json_schema(name: str, form: FormConfig, item: Item) -> dict[str, Any]:
    """The form for `item` as a JSON Schema (draft 2020-12)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    conditionals: list[dict[str, Any]] = []
    for field_name, field in shown(form, item).items():
        _, show_on = _split(field.show_if, item)
        required_on_item, required_on = _split(field.required_if, item)
        always = field.required or (field.required_if is not None and required_on_item and not required_on)
        if show_on:
            then: dict[str, Any] = {"properties": {field_name: _field_schema(field)}}
            if always:
                then["required"] = [field_name]
            conditionals.append({"if": _json_condition(show_on), "then": then})
        else:
            properties[field_name] = _field_schema(field)
            if always:
                required.append(field_name)
        if field.required_if is not None and required_on_item and required_on and not field.required:
            conditionals.append({"if": _json_condition(required_on), "then": {"required": [field_name]}})
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": "",
        "title": form.title,
        "type": "object",
        "properties": properties,
        "required": required,
        "unevaluatedProperties": False,
    }
    if form.description:
        schema["description"] = form.description
    if conditionals:
        schema["allOf"] = conditionals
    # one id per rendering: the form for a dearer item asks more, and validators (ajv) keep
    # the schemas they compiled by id
    digest = hashlib.sha256(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    schema["$id"] = f"urn:assetgraph:form:{name}:{digest}"
    return schema


def ui_schema(form: FormConfig, item: Item) -> dict[str, Any]:
    """react-jsonschema-form's uiSchema: field order, text areas, help texts."""
    fields = shown(form, item)
    out: dict[str, Any] = {"ui:order": [*fields, "*"]}
    for name, field in fields.items():
        hints: dict[str, Any] = {}
        if field.type == "text":
            hints["ui:widget"] = "textarea"
        if field.type == "boolean":
            hints["ui:widget"] = "checkbox"
        if field.choices and len(field.choices) <= 4:
            hints["ui:widget"] = "radio"
        if field.description:
            hints["ui:help"] = field.description
        if hints:
            out[name] = hints
    return out


# ----------------------------------------------------------------------------- checking


@lru_cache(maxsize=256)
def ecma_regex(pattern: str, flags: str = "u") -> regress.Regex:
    """An ECMA-262 regular expression, as JSON Schema's `pattern` means one (RegressError if
    it is not one)."""
    return regress.Regex(pattern, flags)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Any:
    if validator.is_type(instance, "string") and ecma_regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FORMATS = FormatChecker(formats=())
FORMATS.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)


@FORMATS.checks("email")
def _email(instance: object) -> bool:
    return not isinstance(instance, str) or ecma_regex(EMAIL, "i").find(instance) is not None


#: Draft 2020-12 with ECMA-262 patterns
FormValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


def with_defaults(form: FormConfig, item: Item, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers, with the default of every field shown but not answered."""
    out = dict(answers)
    for name, field in shown(form, item).items():
        if name not in out and field.default is not None and holds(field.show_if, out, item):
            out[name] = field.default
    return out


def answer_errors(form: FormConfig, item: Item, schema: dict[str, Any], answers: Any) -> list[dict[str, str]]:
    """Per-field problems of `answers` against `schema` ([{field, message}]; [] when valid)."""
    if not isinstance(answers, dict):
        return [{"field": "", "message": "the answers must be a JSON object (field: value)"}]
    validator = FormValidator(schema, format_checker=FORMATS)
    labels = {name: f.label for name, f in form.fields.items()}
    visible = {n for n, f in shown(form, item).items() if holds(f.show_if, answers, item)}
    out: list[dict[str, str]] = []
    for error in sorted(validator.iter_errors(answers), key=lambda e: (list(e.absolute_path), e.message)):
        if error.validator == "required":
            for name in error.validator_value:
                if name not in error.instance:
                    out.append({"field": name, "message": f"{labels.get(name, name)}: required"})
        elif error.validator == "unevaluatedProperties":
            for name in sorted(set(error.instance) - visible):
                reason = "is not asked" if name in form.fields else "is not a field of this form"
                out.append({"field": name, "message": f"{name} {reason} (with these answers)"})
        else:
            name = ".".join(str(p) for p in error.absolute_path)
            out.append({"field": name, "message": f"{labels.get(name, name)}: {error.message}"})
    unique: list[dict[str, str]] = []
    for entry in out:
        if entry not in unique:
            unique.append(entry)
    order = {name: i for i, name in enumerate(form.fields)}
    return sorted(unique, key=lambda e: order.get(e["field"].split(".")[0], len(order)))  # form order


def approvals(form: FormConfig, item: Item, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The approval steps that apply, in order: {"approver": "manager"} or {"role": name}."""
    out = []
    for step in form.approvals:
        if not holds(step.when, answers, item):
            continue
        approver = step.approver
        out.append({"approver": "manager"} if isinstance(approver, str) else {"role": approver.role})
    return out
