"""`kind: google_licensing`: Google Workspace license assignments (Enterprise License Manager).

    - name: gworkspace
      kind: google_licensing
      customer_id: example.com              # the primary domain or the customer id
      products: [Google-Apps]               # product ids to list (101031: Education …)
      auth: {type: bearer, token: ${GOOGLE_ACCESS_TOKEN}}

`licenseAssignments.listForProduct` (`/product/{productId}/users?customerId=…`) lists
`{userId, skuId, skuName, productId, productName}` per assigned seat, `maxResults` at a time,
with `nextPageToken`; an empty list leaves `items` out. Each assignment becomes a license
assignment (SKU id → license, user email → person), and each SKU seen a license (its seats
assigned are counted from the assignments: this API does not say how many were bought).
The API has no change filter, so every sync reads it whole.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, model_validator

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig, merge

_LISTING = {
    "path": "/product/{productId}/users",
    "records": "items",
    "records_optional": True,
}


class GoogleLicensingConfig(PresetConfig):
    kind: Literal["google_licensing"]
    customer_id: str
    products: list[str] = Field(default_factory=lambda: ["Google-Apps"], min_length=1)
    defaults: ClassVar[dict[str, Any]] = {
        "base_url": "https://licensing.googleapis.com/apps/licensing/v1",
        "auth": {"type": "bearer"},
        "paginator": {
            "type": "cursor",
            "cursor_path": "nextPageToken",
            "cursor_param": "pageToken",
            "size_param": "maxResults",
            "size": 1000,
        },
        "entities": {
            "licenses": {
                **_LISTING,
                "id": "skuId",
                "batch_size": 1_000_000_000,  # one batch: each SKU once
                "fields": {"vendor": {"value": "Google"}, "sku": "skuId", "product": "skuName"},
            },
            "license_assignments": {
                **_LISTING,
                "id": ["productId", "skuId", "userId"],
                "fields": {"license": "skuId", "person": "userId"},
            },
        },
    }

    @model_validator(mode="before")
    @classmethod
    def _per_product(cls, data: Any) -> Any:
        """Every listing runs once per product and for the configured customer."""
        if not isinstance(data, dict):
            return data
        data = merge(cls.defaults, data)
        products = data.get("products") or ["Google-Apps"]
        entities = {}
        for entity, stream in (data.get("entities") or {}).items():
            if isinstance(stream, dict) and stream.get("path") == _LISTING["path"]:
                stream = {
                    **stream,
                    "for_each": stream.get("for_each") or {"values": [{"productId": p} for p in products]},
                }
                stream["params"] = {"customerId": data.get("customer_id"), **stream.get("params", {})}
            entities[entity] = stream
        return {**data, "entities": entities} if entities else data


class GoogleLicensingConnector(HttpConnector):
    kind = "google_licensing"
    config_model = GoogleLicensingConfig

    def shape(self, entity: str, frame: pd.DataFrame) -> pd.DataFrame:
        if entity == "licenses" and len(frame):
            frame = frame.drop_duplicates("skuId").reset_index(drop=True)
        return frame
