"""ServiceNow's Table API, simulated: the connector tests' CMDB and the demo's ITSM.

    ServiceNow("admin", "secret", {"cmdb_ci_computer": [...], "incident": []})

A record is {field: value or (value, display_value)}; dot-walked fields (`assigned_to.email`)
are stored under their dotted name. Reads page with `sysparm_limit`/`sysparm_offset` and
`Link`/`X-Total-Count`, filter with `sysparm_query` (`field=value`, `sys_updated_on>=…`,
`ORDERBY…`) and answer `sysparm_fields` and `sysparm_display_value`, as ServiceNow does.

Writes keep state: `PATCH`, `POST` and `DELETE` on `/api/now/table/{table}[/{sys_id}]` change
what later reads return (sys_updated_on moves on); a reference set to a sys_id shows its
record's name and its dot-walked fields. A record created in a task table gets the table's
next number (`INC0010001`, `REQ0010001`: `NUMBERING`) and its state fields' defaults. A
`PATCH` changes the fields sent and answers 200 with the record; `work_notes` is a journal: a
value written adds an entry (newest first, headed by the time and the user), and reading it
returns them all.

Refusals in ServiceNow's shape, `{"error": {"message", "detail"}, "status": "failure"}`: 401
without valid Basic credentials; 403 `ACL Exception` for a `readers` login that writes; 403
`Data Policy Exception` for an empty `mandatory` field; 404 for an unknown sys_id; 400 for a
table that is not there (`Invalid table`), a body that is not a JSON object, and a field the
table does not have when it is `strict` (ServiceNow itself ignores unknown fields unless the
instance sets `glide.rest.table.strict`). An incident Resolved (6) or Closed (7) without
`close_code` and `close_notes` is refused as ServiceNow's data policy does (403 `Data Policy
Exception`, naming the fields).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from federation.demo.vendor_server import Call, Reply, Vendor, error, page_of

_ACL = {"message": "Operation Failed", "detail": "ACL Exception Update Failed due to security constraints"}
_MISSING = {"message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval"}  # fmt: skip
#: reference field → (table, field shown as its display value)
_REFERENCES = {"location": ("cmn_location", "name"), "assigned_to": ("sys_user", "name"),
               "manager": ("sys_user", "name")}  # fmt: skip
#: task tables → the prefix of their numbers (ServiceNow's defaults), and the first number
NUMBERING = {"incident": "INC", "sc_request": "REQ", "sc_req_item": "RITM", "change_request": "CHG",
             "problem": "PRB"}  # fmt: skip
FIRST_NUMBER = 10001
#: table → (state field, the states that need fields, those fields): the resolution rule
RESOLUTION = {"incident": ("state", ("6", "7"), ("close_code", "close_notes"))}
#: journal fields: a write adds an entry
JOURNALS = ("work_notes", "comments")
#: the values a new task record starts with (ServiceNow's defaults: incident New, a request
#: Requested and waiting for approval)
_NEW = {"incident": {"state": "1", "impact": "3", "urgency": "3", "priority": "5"},
        "sc_request": {"request_state": "requested", "approval": "requested", "state": "1"}}  # fmt: skip
#: fields every task record has, beyond those written
TASK_FIELDS = ("number", "short_description", "description", "state", "correlation_id",
               "correlation_display", "caller_id", "requested_for", "assignment_group", "category",
               "impact", "urgency", "priority", "request_state", "approval", "work_notes", "cmdb_ci",
               "close_code", "close_notes", "comments", "active", "sys_created_on",
               "sys_updated_on")  # fmt: skip


def basic_login(call: Call) -> tuple[str, str] | None:
    """(user, password) of a Basic Authorization header, or None."""
    header = call.header("Authorization")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


_JOURNAL_HEADER = re.compile(
    r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - .* \((?:Work notes|Additional comments)\)\n"
)


def login_name(call: Call) -> str:
    login = basic_login(call)
    return login[0] if login else "guest"


def journal_entries(record: dict[str, Any], field: str = "work_notes") -> list[str]:
    """The entries of a journal field, oldest first, without their headers (tests)."""
    text = str(_value(record.get(field, "")) or "")
    parts = re.split(_JOURNAL_HEADER, text)
    return [p.strip("\n") for p in reversed(parts) if p.strip()]


def _failure(status: int, message: str, detail: str | None) -> Reply:
    return error(status, {"error": {"message": message, "detail": detail}, "status": "failure"})


class ServiceNow(Vendor):
    name = "servicenow"

    def __init__(
        self,
        user: str,
        password: str,
        tables: dict[str, list[dict[str, Any]]],
        readers: dict[str, str] | None = None,
        mandatory: dict[str, list[str]] | None = None,
        strict: bool = False,
    ) -> None:
        self.user, self.password, self.tables = user, password, tables
        self.readers = readers or {}
        self.mandatory = mandatory or {}
        self.strict = strict
        self.clock = 0
        #: table → the last number given
        self.numbers: dict[str, int] = {}

    def answer(self, call: Call) -> Reply:
        login = basic_login(call)
        reader = login is not None and self.readers.get(login[0]) == login[1]
        if login != (self.user, self.password) and not reader:
            return _failure(401, "User Not Authenticated", "Required to provide Auth information")
        match = re.fullmatch(r"/api/now/table/(\w+)(?:/(\w+))?", call.path)
        if not match or match.group(1) not in self.tables:
            return _failure(400, "Invalid table", None)
        if call.method != "GET" and reader:
            return error(403, {"error": _ACL, "status": "failure"})
        if match.group(2) is not None or call.method != "GET":
            return self._record(call, match.group(1), match.group(2))
        return self._list(call, match.group(1))

    # ------------------------------------------------------------------------- reads
    def _list(self, call: Call, table: str) -> Reply:
        rows = self.tables[table]
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

    # ------------------------------------------------------------------------- writes
    def _record(self, call: Call, table: str, sys_id: str | None) -> Reply:
        rows = self.tables[table]
        found = next((r for r in rows if _value(r["sys_id"]) == sys_id), None)
        display = call.arg("sysparm_display_value", "false") or "false"
        fields = (call.arg("sysparm_fields") or "").split(",") if call.arg("sysparm_fields") else None
        if call.method == "POST" and sys_id is not None:
            return _failure(400, "Method not Supported", "POST method not supported for API")
        if call.method != "POST" and found is None:
            return error(404, {"error": _MISSING, "status": "failure"})
        if call.method == "DELETE":
            rows.remove(found)
            return Reply(204, None)
        if call.method == "GET":
            return Reply(200, {"result": _render(found or {}, fields, display)})
        body = call.json
        if not isinstance(body, dict):
            return _failure(400, "Exception while reading request", "The payload is not valid JSON.")
        unknown = sorted(k for k in body if not self._has_field(table, k))
        if self.strict and unknown:
            detail = f"Field(s) not present in table {table}: {', '.join(unknown)}"
            return _failure(400, "Invalid field(s)", detail)
        base = found if found is not None else self._new(table)
        journal = {k: body.pop(k) for k in JOURNALS if k in body and str(body[k]).strip()}
        changed = {**base, **{k: self._stored(k, v) for k, v in body.items() if k not in JOURNALS}}
        for ref in set(body) & set(_REFERENCES):
            target = self._target(ref, _value(changed[ref]))
            for key in [k for k in changed if k.startswith(ref + ".")]:
                changed[key] = _value((target or {}).get(key.split(".", 1)[1], ""))
        empty = [f for f in self.mandatory.get(table, []) if _value(changed.get(f, "")) in ("", None)]
        if table in RESOLUTION:
            field, states, needed = RESOLUTION[table]
            if str(_value(changed.get(field, ""))) in states:
                empty += [f for f in needed if _value(changed.get(f, "")) in ("", None)]
        if empty:
            detail = "Data Policy Exception: \n " + "\n ".join(f"{f} is mandatory" for f in empty) + "\n"
            return _failure(403, "Operation Failed", detail)
        self.clock += 1
        changed["sys_updated_on"] = f"2030-01-01 00:{self.clock // 60:02d}:{self.clock % 60:02d}"
        for name, text in journal.items():
            kind = "Work notes" if name == "work_notes" else "Additional comments"
            entry = f"{changed['sys_updated_on']} - {login_name(call)} ({kind})\n{text}\n\n"
            changed[name] = entry + str(_value(changed.get(name, "")) or "")
        if found is None:
            changed.setdefault("sys_created_on", changed["sys_updated_on"])
            if table in NUMBERING and not _value(changed.get("number", "")):
                changed["number"] = self._next_number(table)
            rows.append(changed)
            return Reply(201, {"result": _render(changed, fields, display)})
        found.clear()
        found.update(changed)
        return Reply(200, {"result": _render(found, fields, display)})

    def _new(self, table: str) -> dict[str, Any]:
        record: dict[str, Any] = {"sys_id": secrets.token_hex(16)}
        if table in NUMBERING:
            record |= {name: "" for name in TASK_FIELDS} | _NEW.get(table, {})
        return record

    def _next_number(self, table: str) -> str:
        number = self.numbers.get(table, FIRST_NUMBER - 1) + 1
        self.numbers[table] = number
        return f"{NUMBERING[table]}{number:07d}"

    def _has_field(self, table: str, field: str) -> bool:
        if table in NUMBERING and field in TASK_FIELDS:
            return True
        return any(field in row for row in self.tables[table])

    def _stored(self, field: str, value: Any) -> Any:
        if field in _REFERENCES:
            target = self._target(field, value)
            return (value, _value(target[_REFERENCES[field][1]]) if target else "")
        return value

    def _target(self, field: str, sys_id: Any) -> dict[str, Any] | None:
        table, _ = _REFERENCES[field]
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


__all__ = ["FIRST_NUMBER", "NUMBERING", "ServiceNow", "basic_login", "journal_entries"]
