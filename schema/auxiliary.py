"""Types and root fields over the auxiliary published tables: where each asset value came
from (`sources`, `provenance`, `conflicts` on `assets`), the sync state of each source
(`sources`), quarantined records (`quarantine`), identity ambiguities (`ambiguities`), and the
values left out of published records with the reason (`quality`, `quality_summary`, and
`quality` on `assets`)."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.execute import ROOT, Root
from schema.scalars import Jsonb, Timestamptz
from schema.view import View


@strawberry.type(name="asset_source", description="A source record merged into the asset.")
class AssetSource:
    source: str
    record_id: str
    fetched_at: Timestamptz | None


@strawberry.type(name="asset_provenance", description="Which source gave a field its value.")
class AssetProvenance:
    field: str
    source: str
    record_id: str | None
    value: Jsonb | None
    fetched_at: Timestamptz | None


@strawberry.type(name="asset_conflict_value", description="One source's value of a field.")
class AssetConflictValue:
    source: str
    record_id: str | None
    value: Jsonb | None


@strawberry.type(name="asset_conflict", description="A field on which sources disagree.")
class AssetConflict:
    field: str
    values: list[AssetConflictValue]


@strawberry.type(
    name="changes",
    description="One field of one mutation, accepted or refused (the gateway's change history).",
)
class Change:
    id: int
    at: Timestamptz
    actor: str
    role: str
    entity: str
    entity_id: str
    field: str
    before: Jsonb | None
    after: Jsonb | None
    source: str | None
    record_id: str | None
    outcome: str
    reason: str | None
    request_id: str | None


@strawberry.type(
    name="checkouts", description="One loan of an asset: out to a person or a location, and back."
)
class CheckoutRecord:
    id: str
    asset_id: str
    asset_tag: str | None
    to_person_id: str | None
    to_location_id: str | None
    checked_out_at: Timestamptz
    expected_checkin: Timestamptz | None
    note_out: str | None
    actor: str
    checked_in_at: Timestamptz | None
    checkin_location_id: str | None
    condition: str | None
    note_in: str | None
    checked_in_by: str | None


@strawberry.type(name="maintenance", description="A repair, upgrade or inspection of an asset.")
class MaintenanceRecord:
    id: str
    asset_id: str
    kind: str
    notes: str | None
    cost: float | None
    started_at: Timestamptz
    done_at: Timestamptz | None
    ticket: str | None
    status: str
    previous_status: str | None
    opened_by: str
    closed_by: str | None
    ticket_sys_id: str | None = strawberry.field(
        default=None, description="The sys_id in ServiceNow of the ticket the gateway opened."
    )
    ticket_status: str | None = strawberry.field(
        default=None,
        description="The ticket the gateway opens: pending, opened (`ticket` is its number) or failed; "
        "null: none (`ticket` may be one the caller gave).",
    )
    ticket_error: str | None = strawberry.field(
        default=None, description="Why the last attempt to open the ticket failed."
    )
    ticket_state: str | None = strawberry.field(
        default=None, description="The ticket's state as ServiceNow last answered an update (6: Resolved)."
    )
    ticket_update: str | None = strawberry.field(
        default=None,
        description="The latest update of the ticket (the repair closed): pending (waiting to be sent, or "
        "for the ticket to open), sent or failed; null: none.",
    )
    ticket_update_error: str | None = strawberry.field(
        default=None, description="Why the latest update of the ticket is not sent yet."
    )


@strawberry.type(name="source_status", description="Sync state of one configured source.")
class SourceStatus:
    name: str
    kind: str | None
    status: str | None
    last_sync_at: Timestamptz | None
    last_success_at: Timestamptz | None
    record_count: int | None
    stale: bool | None
    error: str | None


@strawberry.type(name="quarantine_record", description="A source record that was not loaded.")
class QuarantineRecord:
    source: str
    entity: str | None
    record_id: str | None
    reason: str | None
    raw: Jsonb | None
    quarantined_at: Timestamptz | None


@strawberry.type(
    name="asset_quality", description="A value of a merged record left out because it could not be read."
)
class AssetQuality:
    field: str
    source: str
    record_id: str | None
    value: Jsonb | None
    reason: str | None


@strawberry.type(
    name="quality_note",
    description="A value left out of a published record (`on_invalid: blank`): the record merged without it.",
)
class QualityNote:
    source: str
    entity: str | None
    record_id: str | None
    field: str | None
    value: Jsonb | None
    reason: str | None
    noted_at: Timestamptz | None


@strawberry.type(
    name="quality_summary",
    description="Quality notes counted by source, entity, field and reason (quoted values as …).",
)
class QualitySummary:
    source: str
    entity: str | None
    field: str | None
    reason: str | None
    count: int


@strawberry.type(name="ambiguity", description="A record that matched several entities.")
class Ambiguity:
    entity: str | None
    source: str | None
    record_id: str | None
    rule: str | None
    candidate_ids: list[str] | None
    reason: str | None


def _compiled(info: strawberry.Info) -> Any:
    raise RuntimeError("compiled root fields are answered by schema.execute.CompiledExecution")


def root_fields(view: View) -> dict[str, Any]:
    """The auxiliary root fields this view may use, as strawberry fields (answered by the
    compiled path through the door: schema.execute)."""
    fields: dict[str, Any] = {}

    if "sources" in view.fields:

        def sources(info: strawberry.Info) -> list[SourceStatus]:
            return _compiled(info)

        fields["sources"] = strawberry.field(
            resolver=sources,
            name="sources",
            description="Sync state of every source.",
            metadata={ROOT: Root("aux", "sources", view)},
        )

    if "quarantine" in view.fields:

        def quarantine(
            info: strawberry.Info,
            source: str | None = None,
            limit: int | None = None,
            offset: int | None = None,
        ) -> list[QuarantineRecord]:
            return _compiled(info)

        fields["quarantine"] = strawberry.field(
            resolver=quarantine,
            name="quarantine",
            description="Records that could not be loaded.",
            metadata={ROOT: Root("aux", "quarantine", view)},
        )

    if "quality" in view.fields:

        def quality(
            info: strawberry.Info,
            source: str | None = None,
            entity: str | None = None,
            field: str | None = None,
            limit: int | None = None,
            offset: int | None = None,
        ) -> list[QualityNote]:
            return _compiled(info)

        fields["quality"] = strawberry.field(
            resolver=quality,
            name="quality",
            description="Values left out of published records because they could not be read.",
            metadata={ROOT: Root("aux", "quality", view)},
        )

    if "quality_summary" in view.fields:

        def quality_summary(
            info: strawberry.Info,
            source: str | None = None,
            entity: str | None = None,
            field: str | None = None,
            limit: int | None = None,
            offset: int | None = None,
        ) -> list[QualitySummary]:
            return _compiled(info)

        fields["quality_summary"] = strawberry.field(
            resolver=quality_summary,
            name="quality_summary",
            description="Quality notes counted by source, entity, field and reason, most frequent first.",
            metadata={ROOT: Root("aux", "quality_summary", view)},
        )

    if "ambiguities" in view.fields:

        def ambiguities(
            info: strawberry.Info,
            entity: str | None = None,
            source: str | None = None,
            limit: int | None = None,
            offset: int | None = None,
        ) -> list[Ambiguity]:
            return _compiled(info)

        fields["ambiguities"] = strawberry.field(
            resolver=ambiguities,
            name="ambiguities",
            description="Records that matched more than one entity.",
            metadata={ROOT: Root("aux", "ambiguities", view)},
        )
    return fields
