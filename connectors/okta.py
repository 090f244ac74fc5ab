"""`kind: okta`: Okta users (and their status) as people; apps and their users as licenses.

    - name: okta
      kind: okta
      base_url: https://example.okta.com
      auth: {token: ${OKTA_TOKEN}}          # an API token: `Authorization: SSWS <token>`

Users are read with `search=lastUpdated ge "<cursor>"`: a search (unlike the plain list)
returns DEPROVISIONED users too, and later syncs read only users changed since. Pages follow
`Link: rel="next"`. Status ACTIVE/PROVISIONED/… → active, DEPROVISIONED/SUSPENDED → terminated.
Apps (`/api/v1/apps`) become licenses named by their label; each app's users
(`/api/v1/apps/{id}/users`) become license assignments.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pandas as pd

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig

EPOCH = "1970-01-01T00:00:00.000Z"


class OktaConfig(PresetConfig):
    kind: Literal["okta"]
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "api_key", "header": "Authorization", "prefix": "SSWS"},
        "paginator": {"type": "link_header", "size_param": "limit", "size": 200},
        "entities": {
            "people": {
                "path": "/api/v1/users",
                "id": "id",
                "cursor": "lastUpdated",
                "incremental": {"params": {"search": 'lastUpdated ge "{cursor}"'}, "initial": EPOCH},
                "fields": {
                    "email": "profile.email",
                    "username": "profile.login",
                    "name": "name",
                    "department": "profile.department",
                    "employment_status": "status",
                },
            },
            "licenses": {
                "path": "/api/v1/apps",
                "id": "id",
                "fields": {"product": "label", "sku": "name"},
            },
            "license_assignments": {
                "path": "/api/v1/apps/{id}/users",
                "for_each": {"path": "/api/v1/apps"},
                "id": ["parent.id", "id"],
                "fields": {
                    "license": "parent.name",
                    "person": {"columns": ["profile.email", "credentials.userName"]},
                    "assigned_at": "created",
                },
            },
        },
    }


class OktaConnector(HttpConnector):
    kind = "okta"
    config_model = OktaConfig

    def shape(self, entity: str, frame: pd.DataFrame) -> pd.DataFrame:
        if entity == "people" and len(frame):
            first = _text(frame, "profile.firstName")
            last = _text(frame, "profile.lastName")
            name = (first + " " + last).str.strip()
            if "profile.displayName" in frame.columns:
                name = _text(frame, "profile.displayName").where(lambda s: s != "", name)
            frame["name"] = name.where(name != "", None)
        return frame


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].fillna("").astype(str)
