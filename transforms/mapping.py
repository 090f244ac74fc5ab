"""The mapping engine: one raw batch of a source stream → unified rows, quarantined rows and
data-quality notes.

Per field: its input column (transforms/inputs.py), blanked on rows where its `when` does
not hold (transforms/conditions.py), translated by its `lookup`, then one normaliser call
over the whole column. A value that fails is handled by the field's failure policy
(`connectors.fields.invalid_policy`): `blank` leaves the field empty on that row and keeps
the value and the reason as a quality note, the row still merging; `quarantine` (the default
for identity and `required` fields) holds the whole row back with every reason. A row
without a usable id is always quarantined.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.base import StreamConfig
from connectors.fields import FieldMapping, evaluation_order, invalid_policy
from federation.model import TABLES, ColumnType, Table
from transforms.cells import text_view, to_object
from transforms.conditions import holds
from transforms.context import TransformContext
from transforms.inputs import apply_lookup, field_input
from transforms.quarantine import combine_reasons, empty_quality, empty_quarantine, json_cell, raw_json
from transforms.registry import (
    CURRENCY_AWARE,
    TRANSFORM_TYPES,
    TRANSFORMS,
    compatible,
    default_transform,
    output_type,
)
from transforms.result import Normalised, first_error, reasons


class MappingError(ValueError):
    """The mapping does not fit the data (a config error, not a row error): a missing
    column, an unknown transform, a transform whose output does not fit the field."""


@dataclass
class MappedBatch:
    """`rows`: `record_id` then one column per mapped field (references as `<field>_key`)
    and the normalisers' extra columns, typed per the unified model. `quarantine`:
    `record_id`, `reason`, `raw` (JSON text of the source row). `quality`: one note per
    value blanked in a published row: `record_id`, `field`, `value` (JSON text of the value
    as the source gave it), `reason`."""

    rows: pd.DataFrame
    quarantine: pd.DataFrame
    quality: pd.DataFrame = dataclasses.field(default_factory=empty_quality)


def output_column(table: Table, field: str) -> str:
    """The rows column a mapped field is written to."""
    return f"{field}_key" if field in {r.name for r in table.references} else field


def map_stream(
    frame: pd.DataFrame,
    entity: str,
    stream: StreamConfig,
    ctx: TransformContext,
    *,
    source: str,
) -> MappedBatch:
    if entity not in TABLES:
        raise MappingError(f"source {source}: unknown entity {entity!r}")
    table = TABLES[entity]
    raw = frame.reset_index(drop=True)
    order = _check(raw, entity, stream, source, table)
    n = len(raw)

    record_id, id_errors = _record_ids(raw, stream.id_columns)
    identity = ctx.identity_fields(entity)
    # fields a `when` reads are mapped first; columns and reasons keep the declared order
    mapped: dict[str, _Field] = {}
    for name in order:
        mapped[name] = _map_field(raw, stream.fields[name], entity, name, ctx, mapped)
    columns: dict[str, pd.Series] = {"record_id": record_id}
    labelled: list[tuple[str | None, pd.Series]] = [(None, id_errors)]
    every: list[tuple[str | None, pd.Series]] = [(None, id_errors)]
    blanked: list[tuple[str, _Field]] = []
    extras: dict[str, pd.Series] = {}
    for name, done in ((f, mapped[f]) for f in stream.fields):
        columns[output_column(table, name)] = done.values
        every.append((name, done.errors))
        if invalid_policy(stream.fields[name], name, identity)[0] == "quarantine":
            labelled.append((name, done.errors))
        else:
            blanked.append((name, done))
        for key, column in done.extra.items():
            target = f"{name}_{key}"
            if target in table.mapped_fields and target not in stream.fields:
                extras[target] = cast(column, output_type(entity, target))
    columns.update(extras)

    # a row is held back by a field whose policy is `quarantine`; its entry then gives every
    # reason the row has, blanked fields' too
    bad = combine_reasons(n, labelled).notna().to_numpy()
    rows = pd.DataFrame(columns, index=pd.RangeIndex(n))
    rows = rows.loc[~bad].reset_index(drop=True)
    quality = _notes(record_id, blanked, bad)
    if not bad.any():
        return MappedBatch(rows, empty_quarantine(), quality)
    reason = combine_reasons(n, every)
    quarantine = pd.DataFrame(
        {
            "record_id": pd.Series(record_id[bad].to_numpy(), dtype=object),
            "reason": pd.Series(reason[bad].to_numpy(), dtype=object),
            "raw": pd.Series(raw_json(raw.loc[bad]), dtype=object),
        }
    )
    return MappedBatch(rows, quarantine, quality)


@dataclass
class _Field:
    """One mapped field: typed values, a reason or None per row, the value each reason is
    about (as the source gave it), the normaliser's extra columns."""

    values: pd.Series
    errors: pd.Series
    given: pd.Series
    extra: dict[str, pd.Series]


