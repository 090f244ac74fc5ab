"""Quarantined rows (why a record was not published, and the record as the source gave it)
and quality notes (a value left out of a published record, and why)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from transforms.result import no_errors

QUARANTINE_COLUMNS = ("record_id", "reason", "raw")


def combine_reasons(n: int, labelled: Iterable[tuple[str | None, pd.Series]]) -> pd.Series:
    """Per row (positions 0..n-1), the reasons of every labelled error column joined with
    "; ", each prefixed with its label (`cost: cannot read …`); None where a row has none."""
    parts = []
    for label, errors in labelled:
        found = errors.dropna()
        if len(found):
            text = found.astype(str)
            parts.append(text if label is None else f"{label}: " + text)
    out = no_errors(pd.RangeIndex(n))
    if parts:
        joined = pd.concat(parts).groupby(level=0, sort=True).agg("; ".join)
        out[joined.index] = joined.to_numpy()
    return out


def raw_json(frame: pd.DataFrame) -> list[str]:
    """Each row of `frame` as JSON text: dates as ISO 8601, NaN and NaT as null."""
    return [
        json.dumps({str(k): _jsonable(v) for k, v in row.items()}, default=str, ensure_ascii=False)
        for row in frame.to_dict("records")
    ]


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in QUARANTINE_COLUMNS})


QUALITY_COLUMNS = ("record_id", "field", "value", "reason")


def json_cell(value: Any) -> str:
    """One source cell as JSON text (as `raw_json` writes it): the value a quality note is about."""
    return json.dumps(_jsonable(value), default=str, ensure_ascii=False)


def empty_quality() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in QUALITY_COLUMNS})
