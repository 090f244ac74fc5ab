"""Values on the write path, in one form: the model's (what the published snapshot serves and
a patch writes: ISO text for dates and times, floats for money, lists, decoded JSON).

A record a source read back is mapped forward by the same mapping a sync uses, so the
gateway serves what the source stored; `same()` compares two values of one column the way
a person would (a cost of 1200 equals 1200.0000).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import StreamConfig
from federation.model import TABLES
from transforms.context import TransformContext
from transforms.mapping import map_stream


class UnreadableRecord(ValueError):
    """A record read back from a source that its own mapping refuses (quarantine's reason)."""


def model_value(value: Any, kind: str) -> Any:
    """A value from DuckDB or pandas in the model's form for a column of type `kind`."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if kind == "date":
        if isinstance(value, datetime | pd.Timestamp):
            return value.date().isoformat()
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    if kind == "timestamptz":
        if isinstance(value, datetime | pd.Timestamp):
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
            return stamp.isoformat().replace("+00:00", "Z")
        return str(value)
    if kind == "numeric":
        return float(value) if isinstance(value, Decimal | int | float) else float(str(value))
    if kind == "int":
        return int(value)
    if kind == "jsonb":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "string_list":
        return [str(v) for v in value] if isinstance(value, list | tuple | np.ndarray) else value
    return value


def same(a: Any, b: Any, kind: str) -> bool:
    """Whether two values of a column of type `kind` are the same value."""
    a, b = model_value(a, kind), model_value(b, kind)
    if a is None or b is None:
        return a is None and b is None
    if kind == "numeric":
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=0.005)
    if kind == "string_list":
        return sorted(a) == sorted(b)
    if kind == "timestamptz":
        return bool(pd.Timestamp(a) == pd.Timestamp(b))
    return bool(a == b)


def _only(stream: StreamConfig, fields: Collection[str]) -> StreamConfig:
    """The stream mapping just `fields` and the fields their `when` conditions read."""
    keep: set[str] = set()
    todo = [f for f in fields if f in stream.fields]
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo += [f for f in stream.fields[name].condition_fields if f in stream.fields]
    return stream.model_copy(update={"fields": {k: v for k, v in stream.fields.items() if k in keep}})


def map_record(
    raw: dict[str, Any],
    entity: str,
    stream: StreamConfig,
    ctx: TransformContext,
    *,
    source: str,
    fields: Collection[str] | None = None,
) -> dict[str, Any]:
    """One raw record → {mapped field: model value}; references as `<name>_key` text.
    Raises UnreadableRecord with the mapping's reason when it would be quarantined. `fields`:
    map only those (a write reads back the fields it wrote: mapping one row costs ~25 ms a
    field, the vectorised path's overhead)."""
    table = TABLES[entity]
    if fields is not None:
        stream = _only(stream, fields)
    # one object column per cell, as a connector's read gives them (no type guessed here)
    frame = pd.DataFrame({column: pd.Series([cell], dtype=object) for column, cell in raw.items()})
    batch = map_stream(frame, entity, stream, ctx, source=source)
    if len(batch.quarantine):
        raise UnreadableRecord(str(batch.quarantine["reason"].iloc[0]))
    row = batch.rows.iloc[0].to_dict()
    types = {c.name: c.type for c in table.columns}
    return {
        name: model_value(value, types.get(name, "string"))
        for name, value in row.items()
        if name != "record_id" and (name in types or name.endswith("_key"))
    }
