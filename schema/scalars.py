"""The Hasura-named scalars: `uuid`, `numeric`, `date`, `timestamptz`, `jsonb`.

Each is a `NewType` mapped through `StrawberryConfig.scalar_map`. Parsing a bad literal or
variable raises `UserInputError` (code BAD_USER_INPUT) with the expected form.
"""

from __future__ import annotations

import math
import uuid as _uuid
from datetime import UTC, date, datetime
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from federation.access.errors import UserInputError

Uuid = NewType("Uuid", str)
Numeric = NewType("Numeric", float)
Date = NewType("Date", date)
Timestamptz = NewType("Timestamptz", datetime)
Jsonb = NewType("Jsonb", object)


def parse_uuid(value: Any) -> str:
    if isinstance(value, str):
        try:
            return str(_uuid.UUID(value))
        except ValueError:
            pass
    raise UserInputError(
        f"{value!r} is not a uuid; expected 32 hex digits such as '0f8fad5b-d9cb-469f-a165-70867728950e'"
    )


def parse_numeric(value: Any) -> float:
    if isinstance(value, bool):
        raise UserInputError(f"{value!r} is not a number; expected a number such as 1200.5")
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value))
        except ValueError:
            raise UserInputError(f"{value!r} is not a number; expected a number such as 1200.5") from None
    if not math.isfinite(number):
        raise UserInputError(f"{value!r} is not a finite number")
    return number


def serialize_numeric(value: Any) -> float:
    return float(value)


def parse_date(value: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UserInputError(f"{value!r} is not a date; expected YYYY-MM-DD such as '2024-03-31'")


def serialize_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def parse_timestamptz(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise UserInputError(
        f"{value!r} is not a timestamp; expected ISO 8601 such as '2024-03-31T12:00:00+00:00' "
        "(no offset means UTC)"
    )


def serialize_timestamptz(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return str(value)


def _identity(value: Any) -> Any:
    return value


SCALAR_MAP: dict[object, ScalarDefinition] = {
    Uuid: strawberry.scalar(name="uuid", description="A UUID.", serialize=str, parse_value=parse_uuid),
    Numeric: strawberry.scalar(
        name="numeric",
        description="A decimal number (JSON number).",
        serialize=serialize_numeric,
        parse_value=parse_numeric,
    ),
    Date: strawberry.scalar(
        name="date",
        description="A calendar date, YYYY-MM-DD.",
        serialize=serialize_date,
        parse_value=parse_date,
    ),
    Timestamptz: strawberry.scalar(
        name="timestamptz",
        description="An ISO 8601 timestamp with offset; served in UTC.",
        serialize=serialize_timestamptz,
        parse_value=parse_timestamptz,
    ),
    Jsonb: strawberry.scalar(
        name="jsonb", description="Any JSON value.", serialize=_identity, parse_value=_identity
    ),
}
