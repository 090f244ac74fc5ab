"""A record mapped on the write path gives what the vectorised engine gives, whether or not
an earlier record with the same mapped cells was remembered (federation/writes/values.py
`map_record`, transforms/reverse_values.py `forward_with_errors`): over every stream of the
demo's config.yaml, with cells drawn from words, numbers, dates, placeholders and blanks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.config.settings import load_config
from federation.pipeline.sync import transform_context
from federation.writes import values
from federation.writes.values import UnreadableRecord, map_record
from transforms import reverse_values
from transforms.mapping import columns_read
from transforms.registry import default_transform

REPO = Path(__file__).resolve().parents[2]
DEMO = load_config(REPO / "config.yaml")
CTX = transform_context(DEMO)
STREAMS = [
    (source.name, entity, stream)
    for source in DEMO.sources
    for entity, stream in source.entities.items()
    if stream.fields
]

WORDS = ["1", "6", "in_use", "In Stock", "Deployed", "retired", "x", "Dell Inc.", "laptop", "USD", "EUR"]
PLACEHOLDERS = ["", "  ", "n/a", "NULL", "-", "none", "nan", "0000-00-00"]
CELLS = st.one_of(
    st.sampled_from(WORDS + PLACEHOLDERS),
    st.text(alphabet="abcAB1 _-.@:", max_size=12),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)).map(lambda d: d.isoformat()),
    st.sampled_from(["ann@example.com", "bob.smith@corp.example", "AA:BB:CC:DD:EE:FF", "10.0.0.1"]),
)
IDS = st.one_of(st.sampled_from(["r1", "abc-42", "0015dc37", 7, " r1 ", "", "n/a", None, "null"]), CELLS)


def _engine(raw: dict[str, Any], entity: str, stream: Any, fields: Any, source: str) -> Any:
    mapped = stream if fields is None else values._only(stream, fields)
    try:
        return values._map(raw, entity, mapped, CTX, source)
    except UnreadableRecord as exc:
        return ("unreadable", str(exc))


def _memo(raw: dict[str, Any], entity: str, stream: Any, fields: Any, source: str) -> Any:
    try:
        return map_record(raw, entity, stream, CTX, source=source, fields=fields)
    except UnreadableRecord as exc:
        return ("unreadable", str(exc))


@st.composite
def records(draw: st.DrawFn) -> tuple[Any, ...]:
    source, entity, stream = draw(st.sampled_from(STREAMS))
    names = sorted(stream.fields)
    fields = draw(st.none() | st.sets(st.sampled_from(names), min_size=1, max_size=3))
    read = {column for mapping in stream.fields.values() for _, column in columns_read(mapping)}
    raw = {column: draw(CELLS) for column in sorted(read)}
    for column in stream.id_columns:
        raw[column] = draw(IDS) if column not in read else raw[column]
    # a record seen before: the same mapped cells, another id (maybe blank) and other cells
    other = {**raw, **{c: draw(IDS) for c in stream.id_columns if c not in read}, "unread": draw(CELLS)}
    return source, entity, stream, fields, raw, other


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_a_remembered_record_maps_as_the_engine_maps_it(case: tuple[Any, ...]) -> None:
    source, entity, stream, fields, raw, other = case
    values._MEMO.clear()
    _memo(other, entity, stream, fields, source)  # remembered first, maybe
    expected = _engine(raw, entity, stream, fields, source)
    assert _memo(raw, entity, stream, fields, source) == expected
    assert _memo(raw, entity, stream, fields, source) == expected  # and from the memo


def test_the_memo_answers_a_record_it_has_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo is used: the cells mapped before are not mapped again."""
    source, entity, stream = next(s for s in STREAMS if s[0] == "cmdb" and s[1] == "assets")
    status = stream.fields["status"].column
    raw = {c: "r1" for c in stream.id_columns} | {status: "1"}
    values._MEMO.clear()
    first = map_record(raw, entity, stream, CTX, source=source, fields={"status"})
    calls = []
    original = values._map
    values._map = lambda *a: calls.append(a) or original(*a)  # type: ignore[assignment]
    try:
        again = map_record(
            {**raw, stream.id_columns[0]: "r2"}, entity, stream, CTX, source=source, fields={"status"}
        )
    finally:
        values._map = original  # type: ignore[assignment]
    assert again == first == {"status": "in_use"}
    assert calls == []


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(STREAMS), st.data())
def test_reading_back_cells_gives_what_the_normaliser_gives(stream_case: Any, data: st.DataObject) -> None:
    _source, entity, stream = stream_case
    name = data.draw(st.sampled_from(sorted(stream.fields)))
    mapping = stream.fields[name]
    transform = mapping.transform or default_transform(entity, name)
    cells = data.draw(st.lists(CELLS, min_size=1, max_size=3))
    expected = reverse_values._forward(list(cells), mapping, transform, CTX)
    assert reverse_values.forward_with_errors(list(cells), mapping, transform, CTX) == expected
    assert reverse_values.forward_with_errors(list(cells), mapping, transform, CTX) == expected
