"""The webhook events a sync round causes: a source going stale (failed, or held by its
guard) or recovering, and a license becoming over-allocated (more seats assigned than
purchased) in the newly published snapshot.

    scheduler = SyncScheduler(config, on_report=SyncEvents(store, reader))

Transitions are those this process saw: the first round it runs sets what is known (a source
already stale then, or a license already over-allocated, is reported once, at that round).
"""

from __future__ import annotations

from typing import Any

from federation.pipeline.store import StoreReader
from federation.pipeline.sync import SyncReport
from federation.workflow.store import WorkflowStore

_OVER_ALLOCATED = """
    SELECT id, product, vendor, seats_purchased, seats_assigned
    FROM license_compliance
    WHERE seats_purchased IS NOT NULL AND seats_assigned > seats_purchased
"""


class SyncEvents:
    def __init__(self, store: WorkflowStore, reader: StoreReader) -> None:
        self.store = store
        self.reader = reader
        #: source → ok | failed | held, as last seen
        self._status: dict[str, str] = {}
        #: licensed products over-allocated in the last snapshot looked at
        self._over: set[str] | None = None

    def __call__(self, report: SyncReport) -> None:
        if not self.store.webhooks:
            return
        for result in report.sources:
            before = self._status.get(result.source)
            self._status[result.source] = result.status
            if result.status != "ok" and before in (None, "ok"):
                self.store.emit(
                    "source.stale",
                    {"source": result.source, "status": result.status, "error": result.error},
                )
            elif result.status == "ok" and before not in (None, "ok"):
                self.store.emit("source.recovered", {"source": result.source, "was": before})
        if report.snapshot_id is not None:
            self._licenses()

    def _licenses(self) -> None:
        snapshot = self.reader.current()
        if snapshot is None:
            return
        rows = snapshot.query(_OVER_ALLOCATED)
        now = {str(row[0]): row for row in rows}
        for product_id in sorted(set(now) - (self._over or set())):
            row: Any = now[product_id]
            self.store.emit(
                "license.over_allocated",
                {"id": product_id, "product": row[1], "vendor": row[2], "seats_purchased": row[3],
                 "seats_assigned": row[4]},
            )  # fmt: skip
        self._over = set(now)
