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
    software,
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
    "software_product": software.software_product,
    "publisher": software.publisher,
    "install_date": software.install_date,
}

#: the column type each normaliser produces
TRANSFORM_TYPES: dict[str, ColumnType] = {
    **dict.fromkeys(TRANSFORMS, "string"),
    "int": "int",
    "number": "numeric",
    "money": "numeric",
    "boolean": "boolean",
    "date": "date",
    "install_date": "date",
    "timestamp": "timestamptz",
    "mac_list": "string_list",
    "ip_list": "string_list",
    "json": "jsonb",
}

#: normalisers that take the `currency_column` cells as a fourth argument
CURRENCY_AWARE = frozenset({"money"})

#: the normaliser of a mapped field whose table names none for it, by the field's type
TYPE_DEFAULTS: dict[str, str] = {
    "string": "text",
    "uuid": "text",
    "int": "int",
    "numeric": "number",
    "boolean": "boolean",
    "date": "date",
    "timestamptz": "timestamp",
    "jsonb": "json",
    "string_list": "text",
}


def default_transform(entity: str, field: str) -> str:
    """The normaliser a mapped field gets when its mapping names none: the model's
    (`Table.normalisers`), else its type's."""
    named = dict(TABLES[entity].normalisers).get(field) if entity in TABLES else None
    if named is not None:
        return named
    try:
        return TYPE_DEFAULTS[output_type(entity, field)]
    except KeyError:
        return "text"


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