def _notes(record_id: pd.Series, blanked: list[tuple[str, _Field]], quarantined: np.ndarray) -> pd.DataFrame:
    """A quality note per blanked value of a row that is published (a quarantined row's
    reasons are in its quarantine entry)."""
    parts = []
    for name, done in blanked:
        noted = (done.errors.notna().to_numpy()) & ~quarantined
        if not noted.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "record_id": pd.Series(record_id[noted].to_numpy(), dtype=object),
                    "field": name,
                    "value": pd.Series([json_cell(v) for v in done.given[noted]], dtype=object),
                    "reason": pd.Series(done.errors[noted].to_numpy(), dtype=object),
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else empty_quality()


def _map_field(
    raw: pd.DataFrame,
    mapping: FieldMapping,
    entity: str,
    field: str,
    ctx: TransformContext,
    mapped: dict[str, _Field],
) -> _Field:
    """One field's typed values, per-row reasons, the values they are about, extra columns.

    With `coalesce` (or `columns` outside `json`) each column is normalised on its own and the
    first with a value wins, so a placeholder (`To Be Filled By O.E.M.`) or an unreadable cell
    in the first column does not hide a good value in the next; a row is an error only when
    no column gives a value."""
    name = mapping.transform or default_transform(entity, field)
    active = None
    if mapping.when is not None:
        active = pd.Series(holds(mapping.when, raw, {f: done.values for f, done in mapped.items()}))
    several = mapping.coalesce or (mapping.columns if name != "json" else None)
    inputs = [raw[column] for column in several] if several else [field_input(raw, mapping, name)]
    typed, errors, extra = _normalised(inputs[0], raw, mapping, name, entity, field, ctx, active)
    given = inputs[0].astype(object)
    for values in inputs[1:]:
        more, more_errors, more_extra = _normalised(values, raw, mapping, name, entity, field, ctx, active)
        take = (typed.isna() & more.notna()).to_numpy()
        typed = typed.where(~take, more)
        given = given.where(errors.notna().to_numpy(), values.astype(object))
        errors = first_error(errors, more_errors)
        extra = {key: column.where(~take, more_extra[key]) for key, column in extra.items()}
    errors = errors.where(typed.isna().to_numpy(), None)
    if mapping.required:
        empty = typed.isna() & errors.isna()
        if active is not None:
            empty &= active.to_numpy()
        errors = errors.where(~empty, f"required but empty ({mapping.describe_source()})")
    return _Field(typed, errors, given, extra)


def _normalised(
    values: pd.Series,
    raw: pd.DataFrame,
    mapping: FieldMapping,
    name: str,
    entity: str,
    field: str,
    ctx: TransformContext,
    active: pd.Series | None,
) -> tuple[pd.Series, pd.Series, dict[str, pd.Series]]:
    """One input column blanked where `when` does not hold, looked up, normalised, typed."""
    if active is not None:
        values = values.where(active.set_axis(values.index), None)
    lookup_errors = None
    if mapping.lookup is not None:
        values, lookup_errors = apply_lookup(values, mapping.lookup)
    result = _normalise(values, raw, mapping, name, ctx)
    typed = cast(result.values, output_type(entity, field))
    errors = result.errors if lookup_errors is None else first_error(lookup_errors, result.errors)
    return typed, errors, result.extra


def _check(raw: pd.DataFrame, entity: str, stream: StreamConfig, source: str, table: Table) -> list[str]:
    """Config errors against this batch's columns; returns the order to map fields in."""
    available = [str(c) for c in raw.columns]
    shown = ", ".join(available) or "(none)"
    where = f"source {source}, entity {entity}"
    for column in stream.id_columns:
        if column not in raw.columns:
            raise MappingError(f"{where}: id column {column!r} is not in the data; columns are: {shown}")
    order, problems = evaluation_order(stream.fields)
    if problems:
        raise MappingError(f"{where}: " + "; ".join(problems))
    for field, mapping in stream.fields.items():
        if field not in table.mapped_fields:
            raise MappingError(
                f"{where}: unknown field {field!r}; expected one of " + ", ".join(table.mapped_fields)
            )
        name = mapping.transform or default_transform(entity, field)
        if name not in TRANSFORMS:
            raise MappingError(
                f"{where}, field {field}: unknown transform {name!r}; expected one of "
                + ", ".join(TRANSFORMS)
            )
        column_type = output_type(entity, field)
        if not compatible(name, column_type):
            raise MappingError(
                f"{where}, field {field}: transform {name!r} gives {TRANSFORM_TYPES[name]}"
                f" values but {field} is {column_type}"
            )
        if mapping.currency_column and name not in CURRENCY_AWARE:
            raise MappingError(f"{where}, field {field}: currency_column applies to money fields only")
        for key, column in columns_read(mapping):
            if column not in raw.columns:
                raise MappingError(
                    f"{where}, fields.{field}.{key}: column {column!r} is not in the data;"
                    f" columns are: {shown}"
                )
    return order


