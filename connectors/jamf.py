"""`kind: jamf`: Jamf Pro computers through `/api/v1/computers-inventory`.

    - name: jamf
      kind: jamf
      base_url: https://example.jamfcloud.com
      auth: {username: api-reader, password: ${JAMF_PASSWORD}}

The user name and password are exchanged for a bearer token (`POST /api/v1/auth/token`),
reused until it expires. Pages: `page` (from 0) and `page-size` until `totalCount`; the
sections read are GENERAL, HARDWARE, OPERATING_SYSTEM, USER_AND_LOCATION and PURCHASING.
The category comes from the hardware model (`MacBook…` → laptop, other Macs → desktop); the
OS is the name and version (`macOS 14.5`).
Pages are sorted by `id` (stable while computers report during a read); later syncs ask
`filter=general.reportDate=ge="<cursor>"`. The
purchase price is free text (`"$500"`): the money transform reads it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pandas as pd

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig

SECTIONS = ["GENERAL", "HARDWARE", "OPERATING_SYSTEM", "USER_AND_LOCATION", "PURCHASING"]


class JamfConfig(PresetConfig):
    kind: Literal["jamf"]
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "token_exchange", "token_url": "/api/v1/auth/token"},
        "paginator": {"type": "page_number", "size": 200, "total_path": "totalCount"},
        "entities": {
            "assets": {
                "path": "/api/v1/computers-inventory",
                "records": "results",
                "params": {"section": SECTIONS, "sort": "id:asc"},
                "id": "id",
                "cursor": "general.reportDate",
                "incremental": {"params": {"filter": 'general.reportDate=ge="{cursor}"'}},
                "fields": {
                    "name": "general.name",
                    "hostname": "general.name",
                    "asset_tag": "general.assetTag",
                    "serial_number": "hardware.serialNumber",
                    "manufacturer": "hardware.make",
                    "model": "hardware.model",
                    "category": "category",  # from hardware.model, by `shape`
                    "mac_addresses": "hardware.macAddress",
                    "ip_addresses": "general.lastIpAddress",
                    "os": "os",  # operatingSystem.name and .version, by `shape`
                    "assigned_to": {"columns": ["userAndLocation.email", "userAndLocation.username"]},
                    "purchase_date": "purchasing.poDate",
                    "warranty_end": "purchasing.warrantyDate",
                    "cost": {"column": "purchasing.purchasePrice", "currency": "USD"},
                    "last_seen": "general.lastContactTime",
                },
            },
        },
    }


class JamfConnector(HttpConnector):
    kind = "jamf"
    config_model = JamfConfig

    def shape(self, entity: str, frame: pd.DataFrame) -> pd.DataFrame:
        if entity != "assets" or not len(frame):
            return frame
        model = _text(frame, "hardware.model")
        laptop = model.str.lower().str.startswith("macbook")
        frame["category"] = pd.Series(
            [
                "laptop" if is_laptop else "desktop" if m else None
                for is_laptop, m in zip(laptop, model, strict=True)
            ],
            index=frame.index,
            dtype=object,
        )
        os_text = (
            _text(frame, "operatingSystem.name") + " " + _text(frame, "operatingSystem.version")
        ).str.strip()
        frame["os"] = os_text.where(os_text != "", None)
        return frame


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].fillna("").astype(str).str.strip()
