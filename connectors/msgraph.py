"""`kind: msgraph`: Microsoft 365 licenses, Entra ID users and who holds which license.

    - name: m365
      kind: msgraph
      tenant_id: 00000000-0000-0000-0000-000000000000
      auth: {client_id: ${M365_CLIENT_ID}, client_secret: ${M365_CLIENT_SECRET}}

An app registration with `Organization.Read.All` and `User.Read.All` (application
permissions) signs in with the client credentials grant. `subscribedSkus` become licenses:
`skuPartNumber` is the SKU and names the product through a table of common SKUs (`sku_names:`
adds or overrides entries; an unknown SKU keeps its part number as product); seats purchased
are the usable prepaid units (enabled + warning; suspended units are not usable) and seats
assigned the consumed units. Users become people (`accountEnabled: false` → terminated), and
each user's `licenseDetails` a license assignment. Pages follow `@odata.nextLink`. Graph has
no change filter for these lists, so every sync reads them whole.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, model_validator

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig

#: common SKU part numbers → the product names people know (Microsoft publishes the full list)
SKU_NAMES: dict[str, str] = {
    "ENTERPRISEPREMIUM": "Office 365 E5",
    "ENTERPRISEPACK": "Office 365 E3",
    "STANDARDPACK": "Office 365 E1",
    "SPE_E3": "Microsoft 365 E3",
    "SPE_E5": "Microsoft 365 E5",
    "SPE_F1": "Microsoft 365 F3",
    "SPB": "Microsoft 365 Business Premium",
    "O365_BUSINESS_PREMIUM": "Microsoft 365 Business Standard",
    "O365_BUSINESS_ESSENTIALS": "Microsoft 365 Business Basic",
    "EXCHANGESTANDARD": "Exchange Online (Plan 1)",
    "EXCHANGEENTERPRISE": "Exchange Online (Plan 2)",
    "EMS": "Enterprise Mobility + Security E3",
    "EMSPREMIUM": "Enterprise Mobility + Security E5",
    "AAD_PREMIUM": "Microsoft Entra ID P1",
    "AAD_PREMIUM_P2": "Microsoft Entra ID P2",
    "POWER_BI_PRO": "Power BI Pro",
    "POWER_BI_STANDARD": "Power BI (free)",
    "PROJECTPROFESSIONAL": "Project Plan 3",
    "VISIOCLIENT": "Visio Plan 2",
    "FLOW_FREE": "Power Automate Free",
    "TEAMS_EXPLORATORY": "Microsoft Teams Exploratory",
    "Microsoft_Teams_Premium": "Microsoft Teams Premium",
    "CRMSTANDARD": "Microsoft Dynamics CRM Online",
    "WIN_DEF_ATP": "Microsoft Defender for Endpoint P2",
}

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
_USERS = "id,displayName,mail,userPrincipalName,department,accountEnabled"


class MsGraphConfig(PresetConfig):
    kind: Literal["msgraph"]
    #: the directory (tenant) id or domain; sets auth.token_url when that is not given
    tenant_id: str | None = None
    #: extra or corrected SKU part number → product name entries
    sku_names: dict[str, str] = Field(default_factory=dict)
    defaults: ClassVar[dict[str, Any]] = {
        "base_url": "https://graph.microsoft.com/v1.0",
        "auth": {"type": "oauth2_client_credentials", "scope": GRAPH_SCOPE},
        "paginator": {"type": "odata"},
        "entities": {
            "licenses": {
                "path": "/subscribedSkus",
                "records": "value",
                "id": "skuId",
                "fields": {
                    "vendor": {"value": "Microsoft"},
                    "sku": "skuPartNumber",
                    "product": "productName",
                    "seats_purchased": "seatsPurchased",
                    "seats_assigned": "consumedUnits",
                },
            },
            "people": {
                "path": "/users",
                "records": "value",
                "params": {"$select": _USERS, "$top": 999},
                "id": "id",
                "fields": {
                    "email": {"columns": ["mail", "userPrincipalName"]},
                    "username": "userPrincipalName",
                    "name": "displayName",
                    "department": "department",
                    "employment_status": "accountEnabled",
                },
            },
            "license_assignments": {
                "path": "/users/{id}/licenseDetails",
                "records": "value",
                "for_each": {
                    "path": "/users",
                    "records": "value",
                    "params": {"$select": "id,mail,userPrincipalName", "$top": 999},
                },
                "id": ["parent.id", "skuId"],
                "fields": {
                    "license": "skuPartNumber",
                    "person": {"columns": ["parent.mail", "parent.userPrincipalName"]},
                },
            },
        },
    }

    @model_validator(mode="before")
    @classmethod
    def _token_url_from_tenant(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("tenant_id") and isinstance(data.get("auth"), dict):
            auth = data["auth"]
            if (
                "token_url" not in auth
                and auth.get("type", "oauth2_client_credentials") == "oauth2_client_credentials"
            ):
                url = f"https://login.microsoftonline.com/{data['tenant_id']}/oauth2/v2.0/token"
                data = {**data, "auth": {**auth, "token_url": url}}
        return data


class MsGraphConnector(HttpConnector):
    kind = "msgraph"
    config_model = MsGraphConfig
    config: MsGraphConfig

    def shape(self, entity: str, frame: pd.DataFrame) -> pd.DataFrame:
        if entity != "licenses" or not len(frame):
            return frame
        names = {**SKU_NAMES, **self.config.sku_names}
        part = frame["skuPartNumber"]
        frame["productName"] = part.map(lambda p: names.get(p, p) if isinstance(p, str) else None)
        units = [
            frame.get(f"prepaidUnits.{k}", pd.Series(0, index=frame.index)) for k in ("enabled", "warning")
        ]
        frame["seatsPurchased"] = sum(pd.to_numeric(u, errors="coerce").fillna(0) for u in units).astype(int)
        return frame
