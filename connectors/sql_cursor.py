"""The incremental cursor of the sql connector: written as text, read back as the cursor
column's own type (see connectors/sql.py)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral
from typing import Any, Literal

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def encode_cursor(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(int(value)) if isinstance(value, Integral) else str(value)


#: the cursor column's type → how the cursor text is bound
CursorKind = Literal["int", "number", "datetime", "date", "text"]
PG_KINDS: dict[int, CursorKind] = {
    20: "int", 21: "int", 23: "int", 700: "number", 701: "number", 1700: "number",
    1082: "date", 1114: "datetime", 1184: "datetime",
}  # fmt: skip
#: pymysql's FIELD_TYPE codes
MYSQL_KINDS: dict[int, CursorKind] = {
    0: "number", 1: "int", 2: "int", 3: "int", 4: "number", 5: "number", 8: "int", 9: "int",
    13: "int", 246: "number", 7: "datetime", 12: "datetime", 10: "date", 14: "date",
}  # fmt: skip
SQLITE_KINDS: dict[str, CursorKind] = {"integer": "int", "real": "number", "text": "text"}


def decode_cursor(text: str, dialect: str, kind: CursorKind | None = None) -> Any:
    """The cursor text as a value of the cursor column's type (`kind`); without a known
    type, digits are an int and ISO text a datetime (not on SQLite, which stores text)."""
    try:
        if kind == "int":
            return int(text)
        if kind == "number":
            return float(text) if dialect == "sqlite" else Decimal(text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "date":
            return date.fromisoformat(text[:10])
    except ValueError:
        return text
    if kind == "text":
        return text
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if dialect != "sqlite" and _ISO_DATETIME.match(text):
        return datetime.fromisoformat(text)
    return text
