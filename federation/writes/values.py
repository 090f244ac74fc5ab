"""Values on the write path, in one form: the model's (what the published snapshot serves and
a patch writes: ISO text for dates and times, floats for money, lists, decoded JSON).

A record a source read back is mapped forward by the same mapping a sync uses, so the
gateway serves what the source stored; `same()` compares two values of one column the way
a person would (a cost of 1200 equals 1200.0000).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import StreamConfig
from federation.model import TABLES
from transforms.cells import text_view
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
    map only those (a write reads back the fields it wrote)."""
    (mapped,) = map_records([raw], entity, stream, ctx, source=source, fields=fields)
    if isinstance(mapped, UnreadableRecord):
        raise mapped
    return mapped


def map_records(
    raws: Sequence[Mapping[str, Any]],
    entity: str,
    stream: StreamConfig,
    ctx: TransformContext,
    *,
    source: str,
    fields: Collection[str] | None = None,
) -> list[dict[str, Any] | UnreadableRecord]:
    """Many raw records mapped as `map_record` maps each (the result, or the UnreadableRecord
    it would raise, in order), through the vectorised mapping once per group of records that
    map alike rather than once per record (one record costs ~25 ms a field in pandas'
    overhead; a hundred cost about the same). Records are grouped by the columns they hold
    and the Python type of each cell the mapping reads (a normaliser picks its path by the
    kinds a column holds), and a record id met again in a group goes to a later pass (in
    one frame the mapping would quarantine it as a duplicate)."""
    if fields is not None:
        stream = _only(stream, fields)
    read = sorted({c for m in stream.fields.values() for _, c in _read_columns(m)} | set(stream.id_columns))
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, raw in enumerate(raws):
        shape = (tuple(raw), tuple(type(raw.get(c)).__name__ for c in read))
        groups.setdefault(shape, []).append(i)
    out: list[dict[str, Any] | UnreadableRecord] = [UnreadableRecord("not mapped")] * len(raws)
    types = {c.name: c.type for c in TABLES[entity].columns}
    for positions in groups.values():
        for part in _passes([raws[i] for i in positions], positions, stream.id_columns):
            for i, mapped in zip(
                part, _map_frame([raws[i] for i in part], entity, stream, ctx, source, types), strict=True
            ):
                out[i] = mapped
    return out


def _read_columns(mapping: Any) -> list[tuple[str, str]]:
    keys = [k for k in ("column", "columns", "coalesce", "template") if getattr(mapping, k) is not None]
    read = [(key, column) for key in keys for column in mapping.value_columns]
    if mapping.when is not None:
        read += [(path, leaf.column) for path, leaf in mapping.when.leaves() if leaf.column]
    if mapping.currency_column:
        read.append(("currency_column", mapping.currency_column))
    return read


def _id_texts(raws: Sequence[Mapping[str, Any]], id_columns: list[str]) -> list[str | None]:
    """Each record's id as the mapping makes it (its id columns as text, joined by `|`)."""
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in raws], dtype=object) for c in id_columns})
    parts = [text_view(frame[c]) for c in id_columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep="|")
    return [
        None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)
        for v in joined.tolist()
    ]


def _passes(raws: list[Mapping[str, Any]], positions: list[int], id_columns: list[str]) -> list[list[int]]:
    """`positions` split so that no pass holds one record id twice (as the mapping reads ids)."""
    if len(raws) == 1 or not id_columns or any(c not in raws[0] for c in id_columns):
        return [positions]
    rounds: dict[int, list[int]] = {}
    met: dict[str, int] = {}
    for position, record_id in zip(positions, _id_texts(raws, id_columns), strict=True):
        round_ = 0
        if record_id is not None:
            round_ = met.get(record_id, 0)
            met[record_id] = round_ + 1
        rounds.setdefault(round_, []).append(position)
    return [rounds[k] for k in sorted(rounds)]


def _map_frame(
    raws: list[Mapping[str, Any]],
    entity: str,
    stream: StreamConfig,
    ctx: TransformContext,
    source: str,
    types: Mapping[str, str],
) -> list[dict[str, Any] | UnreadableRecord]:
    # one object column per cell, as a connector's read gives them (no type guessed here)
    frame = pd.DataFrame(
        {column: pd.Series([raw[column] for raw in raws], dtype=object) for column in raws[0]},
        index=pd.RangeIndex(len(raws)),
    )
    batch = map_stream(frame, entity, stream, ctx, source=source)
    rows = {r["record_id"]: r for r in batch.rows.to_dict("records")}
    # the quarantine holds the records it keeps in their order: the next one is this one's
    held = iter(batch.quarantine["reason"].tolist())
    out: list[dict[str, Any] | UnreadableRecord] = []
    for record_id in _id_texts(raws, stream.id_columns):
        row = rows.get(record_id) if record_id is not None else None
        if row is None:
            out.append(UnreadableRecord(str(next(held))))
            continue
        out.append(
            {
                name: model_value(value, types.get(name, "string"))
                for name, value in row.items()
                if name != "record_id" and (name in types or name.endswith("_key"))
            }
        )
    return out
