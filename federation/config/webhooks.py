"""`webhooks:` in config.yaml: where the gateway sends its events, in the Standard Webhooks
format (https://www.standardwebhooks.com: `webhook-id`, `webhook-timestamp` and
`webhook-signature` headers, HMAC-SHA256 with a `whsec_` secret).

    webhooks:
      - name: itsm
        url: https://itsm.example.com/hooks/assetgraph
        secret: ${ITSM_WEBHOOK_SECRET}     # whsec_ + base64 of 24 to 64 random bytes
        events: [asset.checked_out, asset.checked_in, request.*]
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base import parse_duration

#: every event the gateway sends, and what carries it
EVENTS: dict[str, str] = {
    "asset.checked_out": "the service desk checked an asset out (to a person or a location)",
    "asset.checked_in": "a checked-out asset came back",
    "maintenance.opened": "a maintenance record was opened (the asset is in repair)",
    "maintenance.closed": "a maintenance record was closed",
    "request.submitted": "a request was submitted through a form",
    "request.approved": "a request was approved (every approval step is done)",
    "request.rejected": "a request was rejected",
    "request.fulfilled": "a request was fulfilled",
    "request.cancelled": "a request was cancelled",
    "write.conflict": "a write was refused because the source changed since the caller's snapshot",
    "source.stale": "a source failed or was held: its last good data is served",
    "source.recovered": "a source that was stale synced again",
    "license.over_allocated": "a license has more seats assigned than purchased",
}


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: names the subscription in logs and in the delivery records
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: str = Field(pattern=r"^https?://\S+$")
    #: `whsec_` followed by base64 of the signing key (Standard Webhooks' format)
    secret: str
    #: event names or patterns (`request.*`, `*`)
    events: list[str] = Field(min_length=1)
    #: one delivery attempt's limit
    timeout: timedelta = timedelta(seconds=10)
    #: attempts before a delivery is given up (failed), with exponential backoff between
    max_attempts: int = Field(default=8, ge=1, le=50)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        # never repeat the value: it is a secret
        if not value.startswith("whsec_"):
            raise ValueError("expected `whsec_` followed by base64 (a Standard Webhooks secret)")
        try:
            key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("the part after `whsec_` is not base64") from None
        if len(key) < 24:
            raise ValueError("the key is shorter than 24 bytes: generate at least 24 random bytes")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(event, pattern) for event in EVENTS):
                raise ValueError(f"{pattern!r} names no event; the events are: {', '.join(EVENTS)}")
        return patterns

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    def wants(self, event: str) -> bool:
        return any(fnmatch.fnmatchcase(event, pattern) for pattern in self.events)


class TicketHookConfig(BaseModel):
    """`ticket_hook:` the inbound POST /hooks/tickets, by which a ticketing tool reports an
    incident against an asset (a maintenance record opens). Callers authenticate with an API
    key or token of a role that may `maintain` assets, or, with `secret`, with a Standard
    Webhooks signature, acting as `role`."""

    model_config = ConfigDict(extra="forbid")

    #: `whsec_…`: signed calls are accepted, acting as `role`
    secret: str | None = None
    role: str | None = None
    #: the maintenance kind an incident opens when the call names none
    kind: str = Field(default="repair", min_length=1, max_length=100)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else WebhookConfig._secret(value)

    def model_post_init(self, context: Any) -> None:
        if (self.secret is None) != (self.role is None):
            raise ValueError("give `secret` and `role` together (signed calls act as that role), or neither")
