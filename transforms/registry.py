"""Normalisers by name (`transform:` in a field mapping) and each field's default."""

from __future__ import annotations

from federation.model import TABLES, ColumnType
from transforms import (
    addresses,
    attributes,
    booleans,
    categories,
    countries,
    dates,
    hostnames,
    manufacturers,
    money,
    numbers,
    people,
    serials,
    statuses,
    text,
)
from transforms.result import Normaliser

TRANSFORMS: dict[str, Normaliser] = {
    "text": text.text,
    "upper": text.upper,
    "lower": text.lower,
    "int": numbers.integer,
    "number": numbers.number,
    "boolean": booleans.boolean,
    "date": dates.date,
    "timestamp": dates.timestamp,
    "money": money.money,
    "serial": serials.serial,
    "asset_tag": serials.asset_tag,
    "hostname": hostnames.hostname,
    "mac_list": addresses.mac_list,
    "ip_list": addresses.ip_list,
    "manufacturer": manufacturers.manufacturer,
    "asset_status": statuses.asset_status,
    "category": categories.category,
    "employment_status": statuses.employment_status,
    "email": people.email,
    "person_key": people.person_key,
    "country": countries.country,
    "json": attributes.json_object,
}

#: the column type each normaliser produces
TRANSFORM_TYPES: dict[str, ColumnType] = {
    **dict.fromkeys(TRANSFORMS, "string"),
    "int": "int",
    "number": "numeric",
    "money": "numeric",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
    "mac_list": "string_list",
    "ip_list": "string_list",
    "json": "jsonb",
}

#: normalisers that take the `currency_column` cells as a fourth argument
CURRENCY_AWARE = frozenset({"money"})

#: entity → field → normaliser used when the mapping names none (fields not listed: `text`)
DEFAULT_TRANSFORMS: dict[str, dict[str, str]] = {
    "assets": {
        "asset_tag": "asset_tag",
        "serial_number": "serial",
        "hostname": "hostname",
        "name": "text",
        "category": "category",
        "manufacturer": "manufacturer",
        "model": "text",
        "status": "asset_status",
        "department": "text",
        "purchase_date": "date",
        "warranty_end": "date",
        "cost": "money",
        "cost_currency": "upper",
        "mac_addresses": "mac_list",
        "ip_addresses": "ip_list",
        "os": "text",
        "last_seen": "timestamp",
        "attributes": "json",
        "location": "text",
        "assigned_to": "person_key",
    },
    "people": {
        "email": "email",
        "username": "person_key",
        "name": "text",
        "department": "text",
        "employment_status": "employment_status",
        "manager": "person_key",
    },
    "locations": {
        "name": "text",
        "site": "text",
        "city": "text",
        "country": "country",
    },
    "licenses": {
        "vendor": "manufacturer",
        "product": "text",
        "sku": "upper",
        "seats_purchased": "int",
        "seats_assigned": "int",
        "cost_per_seat": "money",
        "renewal_date": "date",
    },
    "license_assignments": {
        "license": "upper",
        "person": "person_key",
        "assigned_at": "timestamp",
        "last_used": "timestamp",
    },
}


def default_transform(entity: str, field: str) -> str:
    return DEFAULT_TRANSFORMS.get(entity, {}).get(field, "text")


def output_type(entity: str, field: str) -> ColumnType:
    """The column type a mapped field is published as; references (`<field>_key`) and hidden
    keys are strings. KeyError for an unknown entity or field."""
    table = TABLES[entity]
    if field in table.column_names:
        return table.column(field).type
    if field in {r.name for r in table.references} or field in table.hidden_keys:
        return "string"
    raise KeyError(f"{entity}.{field}")


def compatible(transform: str, column_type: ColumnType) -> bool:
    """Whether a normaliser's output can fill a column of this type."""
    produced = TRANSFORM_TYPES[transform]
    return produced == column_type or (produced, column_type) == ("int", "numeric")
