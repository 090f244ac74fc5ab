"""`tickets:` in config.yaml: the gateway opens a ServiceNow ticket for each request and for
each maintenance record it opens, through a `kind: servicenow` source's Table API.

    tickets:
      source: itsm                        # a source of kind servicenow (it may read nothing)
      open_for: [requests, maintenance]   # the default: both
      requests: {table: sc_request}       # the defaults: sc_request and incident
      maintenance:
        table: incident
        fields: {category: hardware, assignment_group: Service Desk}   # set on every ticket
        updates:                          # what the incident is told (see ticket_updates.py)
          closed: {state: 6, close_code: Solved (Permanently), close_notes: "{summary}"}
      timeout: 10s                        # each call's limit (a look, then a post)
      max_attempts: 8                     # then the ticket is `failed` (retry_tickets sends it again)

The gateway writes `short_description`, `description`, `correlation_id` and
`correlation_display` itself; `fields` adds constant values to every ticket of that kind. A
form may opt out with `ticket: false`. Checked with the rest of the config: a source that is not
there or not of kind servicenow is refused with the path of the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base import parse_duration
from federation.config.forms import FormConfig
from federation.config.ticket_updates import MaintenanceUpdates, RequestUpdates

#: the records a ticket may be opened for
TICKET_RECORDS = ("requests", "maintenance")
#: the fields the gateway fills on every ticket
GATEWAY_FIELDS = ("short_description", "description", "correlation_id", "correlation_display")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketTable(_Strict):
    #: the Table API table the tickets go in
    table: str
    #: constant fields of every ticket (an assignment group, a category)
    fields: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not a table name (lower case letters, digits and _)")
        return value

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: dict[str, Any]) -> dict[str, Any]:
        for name in fields:
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a field name (lower case letters, digits and _)")
            if name in GATEWAY_FIELDS:
                raise ValueError(
                    f"{name!r} is written by the gateway; the fields it sets are {', '.join(GATEWAY_FIELDS)}"
                )
        return fields


class RequestTickets(TicketTable):
    #: what the ticket is told as the request moves on
    updates: RequestUpdates = Field(default_factory=RequestUpdates)


class MaintenanceTickets(TicketTable):
    #: what the ticket is told when the repair is closed
    updates: MaintenanceUpdates = Field(default_factory=MaintenanceUpdates)


class TicketsConfig(_Strict):
    #: the `kind: servicenow` source whose Table API opens the tickets
    source: str
    open_for: list[Literal["requests", "maintenance"]] = Field(
        default_factory=lambda: list(TICKET_RECORDS), min_length=1
    )
    requests: RequestTickets = Field(default_factory=lambda: RequestTickets(table="sc_request"))
    maintenance: MaintenanceTickets = Field(default_factory=lambda: MaintenanceTickets(table="incident"))
    #: each call's limit (an attempt looks, then posts; the first is made while the mutation
    #: answers)
    timeout: timedelta = timedelta(seconds=10)
    #: attempts before a ticket is given up (`failed`), with a growing wait between them
    max_attempts: int = Field(default=8, ge=1, le=50)

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("timeout")
    @classmethod
    def _bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=5):
            raise ValueError("between 1s and 5m: a request waits for the first attempt")
        return value

    @field_validator("open_for")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        twice = sorted({v for v in value if value.count(v) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} named twice")
        return value

    def table(self, record: str) -> RequestTickets | MaintenanceTickets:
        return self.requests if record == "requests" else self.maintenance

    def update_for(self, record: str, state: str) -> dict[str, Any] | None:
        """The fields a ticket of `record` is told when the record reaches `state` (None: no
        update), `{placeholders}` still in."""
        return self.table(record).updates.fields_for(state)

    def opens_for(self, record: str, form: FormConfig | None = None) -> bool:
        """Whether a ticket is opened for this kind of record (a request through `form`)."""
        return record in self.open_for and (form is None or form.ticket is not False)


def ticket_checks(
    tickets: TicketsConfig | None, sources: Sequence[Any], forms: Mapping[str, FormConfig]
) -> list[str]:
    """Problems of `tickets:` against the sources (raw entries) and the forms, with their path."""
    problems = []
    if tickets is not None:
        entries = {s.get("name"): s for s in sources if isinstance(s, dict)}
        found = entries.get(tickets.source)
        if found is None:
            named = ", ".join(str(n) for n in entries) or "(no sources)"
            problems.append(f"tickets.source: no source named {tickets.source!r}; expected one of {named}")
        elif found.get("kind") != "servicenow":
            problems.append(
                f"tickets.source: source {tickets.source!r} is of kind {found.get('kind')!r}; tickets are "
                "opened through ServiceNow's Table API: name a source of kind servicenow (one with "
                "`entities: {assets: null, people: null, locations: null}` reads nothing)"
            )
    for name, form in forms.items():
        if form.ticket and (tickets is None or "requests" not in tickets.open_for):
            why = (
                "there is no `tickets:` section"
                if tickets is None
                else "tickets.open_for does not name requests"
            )
            problems.append(f"forms.{name}.ticket: no ticket is opened for requests ({why})")
    return problems
