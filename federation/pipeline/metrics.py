"""Prometheus metrics of the gateway, in one dedicated registry served at /metrics.

The metric objects are module-level so that the sync loop can import and set them:

    from federation.pipeline import metrics
    metrics.SOURCE_UP.labels(source="cmdb").set(1)
    metrics.SYNC_SECONDS.labels(source="cmdb").observe(elapsed)

With several serving processes (`assetgraph serve --workers N`) the metrics run in
prometheus_client's multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` names a folder where every
process keeps its figures, and a scrape of any process adds up all of them (counters and
histograms summed; the per-source gauges, which only the syncing process sets, report the
newest value). The variable must be set before this module is first imported: `serve` sets it
for its workers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from federation.pipeline.store import SourceState
    from federation.pipeline.sync import SourceResult

#: the folder of multiprocess mode (prometheus_client's own variable)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)

# ---------------------------------------------------------------------------- serving
REQUESTS = Counter(
    "assetgraph_graphql_requests",
    "GraphQL requests by operation type (query, mutation, unknown) and outcome "
    "(ok, error, bad_request, not_ready)",
    ["operation_type", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "assetgraph_graphql_request_seconds",
    "Time to answer a GraphQL request, cache hits included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ERRORS = Counter(
    "assetgraph_graphql_errors",
    "GraphQL errors returned, by extensions.code",
    ["code"],
    registry=REGISTRY,
)
CACHE_HITS = Counter(
    "assetgraph_cache_hits", "GraphQL results served from the result cache", registry=REGISTRY
)
CACHE_MISSES = Counter(
    "assetgraph_cache_misses", "GraphQL result cache look-ups that missed", registry=REGISTRY
)
SNAPSHOT_AGE = Gauge(
    "assetgraph_snapshot_age_seconds",
    "Age of the published snapshot being served (NaN before the first publish)",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",  # set by the process answering the scrape, just before
)
ACCESS_LOG_WAITS = Counter(
    "assetgraph_access_log_waits",
    "Requests that waited for room in the access log's queue (its writer fell behind): "
    "slowed down, never dropped",
    registry=REGISTRY,
)
ACCESS_LOG_PENDING = Gauge(
    "assetgraph_access_log_pending",
    "Access log entries queued and not yet written",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
ACCESS_LOG_WRITE_ERRORS = Counter(
    "assetgraph_access_log_write_errors",
    "Failed attempts to append a batch to the access log (retried until written)",
    registry=REGISTRY,
)

# ---------------------------------------------------------------------------- syncing
SOURCE_UP = Gauge(
    "assetgraph_source_up",
    "1 if the source's last sync succeeded, 0 if it failed (serving stale data)",
    ["source"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",  # only the syncing process sets it
)
SOURCE_RECORDS = Gauge(
    "assetgraph_source_records",
    "Records in the source's current snapshot",
    ["source"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
SYNC_SECONDS = Histogram(
    "assetgraph_sync_seconds",
    "Duration of one sync of a source",
    ["source"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    registry=REGISTRY,
)
SYNC_RUN_FAILURES = Counter(
    "assetgraph_sync_run_failures",
    "Sync rounds that failed as a whole (reconcile or publish), retried with a backoff",
    registry=REGISTRY,
)
SYNC_FAILURES = Counter(
    "assetgraph_sync_failures",
    "Failed syncs of a source",
    ["source"],
    registry=REGISTRY,
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def render() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, and their content type: this process's,
    or in multiprocess mode those of every process sharing the folder."""
    if not multiprocess_mode():
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Forget a stopped process's live gauges (multiprocess mode; a no-op otherwise)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)


__all__ = [
    "ACCESS_LOG_PENDING",
    "ACCESS_LOG_WAITS",
    "ACCESS_LOG_WRITE_ERRORS",
    "CACHE_HITS",
    "CACHE_MISSES",
    "ERRORS",
    "REGISTRY",
    "REQUESTS",
    "REQUEST_SECONDS",
    "SNAPSHOT_AGE",
    "SOURCE_RECORDS",
    "SOURCE_UP",
    "SYNC_FAILURES",
    "SYNC_RUN_FAILURES",
    "SYNC_SECONDS",
    "observe_state",
    "observe_sync",
    "process_exited",
    "render",
]


def observe_sync(result: SourceResult) -> None:
    """Record one source's sync in the metrics above."""
    SOURCE_UP.labels(source=result.source).set(1 if result.ok else 0)
    SYNC_SECONDS.labels(source=result.source).observe(result.seconds)
    if result.ok:
        SOURCE_RECORDS.labels(source=result.source).set(result.records)
    else:
        SYNC_FAILURES.labels(source=result.source).inc()


def observe_state(state: SourceState) -> None:
    """Report a source as its stored sync state left it (before this process synced it)."""
    if state.status in ("ok", "failed"):
        SOURCE_UP.labels(source=state.source).set(1 if state.status == "ok" else 0)
        SOURCE_RECORDS.labels(source=state.source).set(state.record_count)
