"""`kind: jamf`: Jamf Pro computers through `/api/v1/computers-inventory`.

    - name: jamf
      kind: jamf
      base_url: https://example.jamfcloud.com
      auth: {username: api-reader, password: ${JAMF_PASSWORD}}

The user name and password are exchanged for a bearer token (`POST /api/v1/auth/token`),
reused until it expires. Pages: `page` (from 0) and `page-size` until `totalCount`; the
sections read are GENERAL, HARDWARE, OPERATING_SYSTEM, USER_AND_LOCATION and PURCHASING.
Later syncs ask `filter=general.reportDate=gt="<cursor>"` sorted by report date. The
purchase price is free text (`"$500"`): the money transform reads it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

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
                "params": {"section": SECTIONS, "sort": "general.reportDate:asc,id:asc"},
                "id": "id",
                "cursor": "general.reportDate",
                "incremental": {"params": {"filter": 'general.reportDate=gt="{cursor}"'}},
                "fields": {
                    "name": "general.name",
                    "hostname": "general.name",
                    "asset_tag": "general.assetTag",
                    "serial_number": "hardware.serialNumber",
                    "manufacturer": "hardware.make",
                    "model": "hardware.model",
                    "category": {"value": "laptop"},
                    "mac_addresses": "hardware.macAddress",
                    "ip_addresses": "general.lastIpAddress",
                    "os": {"columns": ["operatingSystem.name", "operatingSystem.version"]},
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
