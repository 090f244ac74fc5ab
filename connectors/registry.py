"""Connector kinds by name. Built-in kinds are listed here; third-party kinds arrive through
the `assetgraph.connectors` entry-point group, loaded only when a config names their kind."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from connectors.base import Connector

#: kind → "module:Class" of the built-in connectors (imported on first use)
BUILTIN: dict[str, str] = {
    "sql": "connectors.sql:SqlConnector",
    "spreadsheet": "connectors.spreadsheet:SpreadsheetConnector",
    "rest": "connectors.rest:RestConnector",
    "servicenow": "connectors.servicenow:ServiceNowConnector",
    "snipeit": "connectors.snipeit:SnipeItConnector",
    "jamf": "connectors.jamf:JamfConnector",
    "netbox": "connectors.netbox:NetBoxConnector",
    "okta": "connectors.okta:OktaConnector",
    "msgraph": "connectors.msgraph:MsGraphConnector",
    "google_licensing": "connectors.google_licensing:GoogleLicensingConnector",
    "json_files": "connectors.json_files:JsonFilesConnector",
    "glpi_inventory": "connectors.glpi_inventory:GlpiInventoryConnector",
    "netbox_export": "connectors.netbox_export:NetBoxExportConnector",
}

ENTRY_POINT_GROUP = "assetgraph.connectors"


def _load(target: str) -> type[Connector]:
    module, _, name = target.partition(":")
    cls = getattr(import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"{target} is not a Connector subclass")
    return cls


def available_kinds() -> list[str]:
    kinds = set(BUILTIN)
    kinds.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(kinds)


def connector_class(kind: str) -> type[Connector]:
    if kind in BUILTIN:
        return _load(BUILTIN[kind])
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=kind):
        return _load(ep.value)
    raise KeyError(kind)
