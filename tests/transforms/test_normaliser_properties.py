"""Every normaliser over arbitrary input: it never raises, gives one value or one reason per
row, and every rejection is a sentence a person can act on.

Cells are drawn from what sources really hand over — any Unicode text (with the empty-cell
placeholders and the shapes each normaliser reads mixed in), ints of any size, floats
including NaN and infinities, None, bytes, booleans, dates, dicts and lists — in object
columns, and in the typed columns pandas builds for them.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import StreamConfig
from connectors.fields import FieldMapping
from federation.model import TABLES
from transforms.context import TransformContext
from transforms.mapping import cast, map_stream
from transforms.registry import TRANSFORM_TYPES, TRANSFORMS, default_transform

#: a few seconds per normaliser at most, in CI too
SWEEP = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

CTX = TransformContext(rates={"EUR": 1.1})

#: text that looks like what the normalisers read, so the search reaches past the first check
SHAPES = [
    "", " ", "-", "N/A", "null", "NaN", "0000-00-00", "user78.müller@example.com",
    "JDoe@Example.COM", "Jane Doe <jdoe@example.com>", "mailto:a@b.co", "a@xn--mller-kva.de",
    "CORP\\jdoe", "@", "a@", "@b.com", "a@@b.com", "LT-0042.corp.example.com", "10.0.0.1",
    "aa:bb:cc:dd:ee:ff", "::1", "fe80::1%eth0", "192.168.1.300", "$1,299.00", "€1.599,62",
    "(12.50)", "1e400", "2024-01-15", "01/02/2024", "15.01.2024", "45000", "1.23457E+11",
    "99999999999999999999999", "-0", "Laptops", "In Use", "Dell Inc.", "Deutschland",
    '{"date": "2023-01-23"}', '{"a": 1}', "[1, 2]", "true", "\uff21\uff22\uff23", "ß", "İstanbul",
    "\u200b", "\x00", "\ud7ff", "🙂", "a\u0301", "ﬁ", "Ⅻ", "١٢٣", "²",
]  # fmt: skip

text_cells = st.one_of(st.sampled_from(SHAPES), st.text(max_size=40))
odd_cells = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.binary(max_size=12),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC))),
    st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=8), st.integers()), max_size=3),
    st.lists(text_cells, max_size=3),
)
mixed_cells = st.one_of(text_cells, odd_cells)


def _columns() -> st.SearchStrategy[pd.Series]:
    def build(kind: str, cells: list[Any]) -> pd.Series:
        if kind == "object":
            return pd.Series(cells, dtype=object)
        if kind == "inferred":
            return pd.Series(cells)  # what pandas makes of a list, as connectors build frames
        return pd.Series(cells, dtype=kind)

    return st.one_of(
        st.lists(mixed_cells, max_size=8).map(lambda c: build("object", c)),
        st.lists(text_cells, max_size=8).map(lambda c: build("str", c)),
        st.lists(text_cells, max_size=8).map(lambda c: build("inferred", c)),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8).map(
            lambda c: build("float64", c)
        ),
        st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=8).map(
            lambda c: build("int64", c)
        ),
        st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), max_size=8).map(
            lambda c: build("Int64", c)
        ),
        st.lists(st.booleans(), max_size=8).map(lambda c: build("bool", c)),
    ).map(lambda s: s.set_axis(pd.RangeIndex(10, 10 + len(s))))


def _absent(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


MAPPINGS = {
    "date": [FieldMapping(column="c"), FieldMapping(column="c", day_first=True, format="excel")],
    "timestamp": [FieldMapping(column="c"), FieldMapping(column="c", format="%d/%m/%Y %H:%M")],
    "money": [FieldMapping(column="c"), FieldMapping(column="c", decimal=",", currency="EUR")],
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@SWEEP
@given(values=_columns(), which=st.integers(0, 1))
def test_never_raises_and_gives_one_value_or_one_reason_per_row(name, values, which):
    choices = MAPPINGS.get(name, [FieldMapping(column="c")])
    mapping = choices[which % len(choices)]
    result = TRANSFORMS[name](values, mapping, CTX)

    assert result.values.index.equals(values.index)
    assert result.errors.index.equals(values.index)
    for position, (value, error) in enumerate(zip(result.values, result.errors, strict=True)):
        cell = values.iloc[position]
        if error is None:
            continue
        assert isinstance(error, str), f"{name}: reason for {cell!r} is {error!r}"
        assert len(error.strip()) > 10, f"{name}: reason for {cell!r} is {error!r}"
        assert "nan" not in error.split("'")[0].lower(), f"{name}: reason {error!r}"
        assert _absent(value), f"{name}: {cell!r} gave both {value!r} and the reason {error!r}"
    for key, extra in result.extra.items():
        assert extra.index.equals(values.index), f"{name}: extra {key} lost the index"
    # and what it gives fits the unified column type it declares
    assert len(cast(result.values, TRANSFORM_TYPES[name])) == len(values)


def _field_for(name: str) -> tuple[str, str] | None:
    for entity, table in TABLES.items():
        for field in table.column_names:
            if table.column(field).mapped and default_transform(entity, field) == name:
                return entity, field
    return None


@pytest.mark.parametrize("name", sorted(n for n in TRANSFORMS if _field_for(n)))
@settings(SWEEP, max_examples=15)
@given(cells=st.lists(text_cells, min_size=1, max_size=6), repeat=st.integers(1, 30))
def test_mapping_engine_deduplicated_path_agrees(name, cells, repeat):
    """Long columns are normalised once per distinct cell and spread back: same answers."""
    entity, field = _field_for(name)  # type: ignore[misc]
    column = pd.Series(cells * repeat, dtype=object)
    frame = pd.DataFrame({"id": np.arange(len(column)).astype(str), "c": column})
    mapping = {"column": "c", "transform": name, "on_invalid": "quarantine"}
    stream = StreamConfig(id="id", fields={field: mapping})
    batch = map_stream(frame, entity, stream, CTX, source="sweep")
    assert len(batch.rows) + len(batch.quarantine) == len(frame)
    direct = TRANSFORMS[name](column, FieldMapping(column="c"), CTX)
    assert batch.quarantine["record_id"].tolist() == [
        str(i) for i in np.flatnonzero(direct.errors.notna().to_numpy())
    ]


# ------------------------------------------------ the class of bug: non-ASCII refused

_word = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=12)
_words = st.lists(_word, min_size=1, max_size=4).map(" ".join)


@pytest.mark.parametrize("name", ["text", "upper", "lower", "asset_tag", "country"])
@SWEEP
@given(cells=st.lists(_words, min_size=1, max_size=6))
def test_free_text_of_any_script_is_kept(name, cells):
    """Words in any script are never refused or dropped by the normalisers that keep text."""
    values = pd.Series(cells, dtype=object)
    result = TRANSFORMS[name](values, FieldMapping(column="c"), CTX)
    assert result.errors.isna().all(), result.errors.dropna().tolist()
    kept = [c for c, v in zip(cells, result.values, strict=True) if not _absent(v)]
    placeholders = [c for c in cells if c.strip().lower() in {"nan", "null", "none"}]
    assert len(kept) + len(placeholders) == len(cells)


#: letters and digits that NFKC leaves alone (`Ŀ` is `L·`, refused for its dot)
_label = st.text(
    st.characters(categories=["Ll", "Lu", "Lo", "Nd"]).filter(
        lambda c: unicodedata.normalize("NFKC", c) == c
    ),
    min_size=1,
    max_size=20,
)


@SWEEP
@given(labels=st.lists(st.lists(_label, min_size=1, max_size=3).map("-".join), min_size=1, max_size=5))
def test_host_names_of_any_script_are_accepted_and_stable(labels):
    """`müller-pc`, `ПК-01`, `工作站-7`: accepted, and normalising again changes nothing."""
    values = pd.Series(labels, dtype=object)
    result = TRANSFORMS["hostname"](values, FieldMapping(column="c"), CTX)
    long = [len(label) > 63 for label in labels]
    assert [e is not None for e in result.errors] == long, result.errors.tolist()
    again = TRANSFORMS["hostname"](result.values, FieldMapping(column="c"), CTX)
    assert again.values.tolist() == result.values.tolist()


@SWEEP
@given(cells=st.lists(st.tuples(_label, _label).map("-".join), min_size=1, max_size=6))
def test_serials_of_any_script_are_kept(cells):
    """A serial of letters and digits from any script is a serial, not a placeholder (unless
    it is one character repeated)."""
    values = pd.Series(cells, dtype=object)
    result = TRANSFORMS["serial"](values, FieldMapping(column="c"), CTX)
    for cell, value in zip(cells, result.values, strict=True):
        key = "".join(ch for ch in cell.upper() if ch.isalnum())
        repeated = len(set(key)) <= 1
        if not repeated and not any(p in key for p in ("NONE", "NULL", "NA", "TBD", "SN", "OEM")):
            assert not _absent(value), cell
