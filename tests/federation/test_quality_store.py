"""Quality notes in the source store: kept with the source's snapshot, replaced like the
quarantine — all of an entity's by a full read; by an incremental read, those of the records
read again (fixed, still bad, or now quarantined) — and dropped with a removed source."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from federation.pipeline.store import SourceStore


def rows(*ids: str) -> pd.DataFrame:
    return pd.DataFrame({"record_id": list(ids), "status": ["in_use"] * len(ids)})


def notes(*entries: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [("assets", r, f, f'"{v}"', f"cannot read {v!r}") for r, f, v in entries],
        columns=["entity", "record_id", "field", "value", "reason"],
    )


def quarantine(*ids: str) -> pd.DataFrame:
    return pd.DataFrame(
        [("assets", i, "serial_number: mangled", "{}") for i in ids],
        columns=["entity", "record_id", "reason", "raw"],
    )


def kept(store: SourceStore) -> set[tuple[str, str, str, str]]:
    frame = store.quality_frame()
    return set(frame[["source", "record_id", "field", "value"]].itertuples(index=False, name=None))


def test_full_and_incremental_reads_replace_the_notes_they_supersede(tmp_path: Path) -> None:
    store = SourceStore(tmp_path)
    try:
        store.replace_source(
            "cmdb", "sql", {"assets": rows("1", "2", "3")}, quarantine(), {},
            quality=notes(("1", "cost", "TBD"), ("2", "status", "gone"), ("3", "cost", "lots")),
        )  # fmt: skip
        store.replace_source(
            "other", "sql", {"assets": rows("9")}, quarantine(), {}, quality=notes(("9", "cost", "x"))
        )
        assert kept(store) == {
            ("cmdb", "1", "cost", '"TBD"'), ("cmdb", "2", "status", '"gone"'),
            ("cmdb", "3", "cost", '"lots"'), ("other", "9", "cost", '"x"'),
        }  # fmt: skip
        # incremental: 1 fixed, 2 still bad (another value), 3 now quarantined; 4 new; others kept
        store.replace_source(
            "cmdb", "sql", {"assets": rows("1", "2", "4")}, quarantine("3"), {},
            incremental={"assets"}, quality=notes(("2", "status", "worse"), ("4", "cost", "?")),
        )  # fmt: skip
        assert kept(store) == {
            ("cmdb", "2", "status", '"worse"'), ("cmdb", "4", "cost", '"?"'), ("other", "9", "cost", '"x"'),
        }  # fmt: skip
        # a full read replaces every note of the entity
        store.replace_source("cmdb", "sql", {"assets": rows("1", "2")}, quarantine(), {}, quality=notes())
        assert kept(store) == {("other", "9", "cost", '"x"')}
        store.drop_source("other")
        assert kept(store) == set()
    finally:
        store.close()
