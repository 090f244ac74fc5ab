"""Timestamps leave the compiled statement as `serialize_timestamptz` writes them: UTC, ISO
8601, microseconds only when there are some (Python's `isoformat`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from schema_estate import Runner

from federation.pipeline.store import Publisher
from schema.scalars import serialize_timestamptz

SEEN = [
    datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC),
    datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC),
    datetime(2024, 5, 1, 10, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 5, 1, 23, 59, 59, 120000, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2))),
    None,
]


def test_timestamps_with_and_without_microseconds(tmp_path: Path, schema: Any) -> None:
    ids = [f"a0000000-0000-4000-8000-{n:012d}" for n in range(len(SEEN))]
    frame = pd.DataFrame({"id": ids, "last_seen": pd.Series(SEEN, dtype=object)})
    Publisher(tmp_path).publish({"assets": frame})
    run = Runner(tmp_path, schema)
    data = run.data("{ assets(order_by: [{id: asc}], limit: 10) { last_seen } }")
    expected = [serialize_timestamptz(v) if v is not None else None for v in SEEN]
    assert [a["last_seen"] for a in data["assets"]] == expected
    assert expected[:3] == [
        "2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.500000+00:00", "2024-05-01T10:00:00.000001+00:00"
    ]  # fmt: skip
