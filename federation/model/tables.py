"""The unified model: the tables the gateway publishes, their columns and relationships.

One description serves every layer: transforms know which fields a mapping may fill,
reconciliation knows which attributes to merge, the store creates its tables from it, and
the GraphQL schema builds its types, filters and ordering inputs from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
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
    #: a key that matches no entity makes a minimal one (a person known only by the email a
    #: CSV names); False leaves the reference empty (an installation never invents an asset)
    creates_missing: bool = True


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
    #: default identity rules, strongest first: records agreeing on every field of a rule are
    #: one entity (config `entities.<table>.identity` overrides)
    identity: tuple[tuple[str, ...], ...] = ()
    #: the order the published table is stored in: the most used filter keys first, then the
    #: most used sort key, then `id` (pages are ordered by id last). DuckDB keeps each column's
    #: min and max per row group and skips the groups a filter rules out, so a filtered,
    #: sorted page reads a few row groups instead of the table
    sort_keys: tuple[str, ...] = ("id",)
    #: columns published with an ART index: equality and IN lookups (by id, the to-one
    #: relations of a page, `*_by_pk`) read a few rows instead of scanning the column
    indexed: tuple[str, ...] = ("id",)
    #: strings with (nearly) one value per row that pages show, stored without compression
    #: like every uuid column: DuckDB sets up a dictionary for each compressed segment a
    #: query touches, which costs more than the few values a page reads from it
    uncompressed: tuple[str, ...] = ()
    #: fields beyond columns and relations: where each value came from (assets)
    extras: tuple[str, ...] = ()
    #: `search:` also looks in these columns of a to-one relation: (relation, columns)
    search_related: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (field, normaliser) for mapped fields whose default normaliser is not their type's
    #: (`serial_number` → `serial`); the others get the type's (`date`, `text`, …)
    normalisers: tuple[tuple[str, str], ...] = ()
    #: built by the gateway from the other published tables at each publish, not from
    #: sources: nothing maps it and reconciliation skips it (license_compliance)
    computed: bool = False

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @cached_property  # read for every field of every request: built once per table
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Everything a role may be granted on the type: columns, relations, extras."""
        return (*self.column_names, *(r.name for r in self.relations), *self.extras)

    def relation(self, name: str) -> Relation:
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise KeyError(name)

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
        Relation("software_installations", "software_installations", "array", "id", "asset_id"),
    ),
    references=(
        Reference("location", "locations", ("name",)),
        Reference("assigned_to", "people", ("email", "username")),
    ),
    search=("asset_tag", "serial_number", "hostname", "name", "model"),
    search_related=(("assigned_to", ("name", "email")),),
    #: the id an inventory or management agent knows the device by (GLPI's `deviceid`), so
    #: that the same source's other streams (its software lists) can name the device
    hidden_keys=("device_id",),
    identity=(("serial_number",), ("asset_tag",), ("mac_addresses",), ("hostname", "manufacturer")),
    # lists filter by category and status and page by host name
    sort_keys=("category", "status", "hostname", "id"),
    uncompressed=("asset_tag", "serial_number", "hostname"),
    #: `history` (its change history) and `maintenance` (its repair log) live in the
    #: gateway's own store (federation/workflow), newest first; `quality` lists the values
    #: left out of its records (on_invalid: blank)
    extras=("sources", "provenance", "conflicts", "history", "maintenance", "quality"),
    normalisers=(
        ("asset_tag", "asset_tag"),
        ("serial_number", "serial"),
        ("hostname", "hostname"),
        ("category", "category"),
        ("manufacturer", "manufacturer"),
        ("status", "asset_status"),
        ("cost", "money"),
        ("cost_currency", "upper"),
        ("mac_addresses", "mac_list"),
        ("ip_addresses", "ip_list"),
        ("assigned_to", "person_key"),
    ),
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
    identity=(("email",), ("username",)),
    sort_keys=("email", "id"),
    uncompressed=("email",),
    normalisers=(
        ("email", "email"),
        ("username", "person_key"),
        ("employment_status", "employment_status"),
        ("manager", "person_key"),
    ),
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
    identity=(("name",),),
    sort_keys=("name", "id"),
    normalisers=(("country", "country"),),
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
        _col(
            "installed",
            "int",
            "Assets with this product installed, per the software sources (null: no source "
            "reports installed software).",
            False,
        ),
    ),
    relations=(
        Relation("assignments", "license_assignments", "array", "id", "license_id"),
        Relation("installations", "software_installations", "array", "id", "license_id"),
    ),
    identity=(("sku",), ("vendor", "product")),
    sort_keys=("vendor", "product", "id"),
    normalisers=(
        ("vendor", "manufacturer"),
        ("product", "software_product"),
        ("sku", "upper"),
        ("cost_per_seat", "money"),
    ),
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
    identity=(("license", "person"),),
    # a license's assignments are read together
    sort_keys=("license_id", "person_id", "id"),
    normalisers=(("license", "upper"), ("person", "person_key")),
)

