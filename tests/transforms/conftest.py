from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from connectors.fields import FieldMapping
from transforms.context import TransformContext
from transforms.registry import TRANSFORMS
from transforms.result import Normalised

Apply = Callable[..., Normalised]


@pytest.fixture
def ctx() -> TransformContext:
    return TransformContext(rates={"EUR": 1.10, "GBP": 1.25, "JPY": 0.0067})


@pytest.fixture
def apply(ctx: TransformContext) -> Apply:
    """apply(name, cells, context=None, **mapping fields) → Normalised over a Series."""

    def run(
        name: str, cells: list[Any], context: TransformContext | None = None, **mapping: Any
    ) -> Normalised:
        series = pd.Series(cells, dtype=object) if isinstance(cells, list) else cells
        field = FieldMapping(column="col", **mapping)
        result = TRANSFORMS[name](series, field, context or ctx)
        assert result.values.index.equals(series.index)
        assert result.errors.index.equals(series.index)
        return result

    return run


@pytest.fixture
def one(apply: Apply) -> Callable[..., tuple[Any, str | None]]:
    """one(name, cell, **mapping) → (normalised value or None, error or None)."""

    def run(name: str, cell: Any, **mapping: Any) -> tuple[Any, str | None]:
        result = apply(name, [cell], **mapping)
        out = result.values.iloc[0]
        return (None if _missing(out) else out), result.errors.iloc[0]

    return run


def _missing(value: Any) -> bool:
    return not isinstance(value, list) and bool(pd.isna(value))
