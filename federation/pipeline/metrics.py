"""Prometheus metrics of the gateway, in one dedicated registry served at /metrics.

The metric objects are module-level so that the sync loop can import and set them:

    from federation.pipeline import metrics
    metrics.SOURCE_UP.labels(source="cmdb").set(1)
    metrics.SYNC_SECONDS.labels(source="cmdb").observe(elapsed)

One registry per process: with several uvicorn workers each worker reports its own figures
(scrape them separately, or move to prometheus_client's multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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
)

# ---------------------------------------------------------------------------- syncing
SOURCE_UP = Gauge(
    "assetgraph_source_up",
    "1 if the source's last sync succeeded, 0 if it failed (serving stale data)",
    ["source"],
    registry=REGISTRY,
)
SOURCE_RECORDS = Gauge(
    "assetgraph_source_records",
    "Records in the source's current snapshot",
    ["source"],
    registry=REGISTRY,
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


def render() -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


__all__ = [
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
    "render",
]
