"""The unified model: the tables the gateway publishes, their columns and relationships.

One description serves every layer: transforms know which fields a mapping may fill,
reconciliation knows which attributes to merge, the store creates its tables from it, and
the GraphQL schema builds its types, filters and ordering inputs from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal[
    "uuid", "string", "int", "numeric", "boolean", "date", "timestamptz", "jsonb", "string_list"
]

#: DuckDB type of each column type in the published store.
DUCKDB_TYPES: dict[str, str] = {
    "uuid": "VARCHAR",
    "string": "VARCHAR",
    "int": "BIGINT",
    "numeric": "DECIMAL(18, 4)",  # exact sums of money; served as JSON numbers
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamptz": "TIMESTAMPTZ",
    "jsonb": "JSON",
    "string_list": "VARCHAR[]",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str = ""
    #: filled by sources through mappings (False for the gateway's own columns: ids, keys)
    mapped: bool = True


@dataclass(frozen=True)
class Relation:
    """A relationship from one table to another, joined on `local` = `remote`."""

    name: str
    target: str
    kind: Literal["object", "array"]
    local: str
    remote: str
    description: str = ""


@dataclass(frozen=True)
class Reference:
    """A mapped field that names another entity by a natural key (a person's email, a location's
    name). Mappings fill `<name>_key`; reconciliation resolves it to `<name>_id`."""

    name: str
    target: str
    #: the target's identity fields the key is matched against, in order
    match_on: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    relations: tuple[Relation, ...] = ()
    references: tuple[Reference, ...] = ()
    #: columns a free-text `search:` argument looks in (assets only, per the contract)
    search: tuple[str, ...] = ()
    description: str = ""
    #: mapped fields that reconciliation uses for identity but that are not published
    hidden_keys: tuple[str, ...] = field(default=())
    #: the order rows are stored in when published: the most used filter keys first, then
    #: the most used sort key, so a filtered, sorted page reads a few row groups, not the
    #: table (DuckDB skips a row group whose min/max rule the filter out)
    sort_keys: tuple[str, ...] = ("id",)
    #: columns published with an ART index: equality and IN lookups (by id, the to-one
    #: joins of a page) read a few rows instead of scanning the column
    indexed: tuple[str, ...] = ("id",)
    #: strings with (nearly) one value per row that pages show, stored without compression
    #: like every uuid column: DuckDB sets up a dictionary for each compressed segment a
    #: query touches, which costs more than the few values a page reads from it
    uncompressed: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def mapped_fields(self) -> tuple[str, ...]:
        """Fields a source mapping may fill: mapped columns, references, hidden keys."""
        names = [c.name for c in self.columns if c.mapped]
        names += [r.name for r in self.references]
        names += list(self.hidden_keys)
        return tuple(names)


def _col(name: str, type_: ColumnType, description: str = "", mapped: bool = True) -> Column:
    return Column(name, type_, description, mapped)


ASSETS = Table(
    name="assets",
    description="A physical or virtual IT asset, merged from every source that knows it.",
    columns=(
        _col("id", "uuid", "Stable gateway id; survives syncs while its records persist.", False),
        _col("asset_tag", "string", "The organisation's inventory tag."),
        _col("serial_number", "string", "Manufacturer serial number, normalised (upper case)."),
        _col("hostname", "string", "Short host name, lower case."),
        _col("name", "string", "Display name."),
        _col("category", "string", "One of the configured categories."),
        _col("manufacturer", "string", "Canonical manufacturer name."),
        _col("model", "string"),
        _col("status", "string", "ordered, in_stock, in_use, in_repair, retired, lost, disposed"),
        _col("location_id", "uuid", "The asset's location.", False),
        _col("assigned_to_id", "uuid", "The person the asset is assigned to.", False),
        _col("department", "string"),
        _col("purchase_date", "date"),
        _col("warranty_end", "date"),
        _col("cost", "numeric", "Purchase cost in the configured base currency."),
        _col("cost_currency", "string", "Currency the source gave the cost in."),
        _col("mac_addresses", "string_list", "MAC addresses, aa:bb:cc:dd:ee:ff."),
        _col("ip_addresses", "string_list"),
        _col("os", "string", "Operating system."),
        _col("last_seen", "timestamptz", "Last time any source saw the asset active."),
        _col("attributes", "jsonb", "Category-specific fields."),
    ),
    relations=(
        Relation("location", "locations", "object", "location_id", "id"),
        Relation("assigned_to", "people", "object", "assigned_to_id", "id"),
    ),
    references=(
        Reference("location", "locations", ("name",)),
        Reference("assigned_to", "people", ("email", "username")),
    ),
    search=("asset_tag", "serial_number", "hostname", "name", "model"),
    # lists filter by category and status, and page by host name (id: stable pages)
    sort_keys=("category", "status", "hostname", "id"),
    uncompressed=("asset_tag", "serial_number", "hostname"),
)

PEOPLE = Table(
    name="people",
    description="A person who holds assets or licenses, merged by email and username.",
    columns=(
        _col("id", "uuid", "Stable gateway id.", False),
        _col("email", "string", "Lower-case email address."),
        _col("name", "string"),
        _col("department", "string"),
        _col("employment_status", "string", "active, terminated or unknown"),
        _col("manager_id", "uuid", "The person's manager.", False),
    ),
    relations=(
        Relation("manager", "people", "object", "manager_id", "id"),
        Relation("assets", "assets", "array", "id", "assigned_to_id"),
        Relation("license_assignments", "license_assignments", "array", "id", "person_id"),
    ),
    references=(Reference("manager", "people", ("email", "username")),),
    hidden_keys=("username",),
    sort_keys=("email", "id"),
    uncompressed=("email",),
)

LOCATIONS = Table(
    name="locations",
    description="A place assets live: an office, a data centre, a store room.",
    columns=(
        _col("id", "uuid", "Stable gateway id.", False),
        _col("name", "string"),
        _col("site", "string"),
        _col("city", "string"),
        _col("country", "string", "ISO 3166-1 alpha-2 where known."),
    ),
    relations=(Relation("assets", "assets", "array", "id", "location_id"),),
    sort_keys=("name", "id"),
)

LICENSES = Table(
    name="licenses",
    description="A software subscription or license pool: seats bought and seats in use.",
    columns=(
        _col("id", "uuid", "Stable gateway id.", False),
        _col("vendor", "string", "Canonical vendor name (Microsoft, Google, Adobe...)."),
        _col("product", "string", "Product name as people know it (Office 365 E5)."),
        _col("sku", "string", "The vendor's SKU or part number."),
        _col("seats_purchased", "int", "Seats bought (prepaid units)."),
        _col("seats_assigned", "int", "Seats in use; counted from assignments when no source says."),
        _col("cost_per_seat", "numeric", "Cost of one seat in the base currency."),
        _col("renewal_date", "date"),
    ),
    relations=(Relation("assignments", "license_assignments", "array", "id", "license_id"),),
    sort_keys=("vendor", "product", "id"),
)

LICENSE_ASSIGNMENTS = Table(
    name="license_assignments",
    description="One seat of a license held by one person.",
    columns=(
        _col("id", "uuid", "Stable gateway id.", False),
        _col("license_id", "uuid", "The license.", False),
        _col("person_id", "uuid", "The person holding the seat.", False),
        _col("assigned_at", "timestamptz"),
        _col("last_used", "timestamptz"),
    ),
    relations=(
        Relation("license", "licenses", "object", "license_id", "id"),
        Relation("person", "people", "object", "person_id", "id"),
    ),
    references=(
        Reference("license", "licenses", ("sku", "product")),
        Reference("person", "people", ("email", "username")),
    ),
    # a license's assignments are read together
    sort_keys=("license_id", "person_id", "id"),
)

TABLES: dict[str, Table] = {t.name: t for t in (ASSETS, PEOPLE, LOCATIONS, LICENSES, LICENSE_ASSIGNMENTS)}

ASSET_STATUSES = ("ordered", "in_stock", "in_use", "in_repair", "retired", "lost", "disposed")
EMPLOYMENT_STATUSES = ("active", "terminated", "unknown")
DEFAULT_CATEGORIES = (
    "laptop",
    "desktop",
    "server",
    "network",
    "phone",
    "tablet",
    "monitor",
    "peripheral",
    "virtual_machine",
    "other",
)
