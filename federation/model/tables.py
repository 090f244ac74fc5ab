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
    #: default identity rules, strongest first: records agreeing on every field of a rule are
    #: one entity (config `entities.<table>.identity` overrides)
    identity: tuple[tuple[str, ...], ...] = ()
    #: the order the published table is stored in (pages and zone maps follow it)
    sort_keys: tuple[str, ...] = ("id",)
    #: fields beyond columns and relations: where each value came from (assets)
    extras: tuple[str, ...] = ()
    #: `search:` also looks in these columns of a to-one relation: (relation, columns)
    search_related: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (field, normaliser) for mapped fields whose default normaliser is not their type's
    #: (`serial_number` → `serial`); the others get the type's (`date`, `text`, …)
    normalisers: tuple[tuple[str, str], ...] = ()

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
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
    ),
    references=(
        Reference("location", "locations", ("name",)),
        Reference("assigned_to", "people", ("email", "username")),
    ),
    search=("asset_tag", "serial_number", "hostname", "name", "model"),
    search_related=(("assigned_to", ("name", "email")),),
    identity=(("serial_number",), ("asset_tag",), ("mac_addresses",), ("hostname", "manufacturer")),
    sort_keys=("category", "status", "hostname"),
    extras=("sources", "provenance", "conflicts"),
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
    sort_keys=("email",),
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
    sort_keys=("name",),
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
    ),
    relations=(Relation("assignments", "license_assignments", "array", "id", "license_id"),),
    identity=(("sku",), ("vendor", "product")),
    normalisers=(("vendor", "manufacturer"), ("sku", "upper"), ("cost_per_seat", "money")),
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
    normalisers=(("license", "upper"), ("person", "person_key")),
)

TABLES: dict[str, Table] = {t.name: t for t in (ASSETS, PEOPLE, LOCATIONS, LICENSES, LICENSE_ASSIGNMENTS)}


def reconcile_order(tables: dict[str, Table] = TABLES) -> tuple[str, ...]:
    """Tables in the order reconciliation resolves them: every table after the tables its
    references name (a reference to itself, like a person's manager, resolves in place)."""
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

    for name in tables:
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
