"""Snipe-IT's write API for `kind: snipeit` (connectors/snipeit.py): which hardware field each
raw column sets, and what an answer means.

Snipe-IT answers most writes with HTTP 200 and an envelope, `{"status": "success" | "error",
"messages": ..., "payload": ...}`: a validation error is a 200 whose `messages` maps each
request field to its reasons (`{"status_id": ["The selected status id is invalid."]}`); an
unknown id is a 200 (or 404) with `messages: "Asset does not exist."`; a token without the
right is 403 (`Insufficient permissions!`), a wrong token 401.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pandas as pd
import requests

from connectors.base import SourceError, WriteRefused
from connectors.http.errors import safe_url

HARDWARE = "/api/v1/hardware"
#: what the read shows for a checked-out asset (status_meta `deployed`) in `status_label.shown`
DEPLOYED = "Deployed"
#: raw columns naming the asset's status: the shown word (the preset's), or the label's name
STATUS_COLUMNS = ("status_label.shown", "status_label.name")
#: raw columns naming the person holding the asset: the preset's derived key, email, username
HOLDER_COLUMNS = ("assigned_to.person", "assigned_to.email", "assigned_to.username")
#: raw column → the hardware field it sets as is
PLAIN = {
    "asset_tag": "asset_tag",
    "serial": "serial",
    "name": "name",
    "notes": "notes",
    "order_number": "order_number",
    "purchase_cost": "purchase_cost",
    "purchase_date.date": "purchase_date",
    "purchase_date": "purchase_date",
    "warranty_months": "warranty_months",
    "requestable": "requestable",
}
#: raw column naming a record by its name → (the hardware field set to its id, the list it is in)
NAMED = {
    "model.name": ("model_id", "/api/v1/models"),
    "location.name": ("location_id", "/api/v1/locations"),
    "rtd_location.name": ("rtd_location_id", "/api/v1/locations"),
    "company.name": ("company_id", "/api/v1/companies"),
    "supplier.name": ("supplier_id", "/api/v1/suppliers"),
}
#: raw columns a hardware write cannot set → why
READ_ONLY = {
    "id": "Snipe-IT numbers its assets itself",
    "category.name": "set by the asset's model in Snipe-IT (write the model instead)",
    "manufacturer.name": "set by the asset's model in Snipe-IT (write the model instead)",
    "warranty_expires.date": "computed by Snipe-IT from purchase_date and warranty_months",
    "status_label.status_meta": "computed by Snipe-IT from the status label and the check-out",
    "updated_at.datetime": "stamped by Snipe-IT",
}
_GONE = ("does not exist", "not found")


def empty(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def wire(value: Any) -> Any:
    """A raw value as Snipe-IT's JSON takes it: dates ISO, numbers as numbers, empty as null."""
    if empty(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if not value.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return value.item()
    return value


def cost(value: Any) -> Any:
    """purchase_cost: a number where the text is one (`"1799.99"`); other text is sent as
    given, for Snipe-IT to refuse with its reason."""
    value = wire(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def is_out(record: dict[str, Any]) -> bool:
    """Whether the asset is checked out (to a person, a location or another asset)."""
    return record.get("status_label.status_meta") == "deployed" or not empty(record.get("assigned_to.id"))


def gone(body: Any) -> bool:
    """A 200 that says the record does not exist (`Asset does not exist.`)."""
    if not (isinstance(body, dict) and str(body.get("status", "")).lower() == "error"):
        return False
    return any(word in str(body.get("messages", "")).lower() for word in _GONE)


def verdict(
    source: str, response: requests.Response, body: Any, what: str, sent: dict[str, str] | None = None
) -> Any:
    """The body of a successful answer; otherwise the refusal it means. `sent`: request
    field → the raw column it came from, so per-field reasons name the caller's column."""
    status = response.status_code
    failed = isinstance(body, dict) and str(body.get("status", "")).lower() == "error"
    if response.ok and not failed:
        return body
    said = None
    if isinstance(body, dict):
        said = next((body[k] for k in ("messages", "message", "error") if body.get(k)), None)
    fields: list[dict[str, str]] = []
    if isinstance(said, dict):
        for key, texts in said.items():
            for text in texts if isinstance(texts, list) else [texts]:
                fields.append({"field": (sent or {}).get(str(key), str(key)), "message": str(text)})
        reason = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    else:
        reason = str(said or response.reason or status)
    text = f"source {source!r}: {what}: {reason}"
    if status == 401:
        raise SourceError(f"{text}: check the API token in sources[{source}].auth")
    if status == 403:
        raise WriteRefused(f"{text} (the API token may read but not write this)", kind="forbidden")
    if status == 404 or (failed and not fields and any(w in reason.lower() for w in _GONE)):
        raise WriteRefused(text, kind="not_found")
    if status == 409:
        raise WriteRefused(text, kind="conflict")
    if status in (400, 422) or (response.ok and failed):
        raise WriteRefused(text, kind="invalid", fields=fields)
    raise SourceError(f"{text} from {safe_url(response.url)}")