def columns_read(mapping: FieldMapping) -> list[tuple[str, str]]:
    """(config key, source column) for every column a mapping reads."""
    keys = [k for k in ("column", "columns", "coalesce", "template") if getattr(mapping, k) is not None]
    read = [(key, column) for key in keys for column in mapping.value_columns]
    if mapping.when is not None:
        read += [(f"{path}.column", leaf.column) for path, leaf in mapping.when.leaves() if leaf.column]
    if mapping.currency_column:
        read.append(("currency_column", mapping.currency_column))
    return read


def _record_ids(raw: pd.DataFrame, id_columns: list[str]) -> tuple[pd.Series, pd.Series]:
    """(record id text or None, id error per row): empty ids and later duplicates."""
    parts = [text_view(raw[column]) for column in id_columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep="|")
    empty_columns = pd.Series("", index=raw.index, dtype=object)
    empty_count = pd.Series(0, index=raw.index)
    for column, part in zip(id_columns, parts, strict=True):
        empty_columns = empty_columns.where(part.notna(), empty_columns + f", {column}")
        empty_count += part.isna().astype(int)
    empty_columns = empty_columns.str.removeprefix(", ")
    missing = joined.isna()
    several = (empty_count > 1).to_numpy()
    message = "no id: column " + empty_columns + " is empty"
    message[several] = ("no id: columns " + empty_columns[several] + " are empty").to_numpy()
    errors = reasons(missing, message)
    record_id = to_object(joined)
    positions = pd.Series(np.arange(len(raw)), index=raw.index)
    first = positions.groupby(joined, dropna=True).transform("min")
    duplicate = (~missing & (first != positions)).to_numpy()
    if duplicate.any():
        seen = (first[duplicate] + 1).astype(int).astype(str)
        errors[duplicate] = (
            "duplicate id '"
            + record_id[duplicate].astype(str)
            + "', first seen in row "
            + seen
            + " of this batch"
        ).to_numpy()
    return record_id, errors.where(errors.notna(), None)


def _normalise(
    values: pd.Series, raw: pd.DataFrame, mapping: FieldMapping, name: str, ctx: TransformContext
) -> Normalised:
    normaliser = TRANSFORMS[name]
    if mapping.currency_column and name in CURRENCY_AWARE:
        currencies = raw[mapping.currency_column]
        return normaliser(values, mapping, ctx, currencies)  # type: ignore[call-arg]
    if TRANSFORM_TYPES[name] == "string_list" or not _homogeneous(values):
        return normaliser(values, mapping, ctx)
    # normalisers are pure per cell: normalise each distinct cell once, then spread back
    codes, uniques = values.factorize(use_na_sentinel=False)
    if len(uniques) * 2 > len(values):
        return normaliser(values, mapping, ctx)
    result = normaliser(pd.Series(uniques, dtype=values.dtype), mapping, ctx)
    return Normalised(
        _spread(result.values, codes, values.index),
        _spread(result.errors, codes, values.index),
        {key: _spread(extra, codes, values.index) for key, extra in result.extra.items()},
    )


def _homogeneous(values: pd.Series) -> bool:
    """Cells of one hashable kind (so that 1, 1.0 and True never merge), and enough of
    them for deduplication to pay."""
    if len(values) < 64:
        return False
    if values.dtype == object:
        return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    return True


def _spread(unique_values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    return unique_values.take(codes).set_axis(index)


def cast(values: pd.Series, column_type: ColumnType) -> pd.Series:
    """A normaliser's output in the dtype of its unified column type."""
    if column_type in ("string", "uuid", "string_list", "jsonb"):
        out = values.astype(object)
        return out.where(out.notna(), None)
    if column_type == "numeric":
        return values.astype("float64")
    if column_type == "int":
        return values.astype("Int64")
    if column_type == "boolean":
        return values.astype("boolean")
    if column_type == "date":
        return values.astype("datetime64[s]")
    if column_type == "timestamptz":
        return values.astype("datetime64[us, UTC]")
    raise MappingError(f"no dtype for column type {column_type}")
