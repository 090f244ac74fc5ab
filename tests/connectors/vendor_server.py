"""Vendor APIs for the connector tests, in each vendor's wire format (studied from the recorded
responses and specs under ../shared/peers; the records here are the tests' own).

Okta, Microsoft Graph and ServiceNow come from the demo's simulators (`federation/demo/vendors.py`,
`federation/demo/servicenow.py`); this module adds Snipe-IT, Jamf Pro, NetBox and Google's
License Manager. All run in one
`VendorServer` (federation/demo/vendor_server.py), which also injects faults.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode

from snipeit_server import SnipeIt

from federation.demo.servicenow import ServiceNow
from federation.demo.servicenow import basic_login as _basic
from federation.demo.vendor_server import Call, Reply, Vendor, VendorServer, error, page_of
from federation.demo.vendors import MicrosoftGraph, Okta

__all__ = ["Google", "Jamf", "MicrosoftGraph", "NetBox", "Okta", "ServiceNow", "SnipeIt", "VendorServer"]


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
