"""`kind: snipeit`: Snipe-IT hardware, users, licenses and license seats.

    - name: snipeit
      kind: snipeit
      base_url: https://snipeit.example.com
      auth: {token: ${SNIPEIT_TOKEN}}        # a personal API token: `Authorization: Bearer …`

Lists are `{total, rows}` paged by `limit`/`offset`. Costs come formatted in the
instance's locale (`"1.599,62"`), dates as `{date, formatted}` objects: the mappings name
their `date` leaf (`purchase_date.date`), plain text that the date transform reads and
deduplicates (it reads whole `{date, formatted}` objects too, for a mapping naming one).
Reads are sorted by `id`, which stays put while records change during a read (sorted by
`updated_at`, a record edited mid-read moves to the end and pushes another past an offset
already read). Snipe-IT cannot filter by change time, so later syncs keep
only rows changed at or after the cursor (client side).
Seats (`/api/v1/licenses/{id}/seats`) become license assignments to their user's email;
free seats are skipped. Snipe-IT licenses have no SKU, so the name stands in for it.

Status and holder, read and written the same way. A checked-out asset keeps its status
label (`Ready to Deploy`); only `status_label.status_meta` becomes `deployed`. The preset
reads status from `status_label.shown`, a column this connector adds: `Deployed` while the
asset is checked out, else the label's name (so a checked-out asset is `in_use`, and an
asset put in stock or in repair is no longer `in_use`). The holder is read from
`assigned_to.person`, also added: the email of the user it is checked out to, else the
username; empty when it is out to a location or another asset.

Writes (hardware only; people and licenses are read-only here) go through the hardware
endpoints: `PATCH /api/v1/hardware/{id}` for fields, `POST /api/v1/hardware` and `DELETE`,
and check-out/in by their own endpoints, because Snipe-IT holds who has an asset only
through them. A write of the status or holder columns becomes:
  - `Deployed`, or a person: check out to that person (`POST …/checkout`,
    `checkout_to_type: user`); `Deployed` with a location and no person: check out to
    that location; `Deployed` on an asset already out (and no other holder): nothing;
  - any other status word on a checked-out asset, or an empty holder: check in
    (`POST …/checkin`, with the label's `status_id` and the location where given);
  - any other status word on an asset in stock: `status_id` by `PATCH`.
Names become ids first, before anything is sent: a status word → `status_id` (the status
label of that name), a person's email or username → the user's id, a location, model,
company or supplier name → its id; a name that matches no record, or several, refuses the
write (`invalid`, naming the column). `checkout()` and `checkin()` are also offered as
such, with an expected check-in date and a note.
Snipe-IT has no conditional write: `expected` is compared with a `GET` right before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

import pandas as pd
import requests

from connectors import snipeit_api as api
from connectors.base import SourceError, WriteRefused
from connectors.http.connector import HttpConnector, _wanted_columns
from connectors.http.preset import PresetConfig
from connectors.write_checks import check_expected

_BY_ID = {"sort": "id", "order": "asc"}


class SnipeItConfig(PresetConfig):
    kind: Literal["snipeit"]
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "bearer"},
        "paginator": {"type": "offset", "limit": 500, "total_path": "total"},
        "entities": {
            "assets": {
                "path": "/api/v1/hardware",
                "records": "rows",
                "params": _BY_ID,
                "id": "id",
                "cursor": "updated_at.datetime",
                "fields": {
                    "asset_tag": "asset_tag",
                    "serial_number": "serial",
                    "name": "name",
                    "model": "model.name",
                    "category": "category.name",
                    "manufacturer": "manufacturer.name",
                    "status": "status_label.shown",
                    "location": "location.name",
                    "assigned_to": "assigned_to.person",
                    "purchase_date": "purchase_date.date",
                    "warranty_end": "warranty_expires.date",
                    "cost": {"column": "purchase_cost", "currency": "USD"},
                },
            },
            "people": {
                "path": "/api/v1/users",
                "records": "rows",
                "params": _BY_ID,
                "id": "id",
                "cursor": "updated_at.datetime",
                "fields": {
                    "email": "email",
                    "username": "username",
                    "name": "name",
                    "department": "department.name",
                },
            },
            "licenses": {
                "path": "/api/v1/licenses",
                "records": "rows",
                "params": _BY_ID,
                "id": "id",
                "cursor": "updated_at.datetime",
                "fields": {
                    "vendor": "manufacturer.name",
                    "product": "name",
                    "sku": "name",  # Snipe-IT has no SKU: the license's name is its key
                    "seats_purchased": "seats",
                    "cost_per_seat": {"column": "purchase_cost", "currency": "USD"},
                    "renewal_date": "expiration_date.date",
                },
            },
            "license_assignments": {
                "path": "/api/v1/licenses/{id}/seats",
                "records": "rows",
                "for_each": {"path": "/api/v1/licenses", "records": "rows"},
                "skip_without": ["assigned_user.id"],  # a free seat is no assignment
                "id": ["parent.id", "id"],
                "fields": {
                    "license": "parent.name",
                    "person": {"columns": ["assigned_user.email", "assigned_user.username"]},
                },
            },
        },
    }


#: what `shape` reads beside the mapped columns of assets (and the write path compares)
_ASSET_EXTRA = [
    "status_label.id",
    "status_label.name",
    "status_label.status_meta",
    "assigned_to.id",
    "assigned_to.type",
    "assigned_to.email",
    "assigned_to.username",
]
#: one request to Snipe-IT: method, the path after /api/v1/hardware/{id}, body, field → column
_Step = tuple[str, str, dict[str, Any], dict[str, str]]


class SnipeItConnector(HttpConnector):
    """Reads the preset's lists; writes hardware (see the module's docstring)."""

    kind = "snipeit"
    config_model = SnipeItConfig
    writable = True
    shape_reads: ClassVar[dict[str, list[str]] | None] = {"assets": _ASSET_EXTRA}

    def shape(self, entity: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Assets: `status_label.shown` and `assigned_to.person` (the module's docstring)."""
        if entity != "assets":
            return frame
        meta = frame["status_label.status_meta"]
        frame["status_label.shown"] = frame["status_label.name"].where(meta != "deployed", api.DEPLOYED)
        email, kind = frame["assigned_to.email"], frame["assigned_to.type"]
        filled = email.notna() & (email.astype(str).str.strip() != "")
        person = email.where(filled, frame["assigned_to.username"]).astype(object)
        person[~(kind.isna() | (kind == "user")) | person.isna()] = None
        frame["assigned_to.person"] = person
        return frame

    def read_only_columns(self, entity: str) -> dict[str, str]:
        if entity != "assets":
            return {"*": f"the snipeit connector writes hardware (assets) only, not {entity}"}
        return dict(api.READ_ONLY)

    # ------------------------------------------------------------------ the write contract
    def fetch(self, entity: str, record_id: str) -> dict[str, Any] | None:
        self._hardware_only(entity)
        response, body = self.client.write("GET", self._url(record_id), idempotent=True)
        if response.status_code == 404 or api.gone(body):
            return None
        api.verdict(self.config.name, response, body, f"GET hardware {record_id}")
        if not isinstance(body, dict) or "id" not in body:
            keys = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
            raise SourceError(
                f"source {self.config.name!r}: GET hardware {record_id}: expected an asset record, "
                f"got {keys or 'nothing'}"
            )
        frame = self.shape_records(entity, [body], _wanted_columns(self.config.entities[entity]))
        row = frame.astype(object).where(frame.notna(), None).iloc[0].to_dict()
        return {str(k): v for k, v in row.items()}

    def update(
        self, entity: str, record_id: str, values: dict[str, Any], expected: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self._hardware_only(entity)
        held = self._existing(record_id)
        check_expected(held, expected, self._where(record_id))
        for step in self._plan(held, values):
            self._send(record_id, *step)
        return self._existing(record_id)

    def insert(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        """POST the fields (a status word as its label; `Deployed` or a person: created with
        the first deployable label, then checked out)."""
        self._hardware_only(entity)
        status = next((c for c in api.STATUS_COLUMNS if c in values), None)
        deployed = status is not None and _is_deployed(values[status])
        moving = {c: v for c, v in values.items() if c in api.HOLDER_COLUMNS and not api.empty(v)}
        if deployed and status is not None:
            moving[status] = values[status]
            if "location.name" in values:
                moving["location.name"] = values["location.name"]
        fields = {c: v for c, v in values.items() if c not in (*api.STATUS_COLUMNS, *api.HOLDER_COLUMNS)}
        body, sent = self._fields(fields)
        if status is not None and not deployed and not api.empty(values[status]):
            body["status_id"], sent["status_id"] = self._status_id(status, str(values[status])), status
        elif moving:
            body["status_id"], sent["status_id"] = self._deployable_label(), status or "status_label.shown"
        url = self.client.url(api.HARDWARE)
        response, answer = self.client.write("POST", url, body=body, idempotent=False)
        answer = api.verdict(self.config.name, response, answer, "POST hardware", sent)
        payload = answer.get("payload") if isinstance(answer, dict) else None
        if not isinstance(payload, dict) or payload.get("id") is None:
            raise SourceError(
                f"source {self.config.name!r}: POST hardware: the answer names no new asset id "
                f"(expected payload.id); read the assets before sending it again"
            )
        record_id = str(payload["id"])
        if moving:
            try:
                for step in self._plan(self._existing(record_id), moving):
                    self._send(record_id, *step)
            except WriteRefused as exc:
                raise WriteRefused(
                    f"asset {record_id} was created, but not checked out: {exc}",
                    kind=exc.kind,
                    fields=exc.fields,
                ) from None
        return self._existing(record_id)

    def delete(self, entity: str, record_id: str, expected: dict[str, Any] | None = None) -> None:
        self._hardware_only(entity)
        held = self._existing(record_id)
        check_expected(held, expected, self._where(record_id))
        response, body = self.client.write("DELETE", self._url(record_id), idempotent=True)
        if response.status_code == 404 or api.gone(body):
            return  # gone already (a retried DELETE): what was asked
        api.verdict(self.config.name, response, body, f"DELETE hardware {record_id}")

    # ------------------------------------------------------------------ check-out / in
    def checkout(
        self,
        record_id: str,
        *,
        to_person_key: str | None = None,
        to_location_key: str | None = None,
        expected_checkin: dt.date | str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Check the asset out to one person (email or username) or one location (name);
        return it read back."""
        if (to_person_key is None) == (to_location_key is None):
            raise WriteRefused("check out to one person or one location", kind="invalid")
        held = self._existing(record_id)
        if to_person_key is not None:
            step = self._checkout_to(held, "user", self._user_id("assigned_to.person", to_person_key))
        else:
            found = self._named_id("location.name", "/api/v1/locations", to_location_key or "")
            step = self._checkout_to(held, "location", found)
        if expected_checkin is not None:
            day = expected_checkin.date() if isinstance(expected_checkin, dt.datetime) else expected_checkin
            step[2]["expected_checkin"] = day.isoformat() if isinstance(day, dt.date) else str(day)
            step[3]["expected_checkin"] = "expected_checkin"
        if note:
            step[2]["note"] = note
        self._send(record_id, *step)
        return self._existing(record_id)

    def checkin(
        self, record_id: str, *, location_key: str | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Check the asset in (to a location by name, where given); return it read back."""
        self._existing(record_id)
        body: dict[str, Any] = {}
        if location_key:
            body["location_id"] = self._named_id("location.name", "/api/v1/locations", location_key)
        if note:
            body["note"] = note
        self._send(record_id, "POST", "/checkin", body, {"location_id": "location.name"})
        return self._existing(record_id)

    # ------------------------------------------------------------------ planning a write
    def _plan(self, held: dict[str, Any], values: dict[str, Any]) -> list[_Step]:
        """The requests that set `values` on the asset `held`, every name looked up first."""
        status = next((c for c in api.STATUS_COLUMNS if c in values), None)
        holder_column = next((c for c in api.HOLDER_COLUMNS if c in values), None)
        holder = None if holder_column is None else values[holder_column]
        holder = None if api.empty(holder) else str(holder).strip()
        rest = {c: v for c, v in values.items() if c not in (*api.STATUS_COLUMNS, *api.HOLDER_COLUMNS)}
        body, sent = self._fields(rest)
        deployed = False
        if status is not None:
            word = values[status]
            if api.empty(word):
                raise _invalid(status, "Snipe-IT needs a status label for every asset")
            deployed = _is_deployed(word)
            if not deployed:
                body["status_id"], sent["status_id"] = self._status_id(status, str(word).strip()), status
        out = api.is_out(held)
        target: _Step | None = None
        if holder is not None and holder_column is not None:
            if not (out and _holds(held, holder)):
                target = self._checkout_to(held, "user", self._user_id(holder_column, holder), holder_column)
        elif deployed and (holder_column is not None or not out):
            if body.get("location_id") is None:
                raise _invalid(
                    status or "",
                    f"{values[status or '']!r}: Snipe-IT shows an asset as Deployed only while it is checked "
                    "out: name the person (assigned_to) or the location to check it out to",
                )
            target = self._checkout_to(held, "location", body.pop("location_id"), "location.name")
        steps: list[_Step] = []
        empty_holder = holder_column is not None and holder is None
        if out and (target is not None or (holder is None and ("status_id" in body or empty_holder))):
            back = {k: body.pop(k) for k in ("status_id", "location_id") if k in body and target is None}
            steps.append(("POST", "/checkin", back, sent))
        if target is not None:
            if "status_id" in body:
                target[2]["status_id"] = body.pop("status_id")
            steps.append(target)
        if body:
            steps.append(("PATCH", "", body, sent))
        return steps

    def _checkout_to(self, held: dict[str, Any], kind: str, target: Any, column: str = "") -> _Step:
        field = {"user": "assigned_user", "location": "assigned_location"}[kind]
        body: dict[str, Any] = {"checkout_to_type": kind, field: target}
        if not api.empty(held.get("status_label.id")):
            body["status_id"] = int(held["status_label.id"])
        return ("POST", "/checkout", body, {field: column or field, "status_id": "status_label.shown"})

    def _fields(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Raw columns other than status and holder → the hardware fields they set."""
        body: dict[str, Any] = {}
        sent: dict[str, str] = {}
        for column, value in values.items():
            if column in api.READ_ONLY:
                raise _invalid(column, api.READ_ONLY[column])
            if column in api.PLAIN:
                field = api.PLAIN[column]
                body[field] = api.cost(value) if field == "purchase_cost" else api.wire(value)
            elif column in api.NAMED:
                field, path = api.NAMED[column]
                body[field] = None if api.empty(value) else self._named_id(column, path, str(value))
            else:
                known = ", ".join([*api.PLAIN, *api.NAMED, *api.STATUS_COLUMNS, *api.HOLDER_COLUMNS])
                raise _invalid(column, f"not a hardware field this connector writes; it writes {known}")
            sent[field] = column
        return body, sent

    # ------------------------------------------------------------------ names → ids
    def _rows(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        response, body = self.client.write("GET", self.client.url(path), params=params, idempotent=True)
        body = api.verdict(self.config.name, response, body, f"GET {path}")
        rows = body.get("rows") if isinstance(body, dict) else None
        return [r for r in rows or [] if isinstance(r, dict)]

    def _named_id(self, column: str, path: str, name: str) -> int:
        """The id of the one record of `path` named `name` (compared ignoring case)."""
        wanted = name.strip().casefold()
        rows = self._rows(path, {"search": name.strip(), "limit": 50})
        found = [r for r in rows if str(r.get("name") or "").strip().casefold() == wanted]
        if len(found) != 1:
            what = path.rsplit("/", 1)[-1]
            raise _invalid(column, f"{'no' if not found else 'several'} {what} named {name!r} in Snipe-IT")
        return int(found[0]["id"])

    def _status_id(self, column: str, word: str) -> int:
        try:
            return self._named_id(column, "/api/v1/statuslabels", word)
        except WriteRefused:
            labels = ", ".join(str(r.get("name")) for r in self._rows("/api/v1/statuslabels", {"limit": 500}))
            raise _invalid(
                column,
                f"Snipe-IT has no status label {word!r} (its labels: {labels or 'none'}; "
                f"{api.DEPLOYED!r} means checked out)",
            ) from None

    def _deployable_label(self) -> int:
        rows = self._rows("/api/v1/statuslabels", {"limit": 500})
        found = [r for r in rows if str(r.get("type") or r.get("status_type") or "") == "deployable"]
        if not found:
            raise _invalid("status_label.shown", "Snipe-IT has no deployable status label to check out with")
        return int(found[0]["id"])

    def _user_id(self, column: str, key: str) -> int:
        """The id of the user whose email or username is `key` (ignoring case)."""
        wanted = key.strip().casefold()
        for param in ("email", "username", "search"):
            rows = self._rows("/api/v1/users", {param: key.strip(), "limit": 50})
            found = {
                int(r["id"])
                for r in rows
                if wanted in (str(r.get("email") or "").casefold(), str(r.get("username") or "").casefold())
            }
            if len(found) == 1:
                return found.pop()
            if found:
                raise _invalid(column, f"several Snipe-IT users have the email or username {key!r}")
        raise _invalid(column, f"no Snipe-IT user has the email or username {key!r}")

    # ------------------------------------------------------------------ plumbing
    def _send(
        self, record_id: str, method: str, action: str, body: dict[str, Any], sent: dict[str, str]
    ) -> None:
        url = self._url(record_id, action)
        response, answer = self.client.write(method, url, body=body, idempotent=method != "POST")
        api.verdict(self.config.name, response, answer, f"{method} hardware {record_id}{action}", sent)

    def _url(self, record_id: str, action: str = "") -> str:
        return self.client.url(f"{api.HARDWARE}/{requests.utils.quote(str(record_id), safe='')}{action}")

    def _where(self, record_id: str) -> str:
        return f"source {self.config.name!r}, hardware {record_id}"

    def _existing(self, record_id: str) -> dict[str, Any]:
        record = self.fetch("assets", record_id)
        if record is None:
            raise WriteRefused(f"{self._where(record_id)}: Snipe-IT has no such asset", kind="not_found")
        return record

    def _hardware_only(self, entity: str) -> None:
        stream = self.config.entities.get(entity)
        if entity != "assets" or stream is None or stream.path != api.HARDWARE:
            raise SourceError(
                f"source {self.config.name!r}: writes go to Snipe-IT's hardware (entity assets, path "
                f"{api.HARDWARE}) only, not {entity}"
            )


def _is_deployed(word: Any) -> bool:
    return isinstance(word, str) and word.strip().casefold() == api.DEPLOYED.casefold()


def _holds(held: dict[str, Any], key: str) -> bool:
    wanted = key.strip().casefold()
    return any(str(held.get(c) or "").strip().casefold() == wanted for c in api.HOLDER_COLUMNS)


def _invalid(column: str, message: str) -> WriteRefused:
    return WriteRefused(
        f"{column}: {message}", kind="invalid", fields=[{"field": column, "message": message}]
    )