SOFTWARE_INSTALLATIONS = Table(
    name="software_installations",
    description="One software product installed on one asset, as an inventory agent reported it.",
    columns=(
        _col("id", "uuid", "Stable gateway id.", False),
        _col("asset_id", "uuid", "The asset it is installed on.", False),
        _col("product", "string", "Product name, normalised (`Zoom Workplace (64-bit)` → `Zoom`)."),
        _col("publisher", "string", "Canonical publisher name (`Microsoft Corporation` → `Microsoft`)."),
        _col("version", "string"),
        _col(
            "installed_at",
            "date",
            "Install date; placeholder dates (1970-01-01, Android's 2008-12-31) are empty.",
        ),
        _col(
            "license_id",
            "uuid",
            "The license of the same product, when the graph has exactly one.",
            False,
        ),
        _col("source", "string", "The source that reported it (the first in precedence).", False),
    ),
    relations=(
        Relation("asset", "assets", "object", "asset_id", "id"),
        Relation("license", "licenses", "object", "license_id", "id"),
    ),
    references=(
        Reference(
            "asset", "assets", ("device_id", "serial_number", "hostname", "asset_tag"), creates_missing=False
        ),
    ),
    identity=(("asset", "product", "version"),),
    sort_keys=("product", "asset_id", "id"),
    normalisers=(
        ("product", "software_product"),
        ("publisher", "publisher"),
        ("installed_at", "install_date"),
    ),
)

LICENSE_COMPLIANCE = Table(
    name="license_compliance",
    description=(
        "Per licensed product, what no single source knows: seats bought and assigned (the "
        "license sources), assets it is installed on (the software sources) and seats held by "
        "people who have left (the identity source). Built at each publish."
    ),
    columns=(
        _col("id", "uuid", "Stable id, derived from the product name.", False),
        _col("product", "string", "The licensed product (every license of this name counts).", False),
        _col("vendor", "string", "The licenses' vendor.", False),
        _col("seats_purchased", "int", "Seats bought, over its licenses (null: no source says).", False),
        _col("seats_assigned", "int", "Seats assigned, over its licenses.", False),
        _col("installed", "int", "Assets it is installed on (null: no source reports software).", False),
        _col(
            "assigned_to_terminated",
            "int",
            "People holding a seat whose employment_status is terminated: seats to reclaim.",
            False,
        ),
        _col("seats_needed", "int", "The larger of seats assigned and assets installed on.", False),
        _col(
            "surplus",
            "int",
            "Seats purchased minus seats needed: above 0 over-licensed, below 0 under-licensed.",
            False,
        ),
        _col(
            "status",
            "string",
            "over_licensed, under_licensed, compliant, or unknown (no purchase figure)",
            False,
        ),
    ),
    relations=(Relation("licenses", "licenses", "array", "product", "product"),),
    sort_keys=("product", "id"),
    computed=True,
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ASSETS,
        PEOPLE,
        LOCATIONS,
        LICENSES,
        LICENSE_ASSIGNMENTS,
        SOFTWARE_INSTALLATIONS,
        LICENSE_COMPLIANCE,
    )
}


def quote(name: str) -> str:
    """A table or column name as SQL writes it (DuckDB and the SQL we compile)."""
    return '"' + name.replace('"', '""') + '"'


def reconcile_order(tables: dict[str, Table] = TABLES) -> tuple[str, ...]:
    """Tables in the order reconciliation resolves them: every table after the tables its
    references name (a reference to itself, like a person's manager, resolves in place).
    Computed tables are not reconciled: they are built after."""
    done: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in trail:
            raise ValueError(f"reference cycle through {' → '.join((*trail, name))}")
        for ref in tables[name].references:
            if ref.target != name:
                visit(ref.target, (*trail, name))
        done.append(name)

    for name, table in tables.items():
        if not table.computed:
            visit(name, ())
    return tuple(done)


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
