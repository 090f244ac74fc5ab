"""`kind: servicenow`: the CMDB's computers, users and locations through the Table API.

    - name: snow
      kind: servicenow
      base_url: https://example.service-now.com
      auth: {type: basic, username: reader, password: ${SNOW_PASSWORD}}   # or bearer

Requests ask for `sysparm_display_value=all`, so every field comes as `{display_value,
value}` (references add `link`): mappings use `.value` for codes, ids and numbers (`cost.value`
is `1799.99` where the display is `"1,799.99"`; times are UTC where the display is in the
user's time zone) and `.display_value` for names. Dot-walked fields (`assigned_to.email`)
name the assignee by email. Pages: `sysparm_limit`/`sysparm_offset` up to `X-Total-Count`.
Reads are ordered by `sys_id` (stable while records change during a read); later
syncs ask `sys_updated_on>={cursor}`, after a stream's own `sysparm_query` conditions
(`params: {sysparm_query: active=true}`), joined by `^`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Literal

import pandas as pd
import requests

from connectors.base import SourceError, WriteRefused
from connectors.http.connector import HttpConnector, _wanted_columns
from connectors.http.errors import safe_url
from connectors.http.preset import PresetConfig
from connectors.http.records import to_frame
from connectors.write_checks import check_expected

#: reference fields written by a name (a `.display_value` or dot-walked column): the table
#: they point into and the field the name is looked up in
REFERENCES: dict[str, tuple[str, str]] = {
    "assigned_to": ("sys_user", "name"),
    "manager": ("sys_user", "name"),
    "location": ("cmn_location", "name"),
    "department": ("cmn_department", "name"),
    "manufacturer": ("core_company", "name"),
    "model_id": ("cmdb_model", "display_name"),
    "company": ("core_company", "name"),
}
#: what a table name may be (the Table API's path segment)
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
#: install_status codes in the order a write picks them (the first for each status)
INSTALL_STATUS = {"1": "in_use", "2": "ordered", "3": "in_repair", "6": "in_stock", "7": "retired",
                  "8": "lost", "10": "disposed", "4": "in_stock", "5": "in_repair", "9": "ordered",
                  "11": "in_stock", "100": "lost"}  # fmt: skip


def _table(table: str, fields: list[str]) -> dict[str, Any]:
    return {
        "path": f"/api/now/table/{table}",
        "records": "result",
        "id": "sys_id.value",
        "cursor": "sys_updated_on.value",
        "params": {"sysparm_fields": ",".join(["sys_id", "sys_updated_on", *fields])},
        "incremental": {
            "params": {"sysparm_query": "sys_updated_on>={cursor}^ORDERBYsys_id"},
            "initial": "1970-01-01 00:00:00",
        },
    }


COMPUTER = [
    "asset_tag",
    "serial_number",
    "name",
    "manufacturer",
    "model_id",
    "install_status",
    "location",
    "form_factor",
    "assigned_to.email",
    "department",
    "purchase_date",
    "warranty_expiration",
    "cost",
    "mac_address",
    "ip_address",
    "os",
    "last_discovered",
]
USER = ["user_name", "email", "name", "department", "active", "manager.user_name"]
LOCATION = ["name", "city", "country"]


class ServiceNowConfig(PresetConfig):
    kind: Literal["servicenow"]
    #: a stream's own `sysparm_query` (`active=true`) and the incremental one are joined by `^`
    combine_params: ClassVar[dict[str, str]] = {"sysparm_query": "^"}
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "basic"},
        "params": {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"},
        "paginator": {
            "type": "offset",
            "limit": 1000,
            "limit_param": "sysparm_limit",
            "offset_param": "sysparm_offset",
            "total_header": "X-Total-Count",
        },
        "entities": {
            "assets": {
                **_table("cmdb_ci_computer", COMPUTER),
                "fields": {
                    "asset_tag": "asset_tag.value",
                    "serial_number": "serial_number.value",
                    "hostname": "name.value",
                    "name": "name.display_value",
                    "manufacturer": "manufacturer.display_value",
                    "model": "model_id.display_value",
                    "category": "form_factor.display_value",
                    "status": {"column": "install_status.value", "values": INSTALL_STATUS},
                    "location": "location.display_value",
                    "assigned_to": "assigned_to.email.value",
                    "department": "department.display_value",
                    "purchase_date": "purchase_date.value",
                    "warranty_end": "warranty_expiration.value",
                    "cost": {"column": "cost.value", "currency": "USD"},
                    "mac_addresses": "mac_address.value",
                    "ip_addresses": "ip_address.value",
                    "os": "os.display_value",
                    "last_seen": "last_discovered.value",
                },
            },
            "people": {
                **_table("sys_user", USER),
                "fields": {
                    "username": "user_name.value",
                    "email": "email.value",
                    "name": "name.display_value",
                    "department": "department.display_value",
                    "employment_status": {
                        "column": "active.value",
                        "values": {"true": "active", "false": "terminated"},
                    },
                    "manager": "manager.user_name.value",
                },
            },
            "locations": {
                **_table("cmn_location", LOCATION),
                "fields": {"name": "name.display_value", "city": "city.value", "country": "country.value"},
            },
        },
    }


class ServiceNowConnector(HttpConnector):
    """Reads through the Table API; writes one record with `PATCH` (update), `POST` (insert)
    and `DELETE` on `/api/now/table/{table}/{sys_id}`, then reads it back with `GET`.

    Raw columns are the read's flattened ones: `X.value` (and a plain `X`) write field X as
    is; `X.display_value` of a reference field and dot-walked `X.email.value` name the
    referenced record, looked up in its table (REFERENCES) for its sys_id. The Table API has
    no conditional write: `expected` is compared with a `GET` right before the write (a
    change in between is not seen). Refusals: 400 → invalid; 403 → forbidden, or invalid
    for a data policy (`Data Policy Exception`, a mandatory field); 404 → not_found. PATCH
    and DELETE are idempotent and retried like reads; a POST that may have been applied is
    not sent again (see HttpClient.write)."""

    kind = "servicenow"
    config_model = ServiceNowConfig
    writable = True

    def _table_url(self, entity: str, sys_id: str | None = None) -> str:
        stream = self.config.entities.get(entity)
        if stream is None or not stream.path.startswith("/api/now/table/"):
            raise SourceError(f"source {self.config.name!r}: no Table API stream for entity {entity!r}")
        return self.client.url(stream.path + (f"/{requests.utils.quote(sys_id, safe='')}" if sys_id else ""))

    def fetch(self, entity: str, record_id: str) -> dict[str, Any] | None:
        stream = self.config.entities[entity]
        params = {k: v for k, v in {**self.config.params, **stream.params}.items() if k != "sysparm_query"}
        response, body = self.client.write(
            "GET", self._table_url(entity, record_id), params=params, idempotent=True
        )
        if response.status_code == 404:
            return None
        self._verdict(response, body, f"GET {entity} {record_id}")
        frame = to_frame([body["result"]], _wanted_columns(stream), only=True)
        row = frame.astype(object).where(frame.notna(), None).iloc[0].to_dict()
        return {str(k): v for k, v in row.items()}

    def update(
        self, entity: str, record_id: str, values: dict[str, Any], expected: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        held = self._existing(entity, record_id)
        check_expected(held, expected, f"source {self.config.name!r}, {entity} {record_id}")
        if values:
            url = self._table_url(entity, record_id)
            response, body = self.client.write("PATCH", url, body=self._body(values), idempotent=True)
            self._verdict(response, body, f"PATCH {entity} {record_id}")
        return self._existing(entity, record_id)

    def insert(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        url = self._table_url(entity)
        response, body = self.client.write("POST", url, body=self._body(values), idempotent=False)
        self._verdict(response, body, f"POST {entity}")
        return self._existing(entity, str(body["result"]["sys_id"]))

    def delete(self, entity: str, record_id: str, expected: dict[str, Any] | None = None) -> None:
        held = self._existing(entity, record_id)
        check_expected(held, expected, f"source {self.config.name!r}, {entity} {record_id}")
        response, body = self.client.write("DELETE", self._table_url(entity, record_id), idempotent=True)
        if response.status_code != 404:  # gone already (a retried DELETE): what was asked
            self._verdict(response, body, f"DELETE {entity} {record_id}")

    def open_ticket(self, table: str, values: dict[str, Any], *, correlation_id: str) -> dict[str, str]:
        """Create a record of a task table (`incident`, `sc_request`…) holding `values`, tagged
        with `correlation_id`, and return its `number` and `sys_id`. A record of that table
        already tagged so (an earlier attempt that ServiceNow applied though its answer was
        lost) is returned instead: trying again never opens a second ticket."""
        if not TABLE_NAME.match(table) or "^" in correlation_id:
            raise WriteRefused(f"source {self.config.name!r}: {table!r} is not a table name", kind="invalid")
        url = self.client.url(f"/api/now/table/{table}")
        fields = {"sysparm_fields": "number,sys_id"}
        query = {**fields, "sysparm_query": f"correlation_id={correlation_id}", "sysparm_limit": "1"}
        response, body = self.client.write("GET", url, params=query, idempotent=True)
        self._verdict(response, body, f"GET {table}")
        found = (body.get("result") or []) if isinstance(body, dict) else []
        if not found:
            tagged = {**values, "correlation_id": correlation_id, "correlation_display": "assetgraph"}
            response, body = self.client.write("POST", url, body=tagged, params=fields, idempotent=False)
            self._verdict(response, body, f"POST {table}")
            found = [body.get("result")] if isinstance(body, dict) else []
        record = found[0] if found and isinstance(found[0], dict) else {}
        number, sys_id = record.get("number"), record.get("sys_id")
        if not number or not sys_id:
            raise SourceError(f"source {self.config.name!r}: {table}: answered without a number and sys_id")
        return {"number": str(number), "sys_id": str(sys_id)}

    def update_ticket(
        self, table: str, sys_id: str, values: dict[str, Any], *, again: bool = False
    ) -> dict[str, str]:
        """Update the ticket `sys_id` of `table` with `values` (a PATCH: the fields sent change,
        a `work_notes` value adds a journal entry) and return what ServiceNow answered of the
        fields sent. The fields alone are idempotent, the work note is not: `again` (an earlier
        attempt may have been applied, its answer lost) first reads the ticket's work notes
        and leaves out a note that is there already, so a retry never adds it twice."""
        if not TABLE_NAME.match(table) or not re.fullmatch(r"[0-9A-Za-z]{1,64}", sys_id):
            raise WriteRefused(
                f"source {self.config.name!r}: {table}/{sys_id} is not a ticket", kind="invalid"
            )
        url = self.client.url(f"/api/now/table/{table}/{sys_id}")
        body = dict(values)
        note = body.get("work_notes")
        if again and note:
            params = {"sysparm_fields": "work_notes", "sysparm_display_value": "true"}
            response, held = self.client.write("GET", url, params=params, idempotent=True)
            self._verdict(response, held, f"GET {table} {sys_id}")
            journal = (held.get("result") or {}).get("work_notes") if isinstance(held, dict) else None
            if isinstance(journal, str) and str(note) in journal:
                body.pop("work_notes")
        fields = ",".join(["number", "sys_id", *(k for k in body if k != "work_notes")])
        response, answer = self.client.write(
            "PATCH", url, body=body, params={"sysparm_fields": fields}, idempotent="work_notes" not in body
        )
        self._verdict(response, answer, f"PATCH {table} {sys_id}")
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict):
            raise SourceError(
                f"source {self.config.name!r}: PATCH {table} {sys_id}: answered without the record"
            )
        return {str(k): str(v.get("value") if isinstance(v, dict) else v) for k, v in result.items()}

    def _existing(self, entity: str, record_id: str) -> dict[str, Any]:
        record = self.fetch(entity, record_id)
        if record is None:
            raise WriteRefused(
                f"source {self.config.name!r}: no {entity} record {record_id!r} in {self._table_url(entity)}",
                kind="not_found",
            )
        return record

    def _body(self, values: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for column, value in values.items():
            head, _, leaf = column.rpartition(".")
            field = head if leaf in ("value", "display_value") and head else column
            reference, _, key = field.partition(".")
            if key:  # dot-walked: `assigned_to.email`
                body[reference] = self._sys_id(
                    column, REFERENCES.get(reference, (reference, ""))[0], key, value
                )
            elif leaf == "display_value" and field in REFERENCES:
                table, shown = REFERENCES[field]
                body[field] = self._sys_id(column, table, shown, value)
            else:
                body[field] = _wire(value)
        return body

    def _sys_id(self, column: str, table: str, field: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        text = str(value)
        if "^" in text:
            raise WriteRefused(f"{column}: {text!r} cannot be looked up (it holds ^)", kind="invalid",
                               fields=[{"field": column, "message": "holds ^"}])  # fmt: skip
        url = self.client.url(f"/api/now/table/{table}")
        params = {"sysparm_query": f"{field}={text}", "sysparm_fields": "sys_id", "sysparm_limit": "2"}
        response, body = self.client.write("GET", url, params=params, idempotent=True)
        self._verdict(response, body, f"GET {table}")
        found = body.get("result") or [] if isinstance(body, dict) else []
        if len(found) != 1:
            how = "no record" if not found else "several records"
            message = f"{how} of {table} with {field} {text!r}"
            raise WriteRefused(f"source {self.config.name!r}: {column}: {message}", kind="invalid",
                               fields=[{"field": column, "message": message}])  # fmt: skip
        sys_id = found[0]["sys_id"]
        return str(sys_id.get("value") if isinstance(sys_id, dict) else sys_id)

    def _verdict(self, response: requests.Response, body: Any, what: str) -> None:
        """Raise the refusal a ServiceNow error answer means (2xx: nothing)."""
        if response.ok:
            return
        error = body.get("error") if isinstance(body, dict) else None
        message = str((error or {}).get("message") or response.reason or response.status_code)
        detail = str((error or {}).get("detail") or "").strip()
        text = f"source {self.config.name!r}: {what}: {message}" + (f" ({detail})" if detail else "")
        status = response.status_code
        if status == 401:
            raise SourceError(f"{text}: check the credentials in sources[{self.config.name}].auth")
        if status == 403 and "data policy" not in detail.lower():
            raise WriteRefused(text, kind="forbidden")
        if status == 404:
            raise WriteRefused(text, kind="not_found")
        if status == 409:
            raise WriteRefused(text, kind="conflict")
        if status in (400, 403, 422):
            lines = [line.strip() for line in detail.splitlines()[1:] if line.strip()]
            raise WriteRefused(text, kind="invalid", fields=[{"field": "", "message": m} for m in lines])
        raise SourceError(f"{text} from {safe_url(response.url)}")


def _wire(value: Any) -> Any:
    """A raw value in the Table API's format: dates ISO, times `YYYY-MM-DD HH:MM:SS` UTC,
    empty as ""."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.datetime):
        stamp = value.astimezone(dt.UTC) if value.tzinfo else value
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
