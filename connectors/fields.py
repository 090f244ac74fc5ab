"""How a source's columns become a unified field: the `fields:` entries of a mapping.

A field takes its value from exactly one of `column`, `columns`, `coalesce`, `template` or
a constant `value`; `lookup` may then translate it through a small table, and `when` may
restrict it to some rows. Everything here is declarative (no code in config) and checked
at load; the mapping engine (transforms/mapping.py) applies it a column at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: what a condition or a lookup compares: YAML may give numbers or booleans for text
Scalar = str | int | float | bool

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_MAX_PLACEHOLDERS = 32


def scalar_text(value: Any) -> str:
    """A config scalar as the text cells are compared with: `1` and `1.0` → "1",
    `true` → "true" (so `eq: 2024` matches the cell 2024.0 from a spreadsheet)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def match_key(text: str, case_sensitive: bool = False) -> str:
    """The form config words and cell text are compared in: trimmed, and casefolded unless
    case matters."""
    text = text.strip()
    return text if case_sensitive else text.casefold()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: (config key, attribute) of a condition, in the order messages list them
_CONDITION_KEYS = (
    ("column", "column"), ("field", "field"), ("eq", "eq"), ("in", "in_"), ("matches", "matches"),
    ("is_empty", "is_empty"), ("not", "not_"), ("any", "any"), ("all", "all"),
)  # fmt: skip


