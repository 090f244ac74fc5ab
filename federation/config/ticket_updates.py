"""`tickets.requests.updates` and `tickets.maintenance.updates`: what the gateway tells the
ServiceNow ticket of a record when the record moves on (a Table API PATCH of its sys_id).

    tickets:
      requests:
        table: sc_request
        updates:                                # the defaults, ServiceNow's own choices
          approved:  {approval: approved, request_state: in_process}
          fulfilled: {request_state: closed_complete, state: 3}
          rejected:  {approval: rejected, request_state: closed_rejected, state: 4}
          cancelled: {request_state: closed_cancelled, state: 4}
      maintenance:
        table: incident
        updates:
          closed: {state: 6, close_code: Solution provided, close_notes: "{summary}"}

A state named here replaces its default; a state set to `null` tells ServiceNow nothing; a
state not named keeps its default. Every update also carries a work note (`work_notes`) saying
what happened and who did it. Text values may use `{summary}` (that sentence), `{actor}`,
`{reason}` (a rejection's or cancellation's reason, a fulfilment's note), `{notes}` (a
repair's notes) and `{number}` (the ticket's number). Checked at load: a state the record does
not have, a field name that is not one, a field the gateway writes, an unknown `{name}`, each
refused with the path of the key.
"""

from __future__ import annotations

import re
import string
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

#: the fields the gateway writes on every update (or that identify the ticket)
UPDATE_GATEWAY_FIELDS = ("work_notes", "correlation_id", "correlation_display", "sys_id", "number")
#: the `{name}`s a text value may hold
PLACEHOLDERS = ("summary", "actor", "reason", "notes", "number")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")

Fields = dict[str, str | int | float | bool] | None


def check_fields(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """Field names that are names and not the gateway's; `{placeholders}` that are known."""
    for name, value in (fields or {}).items():
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a field name (lower case letters, digits and _)")
        if name in UPDATE_GATEWAY_FIELDS:
            raise ValueError(
                f"{name!r} is written by the gateway; it writes {', '.join(UPDATE_GATEWAY_FIELDS)}"
            )
        if isinstance(value, str):
            try:
                used = [part[1] for part in string.Formatter().parse(value) if part[1] is not None]
            except ValueError as exc:
                raise ValueError(f"{name}: {value!r}: {exc} (write {{{{ for a brace)") from None
            unknown = sorted({u for u in used if u not in PLACEHOLDERS})
            if unknown:
                raise ValueError(
                    f"{name}: {{{unknown[0]}}} is not known; a value may use "
                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                )
    return fields


class _Updates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def fields_for(self, state: str) -> dict[str, Any] | None:
        """What the ticket is told when its record reaches `state` (None: nothing)."""
        found: dict[str, Any] | None = getattr(self, state, None)
        return found


class RequestUpdates(_Updates):
    """What an sc_request is told as its request moves on (ServiceNow's request_state choices)."""

    approved: Fields = {"approval": "approved", "request_state": "in_process"}
    fulfilled: Fields = {"request_state": "closed_complete", "state": 3}
    rejected: Fields = {"approval": "rejected", "request_state": "closed_rejected", "state": 4}
    cancelled: Fields = {"request_state": "closed_cancelled", "state": 4}

    _check = field_validator("approved", "fulfilled", "rejected", "cancelled")(check_fields)


class MaintenanceUpdates(_Updates):
    """What an incident is told when its repair is closed: Resolved (6), with the close code
    and notes ServiceNow requires to resolve one."""

    closed: Fields = {"state": 6, "close_code": "Solution provided", "close_notes": "{summary}"}

    _check = field_validator("closed")(check_fields)


def render(fields: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """`fields` with their `{placeholders}` filled from `values` (missing ones empty)."""
    known = {name: values.get(name) or "" for name in PLACEHOLDERS}
    return {k: v.format_map(known) if isinstance(v, str) else v for k, v in fields.items()}
