"""Values on the write path, in one form: the model's (what the published snapshot serves and
a patch writes: ISO text for dates and times, floats for money, lists, decoded JSON).

A record a source read back is mapped forward by the same mapping a sync uses, so the
gateway serves what the source stored; `same()` compares two values of one column the way
a person would (a cost of 1200 equals 1200.0000).
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import StreamConfig
from federation.model import TABLES
from transforms.cells import EMPTY_TOKENS
from transforms.context import TransformContext
from transforms.mapping import columns_read, map_stream


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
    map only those (a write reads back the fields it wrote).

    Mapping one row through the vectorised engine costs ~20 ms a field; a record whose
    mapped cells (and the emptiness of its id) were mapped before gets the remembered
    result (`_MEMO`): the same cells give the same values, whatever the record."""
    mapped = stream if fields is None else _only(stream, fields)
    key = _memo_key(raw, entity, stream, mapped, ctx, source, fields)
    if key is not None:
        found = _MEMO.get(key)
        if found is not None:
            return copy.deepcopy(found)
    out = _map(raw, entity, mapped, ctx, source)
    if key is not None:
        _MEMO.put(key, copy.deepcopy(out))
    return out


def _map(
    raw: dict[str, Any], entity: str, stream: StreamConfig, ctx: TransformContext, source: str
) -> dict[str, Any]:
    table = TABLES[entity]
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


#: cells a key may hold: hashable, and told apart by type (1, 1.0 and True are not merged)
_KEYABLE = (str, int, float, bool, Decimal, date, type(None))
#: an id cell taken as present without the engine: plain text (no whitespace to trim)
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@#+-]*")


def _memo_key(
    raw: dict[str, Any],
    entity: str,
    stream: StreamConfig,
    mapped: StreamConfig,
    ctx: TransformContext,
    source: str,
    fields: Collection[str] | None,
) -> tuple[Any, ...] | None:
    """What the mapped values of `raw` depend on, or None when that is not certain: the
    cells every mapped field reads (a one-row batch has no duplicates; normalisers are pure
    per cell, mapping.py), and the id's presence, which only quarantines. The stream (as
    configured, before `fields` narrow it) and context are told apart by identity (the memo
    holds them, so an id is never reused)."""
    read: set[str] = set()
    for mapping in mapped.fields.values():
        read.update(column for _, column in columns_read(mapping))
    cells = []
    for column in sorted(read):
        if column not in raw:
            return None  # a config error: let the engine say so
        cell = raw[column]
        if not isinstance(cell, _KEYABLE):
            return None
        cells.append((column, type(cell).__name__, cell))
    for column in stream.id_columns:
        cell = raw.get(column)
        if column in read:
            continue
        if isinstance(cell, bool) or not isinstance(cell, str | int):
            return None
        if isinstance(cell, str) and (not _PLAIN_ID.fullmatch(cell) or cell.lower() in EMPTY_TOKENS):
            return None
    chosen = None if fields is None else frozenset(fields)
    return (id(stream), id(ctx), entity, source, chosen, tuple(cells)), stream, ctx


class _Memo:
    """The last `size` mapped records by key (least recently used forgotten first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, tuple[Any, Any, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        exact, stream, ctx = key
        with self._lock:
            found = self._items.get(exact)
            if found is None or found[0] is not stream or found[1] is not ctx:
                return None
            self._items.move_to_end(exact)
            return found[2]

    def put(self, key: tuple[Any, ...], value: dict[str, Any]) -> None:
        exact, stream, ctx = key
        with self._lock:
            self._items[exact] = (stream, ctx, value)
            self._items.move_to_end(exact)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_MEMO = _Memo(4096)
