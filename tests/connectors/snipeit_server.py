"""Snipe-IT's API for the connector tests, in its wire format (studied from its API reference
and recorded answers under ../shared/peers/snipeit-python-api; the records are the tests' own)."""

from __future__ import annotations

import re
from typing import Any

from federation.demo.vendor_server import Call, Reply, Vendor, error, page_of


def _snipe(status: str, messages: Any, payload: Any = None) -> dict[str, Any]:
    """Snipe-IT's answer envelope (Helper::formatStandardApiResponse)."""
    return {"status": status, "messages": messages, "payload": payload}


_SNIPE_MISSING = _snipe("error", "Asset does not exist.")
_SNIPE_DENIED = _snipe("error", "Insufficient permissions!")


class SnipeIt(Vendor):
    """Snipe-IT's API. Lists are `{total, rows}` (`search` matches names, emails, usernames
    and tags; `email`, `username`, `name` filter exactly). Writes keep state on the rendered
    hardware records: `PATCH`/`PUT`/`POST`/`DELETE /api/v1/hardware[/{id}]` and `POST
    …/{id}/checkout` and `…/checkin` change what later reads return (`updated_at` moves
    on; a checked-out asset keeps its label and shows `status_meta: deployed`). Answers
    the vendor's way: a validation error is HTTP 200 with `{"status": "error", "messages":
    {field: [reasons]}}`; an unknown asset is 200 + `Asset does not exist.` (404 for
    DELETE); a token in `readers` may read but not write (403 `Insufficient permissions!`);
    a wrong token 401."""

    name = "snipeit"

    def __init__(
        self,
        token: str,
        hardware: list[dict[str, Any]],
        users: list[dict[str, Any]],
        licenses: list[dict[str, Any]],
        seats: dict[int, list[dict[str, Any]]],
        *,
        statuslabels: list[dict[str, Any]] | None = None,
        locations: list[dict[str, Any]] | None = None,
        models: list[dict[str, Any]] | None = None,
        readers: set[str] | None = None,
    ) -> None:
        self.token = token
        self.lists = {"hardware": hardware, "users": users, "licenses": licenses,
                      "statuslabels": statuslabels or [], "locations": locations or [],
                      "models": models or []}  # fmt: skip
        self.seats = seats
        self.readers = readers or set()
        #: the largest `limit` the server honours (Snipe-IT caps it at 500)
        self.max_limit = 500
        #: answer every page from the start (a proxy that drops the offset)
        self.ignore_offset = False
        self.clock = 0
        #: method → how many of its next requests are refused with 429 (Laravel's throttle)
        self.throttled: dict[str, int] = {}

    def throttle(self, method: str, times: int = 1) -> None:
        """Answer the next `times` requests of `method` as Laravel's `throttle:api` does."""
        self.throttled[method] = self.throttled.get(method, 0) + times

    def answer(self, call: Call) -> Reply:
        if self.throttled.get(call.method):
            self.throttled[call.method] -= 1
            headers = {"Retry-After": "1", "X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0"}
            return Reply(429, {"message": "Too Many Attempts."}, headers)
        bearer = call.header("Authorization").removeprefix("Bearer ")
        if bearer != self.token and bearer not in self.readers:
            return error(401, {"message": "Unauthenticated."})
        if call.method != "GET" and bearer in self.readers:
            return error(403, _SNIPE_DENIED)
        seats = re.fullmatch(r"/api/v1/licenses/(\d+)/seats", call.path)
        if seats:
            return self._page(call, self.seats.get(int(seats.group(1)), []), self.max_limit)
        one = re.fullmatch(r"/api/v1/hardware/([^/]+)(/checkout|/checkin)?", call.path)
        if one or (call.path == "/api/v1/hardware" and call.method == "POST"):
            return self._hardware(call, one.group(1) if one else None, (one.group(2) or "") if one else "")
        name = call.path.removeprefix("/api/v1/")
        if name not in self.lists or call.method != "GET":
            return Reply(200, _snipe("error", "404 endpoint not found"))
        rows = self.lists[name]
        for key in ("email", "username", "name"):
            if call.arg(key):
                rows = [r for r in rows if str(r.get(key) or "").casefold() == str(call.arg(key)).casefold()]
        if call.arg("search"):
            text = str(call.arg("search")).casefold()
            keys = ("name", "email", "username", "asset_tag", "serial")
            rows = [r for r in rows if any(text in str(r.get(k) or "").casefold() for k in keys)]
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

    # ------------------------------------------------------------------ hardware writes
    def _find(self, name: str, ident: Any) -> dict[str, Any] | None:
        return next((r for r in self.lists[name] if str(r["id"]) == str(ident)), None)

    def _hardware(self, call: Call, ident: str | None, action: str) -> Reply:
        hardware = self.lists["hardware"]
        found = None if ident is None else self._find("hardware", ident)
        if ident is not None and found is None:
            return Reply(404 if call.method == "DELETE" else 200, _SNIPE_MISSING)
        assert found is not None or call.method == "POST"
        if call.method == "GET" and found is not None:
            return Reply(200, found)
        if call.method == "DELETE" and found is not None:
            if found.get("assigned_to"):
                return Reply(
                    200, _snipe("error", "The asset is checked out and cannot be deleted: check it in first.")
                )
            hardware.remove(found)
            return Reply(200, _snipe("success", "The asset was deleted successfully."))
        body = call.json if isinstance(call.json, dict) else {}
        if action == "/checkout" and found is not None:
            return self._checkout(found, body)
        if action == "/checkin" and found is not None:
            return self._checkin(found, body)
        if call.method not in ("PATCH", "PUT", "POST"):
            return Reply(405, {"message": "Method not allowed."})
        problems = self._invalid(body, found)
        if problems:
            return Reply(200, _snipe("error", problems))
        if found is None:
            found = {"id": max([r["id"] for r in hardware], default=0) + 1, "name": None, "serial": None,
                     "assigned_to": None, "location": None, "purchase_cost": None, "purchase_date": None,
                     "custom_fields": {}, "created_at": self._stamp()}  # fmt: skip
            hardware.append(found)
        self._apply(found, body)
        message = "Asset created successfully. :)" if call.method == "POST" else "Asset updated successfully."
        return Reply(200, _snipe("success", message, {**{k: v for k, v in body.items()}, "id": found["id"]}))

    def _invalid(self, body: dict[str, Any], found: dict[str, Any] | None) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        if found is None:
            for key in ("asset_tag", "model_id", "status_id"):
                if body.get(key) in (None, ""):
                    problems[key] = [f"The {key.replace('_', ' ')} field is required."]
        for key, table in (("status_id", "statuslabels"), ("model_id", "models"),
                           ("location_id", "locations"), ("rtd_location_id", "locations")):  # fmt: skip
            if body.get(key) is not None and key not in problems and self._find(table, body[key]) is None:
                problems[key] = [f"The selected {key.replace('_', ' ')} is invalid."]
        tag = body.get("asset_tag")
        if tag and any(r["asset_tag"] == tag and r is not found for r in self.lists["hardware"]):
            problems["asset_tag"] = ["The asset tag has already been taken."]
        cost = body.get("purchase_cost")
        if cost is not None and not isinstance(cost, int | float):
            problems["purchase_cost"] = ["The purchase cost must be a number."]
        day = body.get("purchase_date")
        if day is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(day)):
            problems["purchase_date"] = ["The purchase date is not a valid date."]
        return problems

    def _apply(self, found: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("asset_tag", "serial", "name", "notes", "order_number"):
            if key in body:
                found[key] = body[key]
        if "purchase_cost" in body:
            cost = body["purchase_cost"]
            found["purchase_cost"] = None if cost is None else f"{cost:,.2f}"
        if "purchase_date" in body:
            day = body["purchase_date"]
            found["purchase_date"] = None if day is None else {"date": day, "formatted": day}
        if body.get("model_id") is not None:
            model = self._find("models", body["model_id"]) or {}
            found["model"] = {"id": model["id"], "name": model["name"]}
            found["category"] = model.get("category")
            found["manufacturer"] = model.get("manufacturer")
        if "location_id" in body:
            place = self._find("locations", body["location_id"])
            found["location"] = None if place is None else {"id": place["id"], "name": place["name"]}
        if body.get("status_id") is not None:
            self._label(found, body["status_id"])
        self._label(found, (found.get("status_label") or {}).get("id"))
        found["updated_at"] = self._stamp()

    def _label(self, found: dict[str, Any], ident: Any) -> None:
        label = self._find("statuslabels", ident)
        if label is None:
            return
        meta = "deployed" if found.get("assigned_to") else label["type"]
        found["status_label"] = {"id": label["id"], "name": label["name"], "status_type": label["type"],
                                 "status_meta": meta}  # fmt: skip

    def _checkout(self, found: dict[str, Any], body: dict[str, Any]) -> Reply:
        kind = body.get("checkout_to_type") or "user"
        field, table = {
            "user": ("assigned_user", "users"),
            "location": ("assigned_location", "locations"),
        }.get(kind, ("assigned_asset", "hardware"))
        target = self._find(table, body.get(field)) if body.get(field) is not None else None
        if target is None:
            return Reply(
                200, _snipe("error", {field: [f"The selected {field.replace('_', ' ')} is invalid."]})
            )
        label_id = body.get("status_id") or (found.get("status_label") or {}).get("id")
        label = self._find("statuslabels", label_id)
        if found.get("assigned_to") or (label is not None and label["type"] != "deployable"):
            return Reply(200, _snipe("error", "That asset is not available for checkout!"))
        if kind == "user":
            found["assigned_to"] = {"id": target["id"], "username": target["username"],
                                    "name": target["name"], "email": target.get("email"),
                                    "type": "user"}  # fmt: skip
        else:
            found["assigned_to"] = {"id": target["id"], "name": target["name"], "type": kind}
            if kind == "location":
                found["location"] = {"id": target["id"], "name": target["name"]}
        day = body.get("expected_checkin")
        found["expected_checkin"] = {"date": day, "formatted": day} if day else None
        found["last_checkout"] = self._stamp()
        self._label(found, label_id)
        found["updated_at"] = self._stamp()
        return Reply(200, _snipe("success", "Asset checked out successfully.", {"asset": found["asset_tag"]}))

    def _checkin(self, found: dict[str, Any], body: dict[str, Any]) -> Reply:
        if not found.get("assigned_to"):
            return Reply(200, _snipe("error", "That asset is already checked in."))
        problems = self._invalid({k: body[k] for k in ("status_id", "location_id") if k in body}, found)
        if problems:
            return Reply(200, _snipe("error", problems))
        found["assigned_to"] = None
        found["expected_checkin"] = None
        if body.get("location_id") is not None:
            place = self._find("locations", body["location_id"]) or {}
            found["location"] = {"id": place["id"], "name": place["name"]}
        self._label(found, body.get("status_id") or (found.get("status_label") or {}).get("id"))
        found["updated_at"] = self._stamp()
        return Reply(200, _snipe("success", "Asset checked in successfully.", {"asset": found["asset_tag"]}))

    def _stamp(self) -> dict[str, str]:
        self.clock += 1
        at = f"2030-01-01 00:{self.clock // 60:02d}:{self.clock % 60:02d}"
        return {"datetime": at, "formatted": at}
