"""`sync_source`: the admin mutation that syncs a source now (or accepts a read its guard
held), through the same door as every root field. The sync runs where `assetgraph sync`
would run it: in this process if it can take the sync lock, else it asks the process that
holds it and waits (federation/pipeline/on_demand.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import strawberry

from federation.access.errors import SourceUnavailableError, UserInputError
from federation.access.policy import RoleAccess
from federation.config.settings import Config
from federation.pipeline.on_demand import SyncRequestError, UnknownSource, request_sync
from schema.authorize import authorize_capability

#: how long the mutation waits for a sync another process runs
WAIT = timedelta(minutes=10)


@strawberry.type(name="synced_source", description="One source's outcome in a sync.")
class SyncedSource:
    name: str
    status: str
    records: int
    quarantined: int
    error: str | None


@strawberry.type(name="sync_result", description="What a sync published.")
class SyncResult:
    snapshot_id: str | None
    sources: list[SyncedSource]


def mutation_fields(config: Config) -> Any:
    """access → {"sync_source": field} for roles holding the `sync` capability."""

    def fields_for(access: RoleAccess) -> dict[str, Any]:
        if not access.allowed("sync"):
            return {}

        def sync_source(info: strawberry.Info, name: str | None = None, accept: bool = False) -> SyncResult:
            authorize_capability(info.context, info.path.key, "sync")
            if accept and name is None:
                raise UserInputError("accept needs the name of the source whose held read to accept")
            try:
                report = request_sync(
                    config,
                    [name] if name is not None else None,
                    accept=[name] if accept and name is not None else [],
                    timeout=WAIT,
                )
            except UnknownSource as exc:
                raise UserInputError(str(exc)) from None
            except SyncRequestError as exc:
                raise SourceUnavailableError(str(exc)) from None
            return SyncResult(
                snapshot_id=report.snapshot_id,
                sources=[
                    SyncedSource(
                        name=r.source,
                        status=r.status,
                        records=r.records,
                        quarantined=r.quarantined,
                        error=r.error,
                    )
                    for r in report.sources
                ],
            )

        return {
            "sync_source": strawberry.field(
                resolver=sync_source,
                name="sync_source",
                description="Sync one source now (all without `name`); `accept: true` publishes a read "
                "its guard held.",
            )
        }

    return fields_for
