"""Vendor APIs for the connector tests, in each vendor's wire format (studied from the recorded
responses and specs under ../shared/peers; the records here are the tests' own).

Okta and Microsoft Graph come from the demo's simulator (`federation/demo/vendors.py`); this
module adds ServiceNow, Snipe-IT, Jamf Pro, NetBox and Google's License Manager. All run in one
`VendorServer` (federation/demo/vendor_server.py), which also injects faults.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from federation.demo.vendor_server import Call, Reply, Vendor, VendorServer, error, page_of
from federation.demo.vendors import MicrosoftGraph, Okta

__all__ = ["Google", "Jamf", "MicrosoftGraph", "NetBox", "Okta", "ServiceNow", "SnipeIt", "VendorServer"]


def _basic(call: Call) -> tuple[str, str] | None:
    header = call.header("Authorization")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


_SN_ACL = {"message": "Operation Failed", "detail": "ACL Exception Update Failed due to security constraints"}
_SN_MISSING = {
    "message": "No Record found",
    "detail": "Record doesn't exist or ACL restricts the record retrieval",
}
#: reference field → (table, field shown as its display value)
_SN_REFERENCES = {"location": ("cmn_location", "name"), "assigned_to": ("sys_user", "name"),
                  "manager": ("sys_user", "name")}  # fmt: skip


class ServiceNow(Vendor):
    """Table API. A record is {field: value or (value, display_value)}; dot-walked fields
    (`assigned_to.email`) are stored under their dotted name. Writes keep state: `PATCH`,
    `POST` and `DELETE` on `/api/now/table/{table}/{sys_id}` change what later reads return
    (sys_updated_on moves on), a reference set to a sys_id shows its record's name and its
    dot-walked fields; `readers` may read but not write (403 ACL exception, as ServiceNow
    answers); `mandatory` fields (table → fields) refuse an empty value with ServiceNow's
    403 `Data Policy Exception`; an unknown sys_id is 404; a body that is not a JSON object 400."""

    name = "servicenow"

    def __init__(
        self,
        user: str,
        password: str,
        tables: dict[str, list[dict[str, Any]]],
        readers: dict[str, str] | None = None,
        mandatory: dict[str, list[str]] | None = None,
    ) -> None:
        self.user, self.password, self.tables = user, password, tables
        self.readers = readers or {}
        self.mandatory = mandatory or {}
        self.clock = 0

    def answer(self, call: Call) -> Reply:
        login = _basic(call)
        reader = login is not None and self.readers.get(login[0]) == login[1]
        if login != (self.user, self.password) and not reader:
            return error(
                401,
                {
                    "error": {
                        "message": "User Not Authenticated",
                        "detail": "Required to provide Auth information",
                    },
                    "status": "failure",
                },
            )
        match = re.fullmatch(r"/api/now/table/(\w+)(?:/(\w+))?", call.path)
        if not match or match.group(1) not in self.tables:
            return error(400, {"error": {"message": "Invalid table", "detail": None}, "status": "failure"})
        if call.method != "GET" and reader:
            return error(403, {"error": _SN_ACL, "status": "failure"})
        if match.group(2) is not None or call.method != "GET":
            return self._record(call, match.group(1), match.group(2))
        rows = self.tables[match.group(1)]
        query = call.arg("sysparm_query") or ""
        for condition in query.split("^"):
            field, eq, wanted = condition.partition("=")
            if eq and not field.startswith(("sys_updated_on", "ORDERBY")) and re.fullmatch(r"[\w.]+", field):
                rows = [r for r in rows if str(_value(r.get(field, ""))) == wanted]
        since = re.search(r"sys_updated_on(>=?)([^^]+)", query)
        if since:
            at_or_after = since.group(1) == ">="
            rows = [
                r
                for r in rows
                if _value(r["sys_updated_on"]) > since.group(2)
                or (at_or_after and _value(r["sys_updated_on"]) == since.group(2))
            ]
        if "ORDERBYsys_updated_on" in query:
            rows = sorted(rows, key=lambda r: _value(r["sys_updated_on"]))
        elif "ORDERBYsys_id" in query:
            rows = sorted(rows, key=lambda r: _value(r["sys_id"]))
        limit = int(call.arg("sysparm_limit", "10000") or 10000)
        offset = int(call.arg("sysparm_offset", "0") or 0)
        chunk, nxt = page_of(rows, offset, limit)
        fields = (call.arg("sysparm_fields") or "").split(",") if call.arg("sysparm_fields") else None
        display = call.arg("sysparm_display_value", "false")
        result = [_render(r, fields, display) for r in chunk]
        query_args = {k: v[0] for k, v in call.query.items()}

        def link(off: int, rel: str) -> str:
            return f'<{call.base}{call.path}?{urlencode({**query_args, "sysparm_offset": off})}>;rel="{rel}"'

        links = [link(0, "first")]
        if offset:
            links.append(link(max(0, offset - limit), "prev"))
        if nxt is not None:
            links.append(link(nxt, "next"))
        links.append(link(max(0, (len(rows) - 1) // limit * limit), "last"))
        return Reply(200, {"result": result}, {"X-Total-Count": str(len(rows)), "Link": ",".join(links)})

    def _record(self, call: Call, table: str, sys_id: str | None) -> Reply:
        rows = self.tables[table]
        found = next((r for r in rows if _value(r["sys_id"]) == sys_id), None)
        display = call.arg("sysparm_display_value", "false") or "false"
        fields = (call.arg("sysparm_fields") or "").split(",") if call.arg("sysparm_fields") else None
        if call.method == "POST":
            found = {"sys_id": secrets.token_hex(16)}
            rows.append(found)
        elif found is None:
            return error(404, {"error": _SN_MISSING, "status": "failure"})
        if call.method == "DELETE":
            rows.remove(found)
            return Reply(204, None)
        if call.method in ("PATCH", "PUT", "POST"):
            body = call.json
            if not isinstance(body, dict):
                failure = {
                    "message": "Exception while reading request",
                    "detail": "The payload is not valid JSON.",
                }
                return error(400, {"error": failure, "status": "failure"})
            changed = {**found, **{k: self._stored(k, v) for k, v in body.items()}}
            for ref in set(body) & set(_SN_REFERENCES):
                target = self._target(ref, _value(changed[ref]))
                for key in [k for k in changed if k.startswith(ref + ".")]:
                    changed[key] = _value((target or {}).get(key.split(".", 1)[1], ""))
            empty = [f for f in self.mandatory.get(table, []) if _value(changed.get(f, "")) in ("", None)]
            if empty:
                detail = "Data Policy Exception: \n " + "\n ".join(f"{f} is mandatory" for f in empty) + "\n"
                if call.method == "POST":
                    rows.remove(found)
                return error(
                    403, {"error": {"message": "Operation Failed", "detail": detail}, "status": "failure"}
                )
            self.clock += 1
            changed["sys_updated_on"] = f"2030-01-01 00:{self.clock // 60:02d}:{self.clock % 60:02d}"
            found.clear()
            found.update(changed)
        return Reply(201 if call.method == "POST" else 200, {"result": _render(found, fields, display)})

    def _stored(self, field: str, value: Any) -> Any:
        if field in _SN_REFERENCES:
            target = self._target(field, value)
            return (value, _value(target[_SN_REFERENCES[field][1]]) if target else "")
        return value

    def _target(self, field: str, sys_id: Any) -> dict[str, Any] | None:
        table, _ = _SN_REFERENCES[field]
        return next((r for r in self.tables.get(table, []) if _value(r["sys_id"]) == sys_id), None)


def _value(cell: Any) -> Any:
    return cell[0] if isinstance(cell, tuple) else cell


def _render(record: dict[str, Any], fields: list[str] | None, display: str) -> dict[str, Any]:
    out = {}
    for name in fields or list(record):
        cell = record.get(name, "")
        value, shown = cell if isinstance(cell, tuple) else (cell, cell)
        if display == "all":
            out[name] = {"display_value": shown, "value": value}
        else:
            out[name] = shown if display == "true" else value
    return out


class SnipeIt(Vendor):
    name = "snipeit"

    def __init__(
        self,
        token: str,
        hardware: list[dict[str, Any]],
        users: list[dict[str, Any]],
        licenses: list[dict[str, Any]],
        seats: dict[int, list[dict[str, Any]]],
    ) -> None:
        self.token = token
        self.lists = {"hardware": hardware, "users": users, "licenses": licenses}
        self.seats = seats
        #: the largest `limit` the server honours (Snipe-IT caps it at 500)
        self.max_limit = 500
        #: answer every page from the start (a proxy that drops the offset)
        self.ignore_offset = False

    def answer(self, call: Call) -> Reply:
        if call.header("Authorization") != f"Bearer {self.token}":
            return error(401, {"message": "Unauthenticated."})
        seats = re.fullmatch(r"/api/v1/licenses/(\d+)/seats", call.path)
        if seats:
            return self._page(call, self.seats.get(int(seats.group(1)), []), self.max_limit)
        name = call.path.removeprefix("/api/v1/")
        if name not in self.lists:
            return Reply(200, {"status": "error", "messages": "404 endpoint not found", "payload": None})
        rows = self.lists[name]
        if call.arg("sort") == "updated_at":
            rows = sorted(
                rows, key=lambda r: r["updated_at"]["datetime"], reverse=call.arg("order") == "desc"
            )
        elif call.arg("sort") == "id":
            rows = sorted(rows, key=lambda r: r["id"], reverse=call.arg("order") == "desc")
        if self.ignore_offset:
            call.query.pop("offset", None)
        return self._page(call, rows, self.max_limit)

    @staticmethod
    def _page(call: Call, rows: list[dict[str, Any]], max_limit: int) -> Reply:
        limit = min(int(call.arg("limit", "50") or 50), max_limit)
        chunk, _ = page_of(rows, int(call.arg("offset", "0") or 0), limit)
        headers = {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "119"}
        return Reply(200, {"total": len(rows), "rows": chunk}, headers)


class Jamf(Vendor):
    name = "jamf"

    def __init__(self, user: str, password: str, computers: list[dict[str, Any]]) -> None:
        self.user, self.password, self.computers = user, password, computers
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        #: the largest `page-size` the server honours (None: any)
        self.max_page_size: int | None = None

    def answer(self, call: Call) -> Reply:
        if call.path == "/api/v1/auth/token" and call.method == "POST":
            if _basic(call) != (self.user, self.password):
                return error(401, {"httpStatus": 401, "errors": []})
            token = secrets.token_urlsafe(16)
            self.tokens.add(token)
            self.tokens_issued += 1
            return Reply(200, {"token": token, "expires": "2999-01-01T00:00:00.000Z"})
        if call.header("Authorization").removeprefix("Bearer ") not in self.tokens:
            return error(
                401, {"httpStatus": 401, "errors": [{"code": "INVALID_TOKEN", "description": "Unauthorized"}]}
            )
        if call.path != "/api/v1/computers-inventory":
            return error(404, {"httpStatus": 404, "errors": [{"code": "NOT_FOUND"}]})
        rows = self.computers
        since = re.fullmatch(r'general\.reportDate=(gt|ge)="([^"]+)"', call.arg("filter") or "")
        if since:
            op = (lambda a, b: a > b) if since.group(1) == "gt" else (lambda a, b: a >= b)
            rows = [c for c in rows if op(c["general"]["reportDate"], since.group(2))]
        if (call.arg("sort") or "").startswith("general.reportDate"):
            rows = sorted(rows, key=lambda c: (c["general"]["reportDate"], c["id"]))
        elif (call.arg("sort") or "").startswith("id"):
            rows = sorted(rows, key=lambda c: int(c["id"]))
        sections = {s.lower().replace("_", "") for s in call.query.get("section", ["GENERAL"])}
        page, size = int(call.arg("page", "0") or 0), int(call.arg("page-size", "100") or 100)
        size = min(size, self.max_page_size or size)
        chunk, _ = page_of(rows, page * size, size)
        keep = [{k: v for k, v in c.items() if k == "id" or k.lower() in sections} for c in chunk]
        return Reply(200, {"totalCount": len(rows), "results": keep})


class NetBox(Vendor):
    name = "netbox"

    def __init__(self, token: str, devices: list[dict[str, Any]], sites: list[dict[str, Any]]) -> None:
        self.token = token
        self.lists = {"/api/dcim/devices/": devices, "/api/dcim/sites/": sites}

    def answer(self, call: Call) -> Reply:
        if call.header("Authorization") != f"Token {self.token}":
            return error(403, {"detail": "Invalid token"})  # NetBox answers 403, not 401
        if call.path not in self.lists:
            return error(404, {"detail": "Not found."})
        rows = self.lists[call.path]
        since = call.arg("last_updated__gte")
        if since:
            rows = [r for r in rows if r["last_updated"] >= since]
        if call.arg("ordering") == "last_updated":
            rows = sorted(rows, key=lambda r: (r["last_updated"], r["id"]))
        elif call.arg("ordering") == "id":
            rows = sorted(rows, key=lambda r: r["id"])
        limit, offset = int(call.arg("limit", "50") or 50), int(call.arg("offset", "0") or 0)
        chunk, nxt = page_of(rows, offset, limit)
        args = {k: v[0] for k, v in call.query.items()}
        link = None if nxt is None else f"{call.base}{call.path}?{urlencode({**args, 'offset': nxt})}"
        previous = None if not offset else f"{call.base}{call.path}?{urlencode({**args, 'offset': 0})}"
        return Reply(200, {"count": len(rows), "next": link, "previous": previous, "results": chunk})


class Google(Vendor):
    name = "google"

    def __init__(self, token: str, customer: str, assignments: list[dict[str, Any]]) -> None:
        self.token, self.customer, self.assignments = token, customer, assignments

    def answer(self, call: Call) -> Reply:
        if call.header("Authorization") != f"Bearer {self.token}":
            return error(
                401,
                {
                    "error": {
                        "code": 401,
                        "status": "UNAUTHENTICATED",
                        "message": "Request had invalid authentication credentials.",
                    }
                },
            )
        match = re.fullmatch(r"/product/([^/]+)/users", call.path)
        if not match:
            return error(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
        if call.arg("customerId") != self.customer:
            return error(
                400, {"error": {"code": 400, "message": "Invalid customerId", "status": "INVALID_ARGUMENT"}}
            )
        rows = [a for a in self.assignments if a["productId"] == match.group(1)]
        size = min(int(call.arg("maxResults", "100") or 100), 1000)
        chunk, nxt = page_of(rows, int(call.arg("pageToken", "0") or 0), size)
        body: dict[str, Any] = {"kind": "licensing#licenseAssignmentList", "etag": '"etag"'}
        if chunk:
            body["items"] = chunk
        if nxt is not None:
            body["nextPageToken"] = str(nxt)
        return Reply(200, body)
