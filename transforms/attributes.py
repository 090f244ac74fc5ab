"""Category-specific fields gathered into one JSON object (the `attributes` column).

With `columns:` the mapping engine hands over one dict per row (key: the column name in
lower snake_case); a single column may hold JSON text or a dict. The result is JSON text
with sorted keys and the empty values left out; an object left empty is null.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import EMPTY_TOKENS, is_missing
from transforms.context import TransformContext
from transforms.result import Normalised, reasons


def attribute_key(column: str) -> str:
    """`Screen Size (in)` → `screen_size_in`."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_")
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return key.lower()


def json_object(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    pairs = values.map(_encode)
    out = pairs.map(lambda p: p[0]).astype(object)
    errors = pairs.map(lambda p: p[1]).astype(object)
    out = out.where(out.notna(), None)
    return Normalised(out, reasons(errors.notna(), errors))


def _encode(value: Any) -> tuple[str | None, str | None]:
    if is_missing(value):
        return None, None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in EMPTY_TOKENS:
            return None, None
        try:
            value = json.loads(text)
        except ValueError as error:
            return None, f"'{_clip(text)}' is not valid JSON ({error.msg})"
    if not isinstance(value, dict):
        return None, f"'{_clip(str(value))}' is not a JSON object"
    cleaned = {str(k): _plain(v) for k, v in value.items() if not _empty(v)}
    if not cleaned:
        return None, None
    return json.dumps(cleaned, sort_keys=True, ensure_ascii=False, default=str), None


def _empty(value: Any) -> bool:
    if is_missing(value):
        return True
    return isinstance(value, str) and value.strip().lower() in EMPTY_TOKENS


def _plain(value: Any) -> Any:
    """Values JSON can hold: numpy scalars unwrapped, dates as ISO text, 1234.0 → 1234."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return value


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
