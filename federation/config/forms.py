"""The `forms:` section of config.yaml: request forms per category or per catalog entry, and
the steps a request takes (who approves, above which thresholds, who fulfils).

    forms:
      laptop:
        title: Request a laptop
        applies_to: {category: laptop}            # or {category: laptop, model: "MacBook Pro 14"}
        fields:
          delivery: {type: string, label: Delivery, choices: [pickup, ship], default: pickup, required: true}
          shipping_address: {type: text, label: Shipping address, show_if: {delivery: ship},
                             required_if: {delivery: ship}}
          justification: {type: text, label: Why, min: 20, required_if: {item.cost: {_gt: 2000}}}
        approvals:
          - {approver: manager, when: {item.cost: {_gt: 2000}}}   # the requester's people.manager
          - {approver: {role: it_leader}, when: {item.cost: {_gt: 5000}}}
        fulfil: {role: service_desk}

A condition maps an answer (`delivery`) or a fact of the item (`item.cost`, `item.category`,
`item.manufacturer`, `item.model`, `item.status`) to a value (equality) or to operators
(`_eq _neq _in _nin _gt _gte _lt _lte`); several entries must all hold. Validated once at
load like the rest of the config, each problem with its path (`forms.laptop.fields.x.show_if`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import regress
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FIELD_TYPES = ("string", "text", "integer", "number", "boolean", "date", "email")
#: the facts of an item a condition may read (`item.<name>`)
ITEM_FACTS = ("category", "manufacturer", "model", "cost", "status")
OPERATORS = ("_eq", "_neq", "_in", "_nin", "_gt", "_gte", "_lt", "_lte")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def condition_problems(condition: dict[str, Any]) -> list[str]:
    """Problems of a condition's own shape (its keys are checked against the form later)."""
    problems = []
    for key, test in condition.items():
        if isinstance(test, dict):
            for op, value in test.items():
                if op not in OPERATORS:
                    problems.append(f"{key}.{op}: unknown operator; expected one of {', '.join(OPERATORS)}")
                elif op in ("_in", "_nin") and not isinstance(value, list):
                    problems.append(f"{key}.{op}: expected a list of values")
                elif op in ("_gt", "_gte", "_lt", "_lte") and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    problems.append(f"{key}.{op}: expected a number")
        elif isinstance(test, list):
            problems.append(f"{key}: a list; write {{_in: [...]}} to match one of several values")
    return problems


class Choice(_Strict):
    value: Scalar
    label: str


