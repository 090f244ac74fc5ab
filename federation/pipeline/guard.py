"""A source's guard: is a fresh read believable enough to replace its last good snapshot?

A source that suddenly returns nothing (a header-only CSV export, an API that answers an empty
page) or records without a field everyone relies on (Okta users without `profile.email`) is
more likely broken than right. `guard:` in a source's config says what to expect:

    guard:
      max_drop: 20%       # a full read may lose at most 20% of an entity's records
      required: [email]   # every record has an email ({email: 95%}: at least 95% of them)

A read that breaks it is held: the last good snapshot stays and the source shows stale with
the reason, until a later read passes or an admin accepts the read (`sync --accept`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from connectors.base import SourceConfig
from federation.model import TABLES
from transforms.mapping import output_column


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"


def _empty(values: pd.Series) -> pd.Series:
    """True where a value counts as missing: null, blank text, an empty list."""

    def blank(v: object) -> bool:
        if v is None:
            return True
        if isinstance(v, str):
            return not v.strip()
        if isinstance(v, list | tuple | dict):
            return len(v) == 0
        try:
            return bool(pd.isna(v))
        except (TypeError, ValueError):
            return False

    return values.map(blank).astype(bool)


def guard_breaches(
    source: SourceConfig,
    frames: Mapping[str, pd.DataFrame],
    incremental: set[str] | frozenset[str],
    baseline: Mapping[str, int],
) -> list[str]:
    """What the read breaks of `source.guard`, one line per breach (empty: it passes).

    `frames` are the read's normalised rows per entity; `incremental` the entities read only
    for their changes (they cannot show a drop); `baseline` the record count per entity of the
    last good snapshot (absent: never synced, nothing to compare with)."""
    guard = source.guard
    problems: list[str] = []
    for entity, frame in frames.items():
        before = baseline.get(entity, 0)
        after = len(frame)
        if guard.max_drop is not None and entity not in incremental and before > 0 and after < before:
            drop = (before - after) / before
            if drop > guard.max_drop:
                problems.append(
                    f"{entity}: {after:,} records, down from {before:,} (-{_percent(drop)}, "
                    f"over guard.max_drop {_percent(guard.max_drop)})"
                )
        if not after:
            continue
        table = TABLES[entity]
        for field, share in source.required_fields(entity).items():
            column = output_column(table, field)
            missing = int(_empty(frame[column]).sum()) if column in frame.columns else after
            filled = (after - missing) / after
            if filled < share:
                want = "every record" if share >= 1 else f"{_percent(share)} of them"
                problems.append(
                    f"{entity}.{field}: empty in {missing:,} of {after:,} records (guard.required: {want})"
                )
    return problems


def held_reason(source: str, problems: list[str]) -> str:
    """The error a held source shows in `sources { error }` and in `assetgraph sync`."""
    return (
        f"held by its guard: {'; '.join(problems)}. The last good snapshot stays; if the read "
        f"is right, accept it: assetgraph sync --accept {source}"
    )
