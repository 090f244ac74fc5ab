"""`kind: glpi_inventory`: the GLPI agent's JSON inventories (computers, phones, and the
network equipment and printers of its SNMP `netinventory`).

    - name: glpi
      kind: glpi_inventory
      path: /var/lib/glpi-agent/inventories      # a folder, a file or a glob

One document per device: `{deviceid, itemtype, partial, content: {bios, hardware,
operatingsystem, networks, network_device, softwares, ...}}` (the format's JSON schema:
github.com/glpi-project/inventory_format). The record id is the agent's `deviceid`; several
files of one device (re-inventories) give the newest, and `partial: true` inventories, which
carry only the sections that changed, update the fields they have.

Serials are the system's (`bios.ssn`) or, for SNMP devices, `network_device.serial`; the
`serial` normaliser turns firmware placeholders (`To be filled by O.E.M.`, `0`, `Default
string`, `0000000000`) into no serial, and so the asset tag too, which BIOSes fill with the
same placeholders. MAC and IP addresses come from the physical interfaces (`virtualdev`
interfaces — bridges, Docker, VPN — are left out: their addresses repeat across machines).
`last_seen` is the file's modification time: when the agent wrote the inventory. The
`deviceid` is also the assets' hidden key `device_id`, by which the software stream names
its device.

`software_installations` come from `content.softwares` (name, publisher, version,
install_date; documents without that section give none), one record per [deviceid, name,
version, arch]. A device's newest inventory with a software list replaces its older list
(GLPI's semantics: a partial inventory that carries `softwares` carries the whole list).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from connectors.json_documents import FileProblem, kind_of
from connectors.json_files import MODIFIED, JsonFilesConnector, JsonPresetConfig, SourceFile

#: SMBIOS chassis types (DMTF DSP0134 7.4.1, as the agent reports them) and the SNMP device
#: types and item types of the format → categories (others: add them under `values`)
CATEGORIES: dict[str, str] = {
    "Other": "other",
    "Unknown": "other",
    "Low Profile Desktop": "desktop",
    "Pizza Box": "desktop",
    "Mini Tower": "desktop",
    "Hand Held": "phone",
    "Sub Notebook": "laptop",
    "Space-saving": "desktop",
    "Lunch Box": "desktop",
    "Main Server Chassis": "server",
    "Expansion Chassis": "other",
    "SubChassis": "other",
    "Bus Expansion Chassis": "other",
    "Peripheral Chassis": "peripheral",
    "RAID Chassis": "server",
    "Rack Mount Chassis": "server",
    "Sealed-case PC": "desktop",
    "Multi-system chassis": "server",
    "Compact PCI": "server",
    "Advanced TCA": "server",
    "Blade Enclosure": "server",
    "Convertible": "laptop",
    "Detachable": "laptop",
    "IoT Gateway": "network",
    "Embedded PC": "desktop",
    "Stick PC": "desktop",
    # network_device.type
    "Storage": "server",
    "Power": "other",
    "Video": "peripheral",
    "KVM": "peripheral",
    "Unmanaged": "other",
    # itemtype
    "NetworkEquipment": "network",
}
#: any virtualisation the agent names in `hardware.vmsystem` (not `Physical`)
VIRTUAL = (
    "(content.hardware.vmsystem != 'Physical' && content.hardware.vmsystem && 'virtual_machine') || null"
)
#: Android agents put the build tags (`release-keys`) where a BIOS has its asset tag
ASSET_TAG = "[content.bios.assettag][?@ != 'release-keys'] | [0]"
#: the physical interfaces
PHYSICAL = "content.networks[?!virtualdev]"
#: version and arch are absent on some platforms (Android apps have no arch): still an id
SOFTWARE_ID = ["deviceid", "name", "version || 'unversioned'", "arch || 'noarch'"]


class GlpiInventoryConfig(JsonPresetConfig):
    kind: Literal["glpi_inventory"]
    defaults: ClassVar[dict[str, Any]] = {
        "entities": {
            "assets": {
                "records": "",
                "id": "deviceid",
                "partial": "partial",
                "fields": {
                    "name": {"columns": ["content.hardware.name", "content.network_device.name"]},
                    # hardware.name is free text on phones (`Mi9TPro-TéléphoneM`): not a host name
                    "hostname": {"columns": ["content.operatingsystem.fqdn", "content.network_device.name"]},
                    "serial_number": {"columns": ["content.bios.ssn", "content.network_device.serial"]},
                    "asset_tag": {
                        "columns": [ASSET_TAG, "content.network_device.assettag"],
                        "transform": "serial",
                    },
                    "manufacturer": {
                        "columns": ["content.bios.smanufacturer", "content.network_device.manufacturer"]
                    },
                    "model": {"columns": ["content.bios.smodel", "content.network_device.model"]},
                    "category": {
                        "columns": [
                            VIRTUAL,
                            "content.hardware.chassis_type",
                            "content.network_device.type",
                            "itemtype",
                        ],
                        "values": CATEGORIES,
                    },
                    "mac_addresses": {"columns": [f"{PHYSICAL}.mac", "content.network_device.mac"]},
                    "ip_addresses": {
                        "columns": [f"{PHYSICAL}.[ipaddress, ipaddress6][]", "content.network_device.ips"]
                    },
                    "device_id": "deviceid",
                    "os": "content.operatingsystem.full_name",
                    "location": "content.network_device.location",
                    "last_seen": MODIFIED,
                    "attributes": (
                        "{itemtype: itemtype, uuid: content.hardware.uuid, "
                        "motherboard_serial: content.bios.msn, bios_version: content.bios.bversion, "
                        "memory_mb: content.hardware.memory, firmware: content.network_device.firmware, "
                        "kernel: content.operatingsystem.kernel_version, agent_tag: tag}"
                    ),
                },
            },
            "software_installations": {
                "records": "content.softwares || `[]`",
                "from_document": {"deviceid": "deviceid"},
                "replace_by": "deviceid",
                "id": SOFTWARE_ID,
                "fields": {
                    "asset": "deviceid",
                    "product": {"column": "name", "required": True},
                    "publisher": "publisher",
                    "version": "version",
                    "installed_at": "install_date",
                },
            },
        }
    }


class GlpiInventoryConnector(JsonFilesConnector):
    kind = "glpi_inventory"
    config_model = GlpiInventoryConfig

    def prepare(self, document: Any, file: SourceFile) -> Any:
        if not isinstance(document, dict) or not isinstance(document.get("content"), dict):
            found = "an object without `content`" if isinstance(document, dict) else kind_of(document)
            raise FileProblem(
                f"not a GLPI agent inventory: expected an object with `deviceid` and `content`, found {found}"
            )
        return document