class Condition(_Strict):
    """A test on one row, for `when:`. Either a subject and one test:

        {column: Category, in: [Laptop, Desktop]}     a source column of the row
        {field: category, eq: laptop}                 a field this stream maps (its
                                                      normalised value), mapped first
        tests: eq: X | in: [X, Y] | matches: REGEX | is_empty: true/false

    or a combination: `{not: COND}`, `{any: [COND, ...]}`, `{all: [COND, ...]}`.
    `eq` and `in` compare trimmed text ignoring case; `matches` searches the trimmed text
    with a regular expression, ignoring case. An empty cell fails `eq`, `in` and `matches`.
    """

    column: str | None = None
    field: str | None = None
    eq: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    matches: str | None = None
    is_empty: bool | None = None
    not_: Condition | None = Field(default=None, alias="not")
    any: list[Condition] | None = Field(default=None, min_length=1)
    all: list[Condition] | None = Field(default=None, min_length=1)

    @field_validator("eq", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        return scalar_text(value) if isinstance(value, int | float) else value

    @field_validator("in_", mode="before")
    @classmethod
    def _scalars(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [scalar_text(v) if isinstance(v, int | float) else v for v in value]
        return value

    @field_validator("matches")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        given = [key for key, attr in _CONDITION_KEYS if getattr(self, attr) is not None]
        subjects = [k for k in given if k in ("column", "field")]
        tests = [k for k in given if k in ("eq", "in", "matches", "is_empty")]
        combinators = [k for k in given if k in ("not", "any", "all")]
        ok = len(combinators) == 1 and not (subjects or tests)
        ok |= not combinators and len(subjects) == 1 and len(tests) == 1
        if not ok:
            raise ValueError(
                "a condition is {column: NAME} or {field: NAME} with one test (eq, in, matches,"
                " is_empty), or one of {not: COND}, {any: [COND, ...]}, {all: [COND, ...]}; got "
                + (", ".join(given) or "nothing")
            )
        return self

    def leaves(self, path: str = "when") -> Iterator[tuple[str, Condition]]:
        """Every test (column or field) inside, with its config path (`when.any[1]`)."""
        if self.not_ is not None:
            yield from self.not_.leaves(f"{path}.not")
        elif self.any is not None or self.all is not None:
            key, parts = ("any", self.any) if self.any is not None else ("all", self.all)
            for i, part in enumerate(parts or []):
                yield from part.leaves(f"{path}.{key}[{i}]")
        else:
            yield path, self


class Lookup(_Strict):
    """A small translation table: source value → output value (null: empty).

    Keys are compared trimmed and, unless `case_sensitive`, ignoring case. A non-empty value
    not in the table becomes `default` when one is given (`default: null` leaves the field
    empty); without a `default` it is a row error naming the value.
    """

    table: dict[str, str | None] = Field(min_length=1)
    default: str | None = None
    case_sensitive: bool = False

    @field_validator("table", mode="before")
    @classmethod
    def _text_keys(cls, table: Any) -> Any:
        if not isinstance(table, dict):
            return table
        return {
            scalar_text(k): (scalar_text(v) if isinstance(v, int | float) else v) for k, v in table.items()
        }

    @field_validator("default", mode="before")
    @classmethod
    def _text_default(cls, value: Any) -> Any:
        return scalar_text(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _distinct_keys(self) -> Lookup:
        seen: dict[str, str] = {}
        for key, target in self.table.items():
            k = match_key(key, self.case_sensitive)
            if k in seen and self.table[seen[k]] != target:
                how = "" if self.case_sensitive else " (keys are compared ignoring case)"
                raise ValueError(
                    f"table: {seen[k]!r} and {key!r} are the same key{how} with different values"
                )
            seen.setdefault(k, key)
        return self

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


def template_parts(template: str) -> tuple[list[str], list[str]]:
    """`"{First Name} {Last Name}"` → (["", " ", ""], ["First Name", "Last Name"]): the text
    around and between the placeholders, and the columns they name. `{{` and `}}` are
    literal braces. ValueError for a lone brace, an empty `{}`, or no placeholder at all."""
    literals, columns = [""], []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        literals[-1] += template[position : match.start()]
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literals[-1] += token[0]
        elif match.group(1) is None:
            raise ValueError(
                f"a lone {token!r} at character {match.start() + 1}; write {token * 2} for a literal brace"
            )
        elif not match.group(1).strip():
            raise ValueError(f"an empty placeholder {{}} at character {match.start() + 1}; name a column")
        else:
            columns.append(match.group(1))
            literals.append("")
    literals[-1] += template[position:]
    if not columns:
        raise ValueError("a template needs at least one {Column Name} placeholder")
    if len(columns) > _MAX_PLACEHOLDERS:
        raise ValueError(f"a template may have at most {_MAX_PLACEHOLDERS} placeholders")
    return literals, columns


class FieldMapping(_Strict):
    """One unified field filled from a source.

    In config.yaml a bare string is shorthand for `{column: <string>}`.
    """

    #: the source column holding the value
    column: str | None = None
    #: several source columns: for `attributes` they become one JSON object keyed by column
    #: name; for other fields the first non-empty one wins (as with `coalesce`)
    columns: list[str] | None = Field(default=None, min_length=1)
    #: the first non-empty of these columns (`[Serial, "Serial Number"]`)
    coalesce: list[str] | None = Field(default=None, min_length=1)
    #: text built from several columns: `"{First Name} {Last Name}"`; empty parts are left
    #: out with the text that joins them; all parts empty → the field is empty
    template: str | None = None
    #: a constant, used when no column is given (e.g. `category: {value: laptop}`)
    value: Any = None
    #: translate the value through a small table before normalising it
    lookup: Lookup | None = None
    #: fill the field only on rows where this holds; elsewhere it stays empty (no error)
    when: Condition | None = None
    #: normaliser name (see transforms.registry); when absent the field's default is used
    transform: str | None = None
    #: dates: a strptime format tried first (`%m/%d/%Y`), or `excel` for serial numbers
    format: str | None = None
    #: dates: read ambiguous `01/02/2024` as 1 February
    day_first: bool = False
    #: money: the currency the amounts are in (default: the base currency)
    currency: str | None = None
    #: money: a column holding each row's currency code
    currency_column: str | None = None
    #: money: the decimal separator (default: guessed per value)
    decimal: Literal[".", ","] | None = None
    #: vocabularies: extra source value → unified value entries for this field only
    values: dict[str, str | None] | None = None
    #: quarantine the row when this field ends up empty (on rows where `when` holds)
    required: bool = False
    #: what a value that fails its normaliser (or its lookup) does to the row: `blank` keeps
    #: the row with this field empty and a data-quality note (`quality`) naming the value
    #: and the reason; `quarantine` holds the whole row back. Default: `quarantine` for the
    #: fields the record is identified by (the entity's identity rules) and for `required`
    #: fields, `blank` for every other field (see `invalid_policy`)
    on_invalid: Literal["quarantine", "blank"] | None = None
    #: source column → the unified fields its value is computed from (a `Depreciation`
    #: column holding cost / 3 is derived from `cost`): `assetgraph validate` warns when a
    #: role may read the one but not the other, since it could work the hidden field out
    derived_from: dict[str, list[str]] | None = None

    @field_validator("derived_from", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, template: str | None) -> str | None:
        if template is not None:
            template_parts(template)
        return template

    @model_validator(mode="after")
    def _one_source_of_value(self) -> FieldMapping:
        keys = ("column", "columns", "coalesce", "template", "value")
        given = [k for k in keys if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give one of column, columns, coalesce, template or value; got {', '.join(given)}"
            )
        if not given:
            raise ValueError(
                "a field mapping needs one of column, columns, coalesce, template or a constant value"
            )
        if self.lookup is not None and self.value is not None:
            raise ValueError("lookup translates a column's values; a constant `value` needs none")
        if self.required and self.on_invalid == "blank":
            raise ValueError(
                "required: true quarantines a row whose field ends up empty, so on_invalid: blank"
                " would quarantine it anyway; drop one of them"
            )
        for column in self.derived_from or {}:
            if column not in self.source_columns:
                raise ValueError(
                    f"derived_from.{column}: not a column of this mapping; expected one of "
                    + (", ".join(self.source_columns) or "(none)")
                )
        return self

    @property
    def value_columns(self) -> list[str]:
        """The source columns the value is read from."""
        if self.column is not None:
            return [self.column]
        if self.template is not None:
            return list(dict.fromkeys(template_parts(self.template)[1]))
        return list(self.columns or self.coalesce or [])

    @property
    def condition_columns(self) -> list[str]:
        """The source columns `when` reads."""
        if self.when is None:
            return []
        return list(dict.fromkeys(c.column for _, c in self.when.leaves() if c.column is not None))

    @property
    def condition_fields(self) -> list[str]:
        """The unified fields `when` reads (mapped before this one)."""
        if self.when is None:
            return []
        return list(dict.fromkeys(c.field for _, c in self.when.leaves() if c.field is not None))

    @property
    def source_columns(self) -> list[str]:
        """Every source column this mapping reads (value and condition; not currency_column)."""
        return list(dict.fromkeys(self.value_columns + self.condition_columns))

    def describe_source(self) -> str:
        """Where the value comes from, for messages: `Serial, Serial Number`."""
        if self.template is not None:
            return f"template {self.template!r}"
        return ", ".join(self.value_columns) or "the constant value"


#: (what a bad value of a field does to its row, why: `on_invalid`, `identity field`, `required`, `default`)
InvalidPolicy = tuple[Literal["quarantine", "blank"], str]


def invalid_policy(mapping: FieldMapping, field: str, identity_fields: Collection[str]) -> InvalidPolicy:
    """(what a bad value of `field` does, why): `mapping.on_invalid` when given, else
    `quarantine` for an identity field (a value the record may be matched by: blanking it
    could split the record from its twin in another source, or merge it on a weaker rule)
    and for a `required` field, else `blank`."""
    if mapping.on_invalid is not None:
        return mapping.on_invalid, "on_invalid"
    if field in identity_fields:
        return "quarantine", "identity field"
    if mapping.required:
        return "quarantine", "required"
    return "blank", "default"


def evaluation_order(fields: Mapping[str, FieldMapping]) -> tuple[list[str], list[str]]:
    """(field names with every field a `when` reads before the field reading it, problems).

    Problems name the path under the stream (`fields.hostname.when.any[1].field: ...`): a
    field that is not mapped here, a field reading itself, a cycle. Declared order is kept
    otherwise."""
    problems: list[str] = []
    for name, mapping in fields.items():
        if mapping.when is None:
            continue
        for path, leaf in mapping.when.leaves():
            if leaf.field is None:
                continue
            where = f"fields.{name}.{path}.field"
            if leaf.field == name:
                problems.append(f"{where}: a field's condition cannot read the field itself")
            elif leaf.field not in fields:
                problems.append(
                    f"{where}: {leaf.field!r} is not mapped by this stream; expected one of "
                    + ", ".join(n for n in fields if n != name)
                )
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = [*trail[trail.index(name) :], name]
            problems.append(
                f"fields.{cycle[0]}.when: the conditions of {' → '.join(cycle)} read each other in a cycle"
            )
            return
        state[name] = "active"
        for needed in fields[name].condition_fields:
            if needed in fields and needed != name:
                visit(needed, [*trail, name])
        state[name] = "done"
        order.append(name)

    for name in fields:
        visit(name, [])
    return order, problems
