"""One store shared by a thread pool, as the server shares it: concurrent writers all land,
and threads racing to check out the same asset get one winner and clear refusals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from federation.workflow import Change, Checkout, WorkflowConflict, WorkflowStore

T = TypeVar("T")
THREADS = 8
ASSET = "aaaaaaaa-0000-4000-8000-000000000001"
PEOPLE = [f"bbbbbbbb-0000-4000-8000-00000000000{i}" for i in range(THREADS)]


def _together(work: Callable[[int], T]) -> list[T | BaseException]:
    """Run work(0..THREADS-1) on a pool, all starting at once; results or raised errors."""
    start = threading.Barrier(THREADS)

    def run(i: int) -> T | BaseException:
        start.wait()
        try:
            return work(i)
        except Exception as exc:  # collected for the assertions
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_concurrent_writers_all_land(store: WorkflowStore) -> None:
    per_thread = 25

    def write(i: int) -> list[int]:
        ids = []
        for j in range(per_thread):
            [kept] = store.record_changes([Change(
                entity="assets", entity_id=ASSET, field=f"t{i}", before=j, after=j + 1,
                outcome="accepted", actor=f"writer{i}@example.com", role="it",
            )])  # fmt: skip
            ids.append(kept.id)
        return ids

    results = _together(write)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    ids = [i for r in results if isinstance(r, list) for i in r]
    assert len(set(ids)) == THREADS * per_thread
    stored = store.changes()
    assert len(stored) == THREADS * per_thread
    assert {(c.field, c.after) for c in stored} == {
        (f"t{i}", j + 1) for i in range(THREADS) for j in range(per_thread)
    }


def test_threads_racing_for_one_asset_get_one_winner(store: WorkflowStore) -> None:
    def take(i: int) -> Checkout:
        return store.open_checkout(ASSET, actor=f"user{i}@example.com", to_person_id=PEOPLE[i])

    results: list[Any] = _together(take)
    winners = [r for r in results if isinstance(r, Checkout)]
    losers = [r for r in results if not isinstance(r, Checkout)]
    assert len(winners) == 1
    assert len(losers) == THREADS - 1
    assert all(isinstance(r, WorkflowConflict) and "is already checked out" in str(r) for r in losers), losers
    assert store.open_checkouts([ASSET]) == {ASSET: winners[0]}
