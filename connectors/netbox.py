"""`kind: netbox`: NetBox devices and sites (the network's source of truth).

    - name: netbox
      kind: netbox
      base_url: https://netbox.example.com
      auth: {token: ${NETBOX_TOKEN}}        # `Authorization: Token <token>`

Lists follow the body's `next` link (`?limit=…&offset=…`), ordered by `id` (stable while
records change during a read). NetBox leaves most device serials
empty: such devices match other sources by asset tag or host name only. Later syncs ask
`last_updated__gte=<cursor>`: the records at the cursor itself come again and are merged
by their record id.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig

#: NetBox device roles → categories (other roles: add them under this field's `values`)
ROLES = {
    "Router": "network",
    "Core Switch": "network",
    "Access Switch": "network",
    "Distribution Switch": "network",
    "Leaf Switch": "network",
    "Spine Switch": "network",
    "Firewall": "network",
    "Load Balancer": "network",
    "Wireless AP": "network",
    "Console Server": "network",
    "Server": "server",
    "Storage": "server",
    "Hypervisor": "server",
    "PDU": "other",
    "Patch Panel": "other",
    "UPS": "other",
}
_SINCE = {"params": {"last_updated__gte": "{cursor}"}}


class NetBoxConfig(PresetConfig):
    kind: Literal["netbox"]
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "api_key", "header": "Authorization", "prefix": "Token"},
        "paginator": {"type": "json_link", "size_param": "limit", "size": 250},
        "entities": {
            "assets": {
                "path": "/api/dcim/devices/",
                "records": "results",
                "params": {"ordering": "id"},
                "id": "id",
                "cursor": "last_updated",
                "incremental": _SINCE,
                "fields": {
                    "name": "name",
                    "hostname": "name",
                    "serial_number": "serial",
                    "asset_tag": "asset_tag",
                    "manufacturer": "device_type.manufacturer.name",
                    "model": "device_type.model",
                    "category": {"column": "role.name", "values": ROLES},
                    "status": "status.value",
                    "location": "site.name",
                    "ip_addresses": "primary_ip.address",
                },
            },
            "locations": {
                "path": "/api/dcim/sites/",
                "records": "results",
                "params": {"ordering": "id"},
                "id": "id",
                "cursor": "last_updated",
                "incremental": _SINCE,
                "fields": {"name": "name", "site": "slug", "city": "physical_address"},
            },
        },
    }


class NetBoxConnector(HttpConnector):
    kind = "netbox"
    config_model = NetBoxConfig
