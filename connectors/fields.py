"""How a source's column becomes a unified field: the `fields:` entries of a mapping."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class FieldMapping(BaseModel):
    """One unified field filled from a source.

    In config.yaml a bare string is shorthand for `{column: <string>}`.
    """

    model_config = ConfigDict(extra="forbid")

    #: the source column holding the value
    column: str | None = None
    #: several source columns: for `attributes` they become one JSON object keyed by column
    #: name; for other fields the first non-empty one wins (`[Serial, "Serial Number"]`)
    columns: list[str] | None = None
    #: a constant, used when no column is given (e.g. `category: {value: laptop}`)
    value: Any = None
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
    #: quarantine the row when this field ends up empty
    required: bool = False
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

    @model_validator(mode="after")
    def _one_source_of_value(self) -> FieldMapping:
        given = [x for x in (self.column, self.columns) if x is not None]
        if len(given) > 1:
            raise ValueError("give either `column` or `columns`, not both")
        if not given and self.value is None:
            raise ValueError("a field mapping needs `column`, `columns` or a constant `value`")
        for column in self.derived_from or {}:
            if column not in self.source_columns:
                raise ValueError(
                    f"derived_from.{column}: not a column of this mapping; expected one of "
                    + (", ".join(self.source_columns) or "(none)")
                )
        return self

    @property
    def source_columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        return list(self.columns or [])
