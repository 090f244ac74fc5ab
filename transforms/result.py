"""The normaliser contract: a column in, normalised values and per-row error reasons out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from transforms.context import TransformContext


@dataclass
class Normalised:
    """The outcome of one normaliser over one column.

    `values` and `errors` share the input's index. `errors` holds a human reason (str) where a
    non-empty input could not be normalised and None elsewhere; such rows have a null value.
    `extra` carries further per-row outputs keyed by a suffix: the mapping engine writes
    `extra[k]` to the unified column `<field>_<k>` when the entity has that column and the
    stream does not map it itself (money gives `{"currency": ...}` → `cost_currency`).
    """

    values: pd.Series
    errors: pd.Series
    extra: dict[str, pd.Series] = field(default_factory=dict)

    @classmethod
    def ok(cls, values: pd.Series, **extra: pd.Series) -> Normalised:
        """A result without errors."""
        return cls(values, no_errors(values.index), dict(extra))


class Normaliser(Protocol):
    """`(values, mapping, ctx) -> Normalised`: vectorised over the whole column."""

    def __call__(self, values: pd.Series, mapping: FieldMapping, ctx: TransformContext, /) -> Normalised: ...


def no_errors(index: pd.Index) -> pd.Series:
    """An all-None error column."""
    return pd.Series(np.full(len(index), None, dtype=object), index=index)


def reasons(failed: pd.Series, message: pd.Series | str) -> pd.Series:
    """Errors where `failed` is True: `message` (a constant or a per-row Series), else None."""
    if isinstance(message, str):
        message = pd.Series(message, index=failed.index, dtype=object)
    return message.astype(object).where(failed.to_numpy(dtype=bool), None)


def first_error(*columns: pd.Series) -> pd.Series:
    """Combine error columns over the same index: the first non-None reason per row."""
    out = columns[0].astype(object)
    for other in columns[1:]:
        out = out.where(out.notna(), other.astype(object))
    return out.where(out.notna(), None)
