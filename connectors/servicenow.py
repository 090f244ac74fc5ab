"""`kind: servicenow`: the CMDB's computers, users and locations through the Table API.

    - name: snow
      kind: servicenow
      base_url: https://example.service-now.com
      auth: {type: basic, username: reader, password: ${SNOW_PASSWORD}}   # or bearer

Requests ask for `sysparm_display_value=all`, so every field comes as `{display_value,
value}` (references add `link`): mappings use `.value` for codes, ids and numbers (`cost.value`
is `1799.99` where the display is `"1,799.99"`; times are UTC where the display is in the
user's time zone) and `.display_value` for names. Dot-walked fields (`assigned_to.email`)
name the assignee by email. Pages: `sysparm_limit`/`sysparm_offset` up to `X-Total-Count`.
Reads are ordered by `sys_id` (stable while records change during a read); later
syncs ask `sys_updated_on>={cursor}`, after a stream's own `sysparm_query` conditions
(`params: {sysparm_query: active=true}`), joined by `^`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig


def _table(table: str, fields: list[str]) -> dict[str, Any]:
    return {
        "path": f"/api/now/table/{table}",
        "records": "result",
        "id": "sys_id.value",
        "cursor": "sys_updated_on.value",
        "params": {"sysparm_fields": ",".join(["sys_id", "sys_updated_on", *fields])},
        "incremental": {
            "params": {"sysparm_query": "sys_updated_on>={cursor}^ORDERBYsys_id"},
            "initial": "1970-01-01 00:00:00",
        },
    }


COMPUTER = [
    "asset_tag",
    "serial_number",
    "name",
    "manufacturer",
    "model_id",
    "install_status",
    "location",
    "form_factor",
    "assigned_to.email",
    "department",
    "purchase_date",
    "warranty_expiration",
    "cost",
    "mac_address",
    "ip_address",
    "os",
    "last_discovered",
]
USER = ["user_name", "email", "name", "department", "active", "manager.user_name"]
LOCATION = ["name", "city", "country"]


class ServiceNowConfig(PresetConfig):
    kind: Literal["servicenow"]
    #: a stream's own `sysparm_query` (`active=true`) and the incremental one are joined by `^`
    combine_params: ClassVar[dict[str, str]] = {"sysparm_query": "^"}
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "basic"},
        "params": {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"},
        "paginator": {
            "type": "offset",
            "limit": 1000,
            "limit_param": "sysparm_limit",
            "offset_param": "sysparm_offset",
            "total_header": "X-Total-Count",
        },
        "entities": {
            "assets": {
                **_table("cmdb_ci_computer", COMPUTER),
                "fields": {
                    "asset_tag": "asset_tag.value",
                    "serial_number": "serial_number.value",
                    "hostname": "name.value",
                    "name": "name.display_value",
                    "manufacturer": "manufacturer.display_value",
                    "model": "model_id.display_value",
                    "category": "form_factor.display_value",
                    "status": "install_status.value",
                    "location": "location.display_value",
                    "assigned_to": "assigned_to.email.value",
                    "department": "department.display_value",
                    "purchase_date": "purchase_date.value",
                    "warranty_end": "warranty_expiration.value",
                    "cost": {"column": "cost.value", "currency": "USD"},
                    "mac_addresses": "mac_address.value",
                    "ip_addresses": "ip_address.value",
                    "os": "os.display_value",
                    "last_seen": "last_discovered.value",
                },
            },
            "people": {
                **_table("sys_user", USER),
                "fields": {
                    "username": "user_name.value",
                    "email": "email.value",
                    "name": "name.display_value",
                    "department": "department.display_value",
                    "employment_status": "active.value",
                    "manager": "manager.user_name.value",
                },
            },
            "locations": {
                **_table("cmn_location", LOCATION),
                "fields": {"name": "name.display_value", "city": "city.value", "country": "country.value"},
            },
        },
    }


class ServiceNowConnector(HttpConnector):
    kind = "servicenow"
    config_model = ServiceNowConfig
