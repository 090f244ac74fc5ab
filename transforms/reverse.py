"""The mapping read backwards: unified values → a source's raw columns, for the write path.

`writable_fields` says, per field a stream maps, whether it can be written back and, if
not, why. A field is read-only when its mapping loses what the source held: a constant
(`value:`), a `template:`, several columns (`coalesce:`, `columns:` outside `attributes`),
a `when:` condition, a `derived_from` column, a lookup whose table gives one target for
several words, a normaliser without an inverse; and for updates, a field read from the
stream's id column (it names the record: set on insert, never changed). Where several
fields read one column, one of them writes it (the first with the plain `text` normaliser,
which loses nothing, else the first declared); the others are read-only.

`to_source` turns values as GraphQL gives them into `{source column: raw value}` through
the inverses of transforms/reverse_values.py (its docstring lists the decisions: which word
of a vocabulary is written, money back into the source's currency, dates in the mapping's
`format:`). Property (tests/transforms/test_reverse.py): for every writable field and
every value the read path can produce, mapping the written row forward gives the value
back (money: to the cent the source currency can express).

`map_record` maps one record read back from the source forward, as a sync would.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from connectors.base import Connector, StreamConfig
from connectors.fields import FieldMapping, match_key
from federation.model import TABLES
from transforms import reverse_values as rv
from transforms.context import TransformContext
from transforms.mapping import MappedBatch, map_stream
from transforms.registry import CURRENCY_AWARE, default_transform


class NotReversible(ValueError):
    """A field whose mapping cannot be written back; `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: read-only for this source: {reason}")
        self.field = field
        self.reason = reason


def _transform(entity: str, field: str, mapping: FieldMapping) -> str:
    return mapping.transform or default_transform(entity, field)


def _own_reason(entity: str, field: str, mapping: FieldMapping) -> str | None:
    """Why this mapping alone cannot be written back (None: it can)."""
    name = _transform(entity, field, mapping)
    if mapping.value is not None:
        return f"a constant of the mapping (value: {mapping.value!r})"
    if mapping.template is not None:
        return f"built from several columns by the template {mapping.template!r}"
    if mapping.coalesce is not None:
        return f"the first non-empty of several columns (coalesce: {', '.join(mapping.coalesce)})"
    if mapping.columns is not None and name != "json":
        return f"the first non-empty of several columns (columns: {', '.join(mapping.columns)})"
    if mapping.when is not None:
        return "filled only on rows where its `when:` condition holds"
    if mapping.derived_from:
        sources = sorted({f for fields in mapping.derived_from.values() for f in fields})
        return f"computed at the source from {', '.join(sources)} (derived_from)"
    if name not in rv.INVERTIBLE:
        return f"the normaliser {name!r} has no inverse"
    if mapping.lookup is not None:
        seen: dict[str, str] = {}
        for key, target in mapping.lookup.table.items():
            if target is None:
                continue
            norm = match_key(target, mapping.lookup.case_sensitive)
            if norm in seen and match_key(seen[norm], mapping.lookup.case_sensitive) != match_key(
                key, mapping.lookup.case_sensitive
            ):
                return (
                    f"its lookup gives {target!r} for several source words ({seen[norm]!r}, {key!r}):"
                    " no unique inverse"
                )
            seen.setdefault(norm, key)
    return None


def _writer_of_columns(stream: StreamConfig, entity: str) -> dict[str, str]:
    """Source column → the field that writes it, where several fields read one column."""
    readers: dict[str, list[str]] = {}
    for field, mapping in stream.fields.items():
        if _own_reason(entity, field, mapping) is None:
            for column in mapping.value_columns:
                readers.setdefault(column, []).append(field)
    writer: dict[str, str] = {}
    for column, fields in readers.items():
        plain = [f for f in fields if _transform(entity, f, stream.fields[f]) == "text"]
        writer[column] = (plain or fields)[0]
    return writer


def writable_fields(stream: StreamConfig, entity: str, *, for_insert: bool = False) -> dict[str, str | None]:
    """Every field the stream maps → None when it can be written back, else why it is
    read-only. `cost_currency` appears beside a mapped `cost` (the money normaliser fills
    it): writable where a `currency_column` holds each record's currency."""
    if entity not in TABLES:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(TABLES)}")
    writer = _writer_of_columns(stream, entity)
    ids = set(stream.id_columns)
    out: dict[str, str | None] = {}
    for field, mapping in stream.fields.items():
        reason = _own_reason(entity, field, mapping)
        if reason is None:
            shared = [c for c in mapping.value_columns if writer.get(c) not in (None, field)]
            if shared:
                reason = f"reads column {shared[0]!r}, which {writer[shared[0]]} writes"
            elif not for_insert and ids & set(mapping.value_columns):
                column = sorted(ids & set(mapping.value_columns))[0]
                reason = f"identifies the record (id column {column!r}): set on insert, never changed"
        out[field] = reason
        companion = f"{field}_currency"
        name = _transform(entity, field, mapping)
        fills = companion in TABLES[entity].mapped_fields and companion not in stream.fields
        if name in CURRENCY_AWARE and fills:
            if mapping.currency_column and reason is None:
                out[companion] = None
            elif mapping.currency:
                out[companion] = f"the mapping fixes the currency ({field}.currency: {mapping.currency})"
            else:
                out[companion] = reason or f"the source holds no currency for {field}"
    return out


def source_writable_fields(
    connector: Connector, entity: str, *, for_insert: bool = False
) -> dict[str, str | None]:
    """`writable_fields` with what the connector itself cannot write (a read-only
    connector, a column a query computes, a vendor field set elsewhere)."""
    stream = connector.config.entities[entity]
    out = writable_fields(stream, entity, for_insert=for_insert)
    columns = connector.read_only_columns(entity)
    for field, reason in out.items():
        if reason is not None:
            continue
        mapping = stream.fields.get(field) or stream.fields[field.removesuffix("_currency")]
        read = [mapping.currency_column] if field not in stream.fields else mapping.value_columns
        blocked = columns.get("*") or next((columns[c] for c in read if c in columns), None)
        if blocked is not None:
            out[field] = blocked
    return out


def to_source(
    stream: StreamConfig,
    entity: str,
    values: dict[str, Any],
    ctx: TransformContext,
    *,
    current: dict[str, Any] | None = None,
    for_insert: bool = False,
    sample: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Unified values → {source column: raw value}. NotReversible for a read-only field (or a
    field the stream does not map), ValueError naming the field for a value the source
    cannot hold. `current`: the record as the source holds it (raw), to learn a record's
    currency from a `currency_column` when `cost_currency` is not given, and the words its
    vocabulary fields use. `sample`: another record of the source, for those words when
    there is no current record (an insert)."""
    writable = writable_fields(stream, entity, for_insert=for_insert)
    out: dict[str, Any] = {}
    written_by: dict[str, str] = {}
    for field, value in values.items():
        if field not in writable:
            raise NotReversible(field, "this source does not map it")
        if writable[field] is not None:
            raise NotReversible(field, writable[field] or "")
        if field.endswith("_currency") and field.removesuffix("_currency") in stream.fields:
            base = stream.fields[field.removesuffix("_currency")]
            cells = {base.currency_column: None if value is None else rv.as_text(value, field).upper()}
        else:
            mapping = stream.fields[field]
            cells = _cells(field, value, mapping, entity, ctx, values, current, sample)
        for column, cell in cells.items():
            if column in out and out[column] != cell:
                raise ValueError(
                    f"{field}: writes column {column!r}, which {written_by[column]} sets to another value"
                )
            out[column], written_by[column] = cell, field
    _check_readers(stream, entity, ctx, out, written_by)
    return out


def _check_readers(
    stream: StreamConfig, entity: str, ctx: TransformContext, out: dict[str, Any], written_by: dict[str, str]
) -> None:
    """Every field reading a written column must be able to read it: a value the read path
    would quarantine the record for is refused here, before anything is written (a `name`
    the CMDB's `hostname` also reads must be a valid host name)."""
    for field, mapping in stream.fields.items():
        column = mapping.column
        name = _transform(entity, field, mapping)
        if column not in out or out[column] is None or mapping.when is not None or name in CURRENCY_AWARE:
            continue
        error = rv.forward_with_errors([out[column]], mapping, name, ctx)[1][0]
        if error is not None:
            writer = written_by[column]
            if writer == field:
                raise ValueError(f"{field}: the source would hold a value the gateway cannot read: {error}")
            raise ValueError(
                f"{writer}: column {column!r} also gives {field}, which could not read the value: {error}"
            )


def _cells(
    field: str,
    value: Any,
    mapping: FieldMapping,
    entity: str,
    ctx: TransformContext,
    values: dict[str, Any],
    current: dict[str, Any] | None,
    sample: dict[str, Any] | None = None,
) -> dict[str, Any]:
    name = _transform(entity, field, mapping)
    if value is None:
        if mapping.required:
            raise ValueError(f"{field}: required by this source's mapping; it cannot be emptied")
        return dict.fromkeys(mapping.value_columns)
    if name == "json":
        obj = rv.json_object(value, field)
        if mapping.columns:
            return rv.attribute_cells(obj, mapping.columns, field)
        text = json.dumps(obj, sort_keys=True, ensure_ascii=False) if obj else None
        return {mapping.value_columns[0]: text}
    column = mapping.value_columns[0]
    if name in CURRENCY_AWARE:
        return {column: _money(field, value, mapping, ctx, values, current)}
    if mapping.lookup is not None:
        return {column: rv.lookup_key(_typed(field, value, name), mapping, name, ctx, field)}
    if name in rv.WORDS:
        held = (current or sample or {}).get(column)
        return {column: rv.word(rv.as_text(value, field), mapping, name, ctx, field, held)}
    return {column: _plain_cell(field, value, mapping, name)}


def _typed(field: str, value: Any, name: str) -> Any:
    """A GraphQL value in the type the read path produces (to compare with its output)."""
    if name == "int":
        return rv.as_number(value, field, whole=True)
    if name == "number":
        return rv.as_number(value, field)
    if name == "boolean":
        return rv.as_boolean(value, field)
    if name in ("date", "install_date"):
        return pd.Timestamp(rv.as_date(value, field))
    if name == "timestamp":
        return pd.Timestamp(rv.as_timestamp(value, field))
    return value


def _plain_cell(field: str, value: Any, mapping: FieldMapping, name: str) -> Any:
    if name in rv.PLAIN:
        return rv.as_text(value, field)
    if name == "int":
        return rv.as_number(value, field, whole=True)
    if name == "number":
        return rv.as_number(value, field)
    if name == "boolean":
        return rv.as_boolean(value, field)
    if name in ("date", "install_date"):
        return rv.date_cell(value, mapping, field, with_time=False)
    if name == "timestamp":
        return rv.date_cell(value, mapping, field, with_time=True)
    if name in ("mac_list", "ip_list"):
        return rv.address_text(value, field)
    raise NotReversible(field, f"the normaliser {name!r} has no inverse")


def _money(
    field: str,
    value: Any,
    mapping: FieldMapping,
    ctx: TransformContext,
    values: dict[str, Any],
    current: dict[str, Any] | None,
) -> float:
    if mapping.currency:
        currency = mapping.currency
    elif mapping.currency_column:
        given = values.get(f"{field}_currency")
        held = (current or {}).get(mapping.currency_column)
        if given is None and current is None:
            raise ValueError(
                f"{field}: this source keeps each record's currency in column "
                f"{mapping.currency_column!r}: give {field}_currency, or the record as the source holds it"
            )
        currency = str(given if given is not None else held or ctx.base_currency)
    else:
        currency = ctx.base_currency
    rate = ctx.rate(currency)
    if rate is None:
        raise ValueError(f"{field}: no rate for currency {currency}; add it under currency.rates")
    return rv.money_amount(value, rate, field)


def map_record(
    raw: dict[str, Any], entity: str, stream: StreamConfig, ctx: TransformContext, *, source: str
) -> MappedBatch:
    """One raw record (as a connector's fetch/update/insert returns it) mapped forward:
    one row, or one quarantined record with the reason."""
    frame = pd.DataFrame({column: pd.Series([cell], dtype=object) for column, cell in raw.items()})
    return map_stream(frame, entity, stream, ctx, source=source)