class FieldConfig(_Strict):
    type: Literal["string", "text", "integer", "number", "boolean", "date", "email"] = "string"
    label: str
    description: str | None = None
    required: bool = False
    #: the allowed values: plain values, or {value, label}
    choices: list[Scalar | Choice] | None = None
    #: numbers: the smallest and largest value; text: the shortest and longest length
    min: float | None = None
    max: float | None = None
    #: text: an ECMA-262 regular expression (as JSON Schema and browsers read it) the answer
    #: must match somewhere: anchor it with ^…$ to match the whole answer
    pattern: str | None = None
    default: Any = None
    #: the field is asked (and accepted) only when this holds
    show_if: dict[str, Any] | None = None
    #: the field must be answered when this holds
    required_if: dict[str, Any] | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                regress.Regex(value, "u")
            except regress.RegressError as exc:
                raise ValueError(
                    f"not an ECMA-262 regular expression, as JSON Schema's `pattern` is: {exc}"
                ) from None
        return value

    @field_validator("show_if", "required_if")
    @classmethod
    def _condition(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problems = condition_problems(value or {})
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _bounds(self) -> FieldConfig:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is larger than max ({self.max:g})")
        if self.type in ("boolean", "date") and (self.min is not None or self.max is not None):
            raise ValueError(f"a {self.type} field takes no min or max")
        if self.pattern is not None and self.type in ("integer", "number", "boolean"):
            raise ValueError(f"a {self.type} field takes no pattern")
        return self


class RoleRef(_Strict):
    role: str


class ApprovalStep(_Strict):
    #: `manager` (the requester's people.manager) or {role: <role>}
    approver: Literal["manager"] | RoleRef
    #: the step applies only when this holds (a threshold: {item.cost: {_gt: 2000}})
    when: dict[str, Any] | None = None

    @field_validator("when")
    @classmethod
    def _condition(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problems = condition_problems(value or {})
        if problems:
            raise ValueError("; ".join(problems))
        return value


class FulfilConfig(_Strict):
    #: the role whose members fulfil an approved request (they need the `fulfil` action)
    role: str


class AppliesTo(_Strict):
    category: str | None = None
    manufacturer: str | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _something(self) -> AppliesTo:
        if not self.given():
            raise ValueError("name a category, a manufacturer or a model")
        return self

    def given(self) -> dict[str, str]:
        return {k: v for k, v in (("category", self.category), ("manufacturer", self.manufacturer),
                                  ("model", self.model)) if v is not None}  # fmt: skip


class FormConfig(_Strict):
    title: str
    description: str = ""
    applies_to: AppliesTo
    fields: dict[str, FieldConfig] = Field(default_factory=dict)
    #: approval steps in order; none: a request is approved when submitted
    approvals: list[ApprovalStep] = Field(default_factory=list)
    fulfil: FulfilConfig | None = None
    #: false: no ServiceNow ticket for this form's requests (config `tickets:`); none: as
    #: `tickets.open_for` says
    ticket: bool | None = None

    @field_validator("fields")
    @classmethod
    def _names(cls, fields: dict[str, FieldConfig]) -> dict[str, FieldConfig]:
        for name in fields:
            if not _NAME.match(name) or name == "item":
                raise ValueError(f"{name!r}: a field name is lower case letters, digits and _ (not `item`)")
        return fields


def _key_problems(condition: dict[str, Any] | None, fields: dict[str, FieldConfig], where: str) -> list[str]:
    problems = []
    for key in condition or {}:
        if key.startswith("item."):
            if key.removeprefix("item.") not in ITEM_FACTS:
                problems.append(
                    f"{where}.{key}: unknown item fact; expected one of "
                    + ", ".join(f"item.{f}" for f in ITEM_FACTS)
                )
        elif key not in fields:
            known = ", ".join(list(fields) + [f"item.{f}" for f in ITEM_FACTS])
            problems.append(f"{where}.{key}: unknown field; expected one of {known}")
    return problems


def _value_problems(field: FieldConfig, value: Any, where: str) -> list[str]:
    numeric = field.type in ("integer", "number")
    if field.type == "boolean" and not isinstance(value, bool):
        return [f"{where}: expected true or false"]
    if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
        return [f"{where}: expected a number"]
    if field.type == "integer" and isinstance(value, float) and not value.is_integer():
        return [f"{where}: expected a whole number"]
    if field.type not in ("boolean", "integer", "number") and not isinstance(value, str):
        return [f"{where}: expected text"]
    return []


def form_checks(forms: dict[str, FormConfig], roles: list[str] | None, categories: list[str]) -> list[str]:
    """Problems across a form and the rest of the config, each with its path."""
    problems: list[str] = []
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    for name, form in forms.items():
        base = f"forms.{name}"
        target = tuple(sorted(form.applies_to.given().items()))
        if target in seen:
            problems.append(f"{base}.applies_to: the same as forms.{seen[target]}.applies_to")
        seen.setdefault(target, name)
        category = form.applies_to.category
        if category is not None and category not in categories:
            problems.append(
                f"{base}.applies_to.category: {category!r} is not a category; expected one of "
                + ", ".join(categories)
            )
        for field_name, field in form.fields.items():
            where = f"{base}.fields.{field_name}"
            problems += _key_problems(field.show_if, form.fields, f"{where}.show_if")
            problems += _key_problems(field.required_if, form.fields, f"{where}.required_if")
            for key in list(field.show_if or {}) + list(field.required_if or {}):
                if key == field_name:
                    problems.append(f"{where}: a condition on the field itself ({key})")
            values = [c.value if isinstance(c, Choice) else c for c in field.choices or []]
            for i, value in enumerate(values):
                problems += _value_problems(field, value, f"{where}.choices[{i}]")
            if field.default is not None:
                problems += _value_problems(field, field.default, f"{where}.default")
                if values and field.default not in values:
                    problems.append(f"{where}.default: {field.default!r} is not one of the choices")
        for i, step in enumerate(form.approvals):
            problems += _key_problems(step.when, form.fields, f"{base}.approvals[{i}].when")
            if isinstance(step.approver, RoleRef) and roles is not None and step.approver.role not in roles:
                problems.append(
                    f"{base}.approvals[{i}].approver.role: unknown role {step.approver.role!r}; "
                    f"expected one of {', '.join(roles)}"
                )
        if form.fulfil is not None and roles is not None and form.fulfil.role not in roles:
            problems.append(
                f"{base}.fulfil.role: unknown role {form.fulfil.role!r}; expected one of {', '.join(roles)}"
            )
    return problems
