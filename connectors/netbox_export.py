"""`kind: netbox_export`: NetBox's JSON dump (`manage.py dumpdata`), read without a server.

    - name: netbox_dump
      kind: netbox_export
      path: backups/netbox.json

A dump is one list of `{model, pk, fields}` objects whose references are primary keys
(`"device_type": 6`). Before the records are taken, the references the mappings need are
resolved in place: a device's `fields.device_type` becomes the device type's fields (with
its `manufacturer` resolved in turn), `role`, `site`, `location`, `rack`, `platform`,
`tenant`, `primary_ip4`/`primary_ip6` likewise; each device gets `fields.interfaces` (its
`dcim.interface` objects), each interface its `ip_addresses` (and, from NetBox 4.2, its
`mac_addresses` objects). Assets are the `dcim.device` objects, locations the `dcim.site`
objects; nothing else in the dump is read into records (it also holds users and their
password hashes). Names with a space, colon or slash (`PP:B128` patch panels) are not taken
as host names.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Literal

from connectors.json_documents import FileProblem
from connectors.json_files import JsonFilesConnector, JsonPresetConfig, SourceFile
from connectors.netbox import ROLES

#: model → reference field → the model it points at
REFERENCES: dict[str, dict[str, str]] = {
    "dcim.device": {
        "device_type": "dcim.devicetype",
        "role": "dcim.devicerole",
        "device_role": "dcim.devicerole",  # NetBox before 3.6
        "site": "dcim.site",
        "location": "dcim.location",
        "rack": "dcim.rack",
        "platform": "dcim.platform",
        "tenant": "tenancy.tenant",
        "cluster": "virtualization.cluster",
        "primary_ip4": "ipam.ipaddress",
        "primary_ip6": "ipam.ipaddress",
    },
    "dcim.devicetype": {"manufacturer": "dcim.manufacturer"},
    "dcim.platform": {"manufacturer": "dcim.manufacturer"},
    "dcim.site": {"region": "dcim.region", "group": "dcim.sitegroup", "tenant": "tenancy.tenant"},
    "dcim.location": {"site": "dcim.site"},
    "dcim.rack": {"site": "dcim.site", "location": "dcim.location"},
}
#: (child model, its field naming the parent, parent model, the list the parent gets)
CHILDREN = (("dcim.interface", "device", "dcim.device", "interfaces"),)
#: objects attached by a generic reference (`assigned_object_type` + `assigned_object_id`)
#: → the list their target gets
ASSIGNED = {"ipam.ipaddress": "ip_addresses", "dcim.macaddress": "mac_addresses"}
#: roles of the NetBox demo data beyond the `netbox` preset's table
EXPORT_ROLES = {**ROLES, "Application Server": "server", "Database Server": "server",
                "ToR Switch": "network"}  # fmt: skip
HOST_NAME = (
    "[fields.name][?type(@) == 'string' && !contains(@, ' ') && !contains(@, ':') && !contains(@, '/')] | [0]"
)


class NetBoxExportConfig(JsonPresetConfig):
    kind: Literal["netbox_export"]
    defaults: ClassVar[dict[str, Any]] = {
        "entities": {
            "assets": {
                "records": "[?model == 'dcim.device']",
                "id": "pk",
                "fields": {
                    "name": "fields.name",
                    "hostname": HOST_NAME,
                    "serial_number": "fields.serial",
                    "asset_tag": "fields.asset_tag",
                    "manufacturer": "fields.device_type.manufacturer.name",
                    "model": "fields.device_type.model",
                    "category": {
                        "column": "fields.role.name || fields.device_role.name",
                        "values": EXPORT_ROLES,
                    },
                    "status": "fields.status",
                    "location": "fields.site.name",
                    "mac_addresses": "fields.interfaces[].[mac_address, mac_addresses[].mac_address][]",
                    "ip_addresses": (
                        "[fields.primary_ip4.address, fields.primary_ip6.address, "
                        "fields.interfaces[].ip_addresses[].address][]"
                    ),
                },
            },
            "locations": {
                "records": "[?model == 'dcim.site']",
                "id": "pk",
                "fields": {"name": "fields.name", "site": "fields.slug", "city": "fields.physical_address"},
            },
        }
    }


class NetBoxExportConnector(JsonFilesConnector):
    kind = "netbox_export"
    config_model = NetBoxExportConfig

    def prepare(self, document: Any, file: SourceFile) -> Any:
        if not isinstance(document, list) or not all(
            isinstance(o, dict) and "model" in o and isinstance(o.get("fields"), dict) for o in document
        ):
            raise FileProblem(
                "not a NetBox export: expected the list of {model, pk, fields} objects that "
                "`manage.py dumpdata` writes"
            )
        return resolve(document)


def resolve(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dump with the references of `REFERENCES`, `CHILDREN` and `ASSIGNED` resolved
    (objects of other models are left as they are)."""
    by_key = {(o["model"], o.get("pk")): o for o in objects if "pk" in o}
    content_types = {
        o["pk"]: f"{o['fields'].get('app_label')}.{o['fields'].get('model')}"
        for o in objects
        if o["model"] == "contenttypes.contenttype" and "pk" in o
    }
    resolved: dict[tuple[str, Any], dict[str, Any]] = {}

    def fields_of(model: str, pk: Any) -> dict[str, Any]:
        key = (model, pk)
        if key not in resolved:  # (stored before its references: a cycle ends here)
            found = by_key.get(key)
            fields = dict(found["fields"]) if found else {}
            resolved[key] = {"pk": pk, **fields}
            for name, target in REFERENCES.get(model, {}).items():
                value = fields.get(name)
                if isinstance(value, int) and not isinstance(value, bool) and (target, value) in by_key:
                    resolved[key][name] = fields_of(target, value)
        return resolved[key]

    attached: dict[tuple[str, Any], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for o in objects:
        model, fields = o["model"], o["fields"]
        for child, field, parent, name in CHILDREN:
            if model == child and fields.get(field) is not None:
                attached[(parent, fields[field])][name].append(fields_of(model, o.get("pk")))
        if model in ASSIGNED and fields.get("assigned_object_id") is not None:
            kind = fields.get("assigned_object_type")
            target = content_types.get(kind) if isinstance(kind, int) else ".".join(map(str, kind or ()))
            if target:
                attached[(target, fields["assigned_object_id"])][ASSIGNED[model]].append(
                    fields_of(model, o.get("pk"))
                )
    for key, lists in attached.items():
        fields_of(*key).update(lists)
    out = []
    for o in objects:
        if o["model"] in REFERENCES and "pk" in o:
            o = {**o, "fields": fields_of(o["model"], o["pk"])}
        out.append(o)
    return out
