"""Okta and Microsoft 365 as the demo sees them: simulated APIs over the demo estate.

`Okta` serves users (`/api/v1/users`, `Link` paging, `search=lastUpdated gt|ge "…"`, SSWS
tokens; DEPROVISIONED users only through a search, as Okta does) and apps with their users.
`MicrosoftGraph` serves an OAuth2 token endpoint, `subscribedSkus`, users and each user's
`licenseDetails` (`@odata.nextLink` paging, bearer tokens it issued). The connector tests use
the same classes with their own records; `demo_vendors` fills them from the estate.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from federation.demo.vendor_server import Call, Reply, Vendor, error, page_of


def _after(items: list[dict[str, Any]], after: str | None) -> int:
    if after is None:
        return 0
    for i, item in enumerate(items):
        if item["id"] == after:
            return i + 1
    return len(items)


class Okta(Vendor):
    name = "okta"

    def __init__(
        self,
        token: str,
        users: list[dict[str, Any]],
        apps: list[dict[str, Any]] | None = None,
        app_users: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.token = token
        self.users = users
        self.apps = apps or []
        self.app_users = app_users or {}

    def answer(self, call: Call) -> Reply:
        if call.header("Authorization") != f"SSWS {self.token}":
            return error(
                401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided", "errorCauses": []}
            )
        if call.path == "/api/v1/users":
            return self._list(call, self._users(call.arg("search")))
        if call.path == "/api/v1/apps":
            return self._list(call, self.apps)
        parts = call.path.strip("/").split("/")
        if len(parts) == 5 and parts[:3] == ["api", "v1", "apps"] and parts[4] == "users":
            if parts[3] not in self.app_users:
                return error(404, {"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"})
            return self._list(call, self.app_users[parts[3]])
        return error(
            404, {"errorCode": "E0000022", "errorSummary": "The endpoint does not support the method"}
        )

    def _users(self, search: str | None) -> list[dict[str, Any]]:
        if search is None:  # the plain list leaves deprovisioned users out
            return [u for u in self.users if u["status"] != "DEPROVISIONED"]
        for op, newer in (("gt", str.__gt__), ("ge", str.__ge__)):
            prefix = f'lastUpdated {op} "'
            if search.startswith(prefix) and search.endswith('"'):
                since = search[len(prefix) : -1]
                found = (u for u in self.users if newer(u["lastUpdated"], since))
                return sorted(found, key=lambda u: u["lastUpdated"])
        return list(self.users)

    def _list(self, call: Call, items: list[dict[str, Any]]) -> Reply:
        limit = int(call.arg("limit", "200") or 200)
        chunk, nxt = page_of(items, _after(items, call.arg("after")), limit)
        query = {k: v[0] for k, v in call.query.items() if k != "after"}
        links = [f'<{call.base}{call.path}?{urlencode(query)}>; rel="self"']
        if nxt is not None:
            links.append(
                f'<{call.base}{call.path}?{urlencode({**query, "after": chunk[-1]["id"]})}>; rel="next"'
            )
        headers = {
            "Link": ", ".join(links),
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": "599",
            "X-Rate-Limit-Reset": "1700000000",
        }
        return Reply(200, chunk, headers)


class MicrosoftGraph(Vendor):
    name = "msgraph"

    def __init__(
        self,
        tenant: str,
        client_id: str,
        client_secret: str,
        skus: list[dict[str, Any]],
        users: list[dict[str, Any]],
        license_details: dict[str, list[dict[str, Any]]],
        page_size: int = 100,
    ) -> None:
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.skus = skus
        self.users = users
        self.license_details = license_details
        self.page_size = page_size
        self.tokens: set[str] = set()
        self.tokens_issued = 0

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def answer(self, call: Call) -> Reply:
        if call.method == "POST" and call.path == f"/{self.tenant}/oauth2/v2.0/token":
            return self._token(call)
        token = call.header("Authorization").removeprefix("Bearer ")
        if token not in self.tokens:
            return error(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token has expired or is not yet valid.",
                    }
                },
            )
        if call.path == "/v1.0/subscribedSkus":
            context = "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus"
            return Reply(200, {"@odata.context": context, "value": self.skus})
        if call.path == "/v1.0/users":
            return self._users(call)
        parts = call.path.strip("/").split("/")
        if len(parts) == 4 and parts[1] == "users" and parts[3] == "licenseDetails":
            if parts[2] not in self.license_details and not any(u["id"] == parts[2] for u in self.users):
                return error(404, {"error": {"code": "Request_ResourceNotFound", "message": "not found"}})
            return Reply(200, {"value": self.license_details.get(parts[2], [])})
        return error(404, {"error": {"code": "BadRequest", "message": f"Resource not found for {call.path}"}})

    def _token(self, call: Call) -> Reply:
        form = {k: v[0] for k, v in call.form.items()}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return error(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
            )
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        self.tokens_issued += 1
        return Reply(
            200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )

    def _users(self, call: Call) -> Reply:
        size = min(int(call.arg("$top", str(self.page_size)) or self.page_size), self.page_size)
        start = int(call.arg("$skiptoken", "0") or 0)
        chunk, nxt = page_of(self.users, start, size)
        select = call.arg("$select")
        if select:
            keep = set(select.split(","))
            chunk = [{k: v for k, v in u.items() if k in keep} for u in chunk]
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
            "value": chunk,
        }
        if nxt is not None:
            query = {k: v[0] for k, v in call.query.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = f"{call.base}{call.path}?{urlencode({**query, '$skiptoken': nxt})}"
        return Reply(200, body)
