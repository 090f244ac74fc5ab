"""The `auth:` and `roles:` sections of config.yaml: who the callers are, and what each role
may read and do.

Validated once at load like the rest of the config (see `policy_checks`): a policy that
names an unknown type, field, role, operator or actor variable is refused with its path.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base import parse_duration
from federation.model import TABLES
from federation.model.where import WhereError
from federation.model.where import parse as parse_where

#: root capabilities beyond the tables
CAPABILITIES = (
    "sources",
    "quarantine",
    "ambiguities",
    "access_log",
    "sync",
    "changes",
    "webhooks",
    "tickets",
)
#: what a role may do to rows of a type (`maintain`: log and close maintenance records)
ACTIONS = (
    "read",
    "checkout",
    "checkin",
    "maintain",
    "update",
    "insert",
    "delete",
    "request",
    "approve",
    "fulfil",
    "sync",
)
MAX_LEEWAY = timedelta(minutes=5)
#: a key of a JSON column granted on its own: `attributes.ram_gb`
JSON_KEY = re.compile(r"^[A-Za-z0-9_]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JwtKeyConfig(Strict):
    """One key that may sign tokens; each key is pinned to one algorithm."""

    #: matched against the token header's `kid` when both have one
    kid: str | None = None
    algorithm: Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
    #: HS*: the shared secret (write ${ENV}); at least 32 characters
    secret: str | None = None
    #: RS*/ES*/PS*: a PEM public key, inline or in a file (relative to the config's folder)
    public_key: str | None = None
    public_key_file: str | None = None
    #: RS*/ES*/PS*: a JWKS document (a file); the keys whose `kid` matches are used
    jwks_file: str | None = None


class ClaimsConfig(Strict):
    #: read the claims below inside this object claim (e.g. https://hasura.io/jwt/claims)
    namespace: str | None = None
    #: the claim naming the role (inside `namespace` when set)
    role: str = "role"
    #: the claim naming the subject (recorded in the access log)
    subject: str = "sub"
    #: actor attribute → claim; filters use them as X-Actor-<Attribute>
    attributes: dict[str, str] = Field(
        default_factory=lambda: {"email": "email", "department": "department", "categories": "categories"}
    )

    @field_validator("attributes")
    @classmethod
    def _names(cls, attributes: dict[str, str]) -> dict[str, str]:
        for name in attributes:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"attributes.{name}: expected a lower-case name like email")
        return attributes


class ApiKeyConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    #: the public part of the key (`ak_<id>_…`), so one hash is checked per request
    id: str = Field(pattern=r"^[a-z0-9]{8,32}$")
    #: `scrypt$n$r$p$salt$hash` as printed by `assetgraph apikey create`
    hash: str = Field(pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_=-]+\$[A-Za-z0-9_=-]+$")
    role: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class FailedAttemptsConfig(Strict):
    """Wrong API keys tolerated before the sender is refused (429) until the window ends,
    without the key being checked."""

    #: failures per client address
    per_client: int = Field(default=10, ge=1)
    #: failures per key id, whichever clients sent them
    per_key: int = Field(default=30, ge=1)
    window: timedelta = timedelta(minutes=15)

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)


class AuthConfig(Strict):
    jwt_keys: list[JwtKeyConfig] = Field(default_factory=list)
    issuer: str | None = None
    audience: str | None = None
    #: clock skew tolerated on exp/nbf/iat (at most 5m)
    leeway: timedelta = timedelta(seconds=30)
    #: tokens must carry `exp`
    require_exp: bool = True
    #: a token whose `exp` is further than this from now (or from its `iat`) is refused
    max_token_lifetime: timedelta = timedelta(hours=24)
    claims: ClaimsConfig = Field(default_factory=ClaimsConfig)
    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    failed_attempts: FailedAttemptsConfig = Field(default_factory=FailedAttemptsConfig)
    #: the role of a request that carries no credential
    anonymous_role: str = "anonymous"

    @field_validator("leeway", "max_token_lifetime", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("max_token_lifetime")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("expected a lifetime of at least 1m")
        return value

    @field_validator("leeway")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value > MAX_LEEWAY or value < timedelta(0):
            raise ValueError("expected a clock skew between 0s and 5m")
        return value


def json_key_grant(entry: str) -> tuple[str, str] | None:
    """`attributes.ram_gb` → ("attributes", "ram_gb"); None for a plain field name."""
    column, dot, key = entry.partition(".")
    return (column, key) if dot else None


class TypePolicy(Strict):
    #: readable columns, relationships and (assets) sources/provenance/conflicts; "*" = all;
    #: `<json column>.<key>` grants that column, but only those of its keys
    columns: list[str] | Literal["*"] = Field(default_factory=list)
    #: row filter in the `where` syntax; X-Actor-* strings are the actor's attributes
    filter: dict[str, Any] | None = None
    #: true: T_aggregate with every statistic and group_by; "count": counts only
    allow_aggregations: bool | Literal["count"] = False
    #: what the role may do to rows of the type: `update`, `insert`, `delete`, `checkout`…;
    #: `{update: [status, location]}` limits an update (or insert) to those fields; bare,
    #: `update` and `insert` cover the role's readable columns
    actions: list[str | dict[str, list[str]]] = Field(default_factory=list)

    def action_names(self) -> list[str]:
        return [a if isinstance(a, str) else next(iter(a), "") for a in self.actions]

    def action_columns(self, action: str) -> list[str] | None:
        """The fields `action` is limited to, or None when it names none (or is not held)."""
        for entry in self.actions:
            if isinstance(entry, dict) and action in entry:
                return list(entry[action])
        return None


class PriceBand(Strict):
    """Costs (in the base currency) an asset must lie within to be in a role's catalog; an
    asset without a cost is left out when a band is set."""

    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)


#: the fields of a catalog entry a grant always gives (availability, not the assets' values)
CATALOG_FIELDS = ("category", "manufacturer", "model", "in_stock", "expected_returns", "next_return")


class CatalogPolicy(Strict):
    """The `catalog` root: models (category, manufacturer, model) the role may request, with
    availability, and the assets of each the role sees (its `assets` row filter applies)."""

    #: categories in the catalog; "*" (the default): every category
    categories: list[str] | Literal["*"] = "*"
    #: assets priced outside the band are not in the catalog (nor counted)
    price: PriceBand | None = None
    #: show prices: `price_min` / `price_max` of an entry (needs `cost` readable on assets)
    prices: bool = False
    #: the fields of each asset listed under an entry (`id` always); each must be readable
    #: under `types.assets`; none: the entry lists no assets
    columns: list[str] = Field(default_factory=list)


class RoleConfig(Strict):
    description: str = ""
    inherits: list[str] = Field(default_factory=list)
    #: table → what the role may read of it; a table not named is not exposed; "*" names
    #: every table of the model
    types: dict[str, TypePolicy] = Field(default_factory=dict)
    sources: bool = False
    quarantine: bool = False
    ambiguities: bool = False
    access_log: bool = False
    #: the change history (`changes`, and `history` on objects): of the types and fields the
    #: role reads, for the rows it sees
    changes: bool = False
    #: the `sync_source` mutation: sync a source now, or accept a read its guard held
    sync: bool = False
    #: the webhook deliveries (`webhook_deliveries`, failed ones included) and replaying them
    webhooks: bool = False
    #: the ServiceNow tickets the gateway opens (`tickets`, failed ones included) and retrying them
    tickets: bool = False
    #: the requestable catalog (`catalog`); none: the role has no `catalog` field
    catalog: CatalogPolicy | None = None


# ----------------------------------------------------------------------------- checks

#: actions that may name the fields they cover
COLUMN_ACTIONS = ("update", "insert")


def _action_problems(table: str, entry: str | dict[str, list[str]], where: str) -> list[str]:
    if isinstance(entry, str):
        if entry not in ACTIONS:
            return [f"{where}: unknown action {entry!r}; expected one of " + ", ".join(ACTIONS)]
        return []
    if len(entry) != 1:
        return [f"{where}: one action per entry, like {{update: [status, location]}}"]
    action, columns = next(iter(entry.items()))
    if action not in COLUMN_ACTIONS:
        return [
            f"{where}.{action}: only {' and '.join(COLUMN_ACTIONS)} name the fields they cover; "
            f"write `{action}` bare"
        ]
    known = type_fields(table) if table in TABLES else ()
    return [
        f"{where}.{action}[{i}]: unknown field {column!r} of {table}; expected some of {', '.join(known)}"
        for i, column in enumerate(columns)
        if table != "*" and column not in known
    ]


def type_fields(table: str) -> tuple[str, ...]:
    return tuple(TABLES[table].field_names)


def _filter_problems(exp: Any, table: str, where: str, variables: set[str]) -> list[str]:
    try:
        parse_where(exp, table, path=where, variables=variables)
    except WhereError as exc:
        return exc.problems
    return []


def _json_key_problems(table: str, grant: tuple[str, str], where: str) -> list[str]:
    column, key = grant
    model = TABLES[table]
    json_columns = [c for c in model.column_names if model.column(c).type == "jsonb"]
    if column not in json_columns:
        expected = ", ".join(f"{c}.<key>" for c in json_columns) or "none on this type"
        return [
            f"{where}: {column + '.' + key!r}: a key grant needs a JSON column of {table}; "
            f"expected {expected}"
        ]
    if not JSON_KEY.match(key):
        return [f"{where}: {column + '.' + key!r}: a JSON key is letters, digits and _ only"]
    return []


#: asset columns a catalog may list (scalars: no relations, JSON or lists)
CATALOG_COLUMNS = tuple(
    c.name for c in TABLES["assets"].columns if c.type in ("string", "int", "numeric", "date", "timestamptz")
)


def _asset_columns(role: str, roles: dict[str, RoleConfig]) -> set[str] | None:
    """The asset fields `role` (with what it inherits) reads; None: it reads no assets."""
    seen: list[str] = []
    stack = [role]
    out: set[str] | None = None
    while stack:
        name = stack.pop()
        if name in seen or name not in roles:
            continue
        seen.append(name)
        stack.extend(roles[name].inherits)
        for table in ("assets", "*"):
            policy = roles[name].types.get(table)
            if policy is not None:
                columns = type_fields("assets") if policy.columns == "*" else policy.columns
                out = (out or set()) | set(columns)
    return out


def _catalog_problems(role: str, catalog: CatalogPolicy, readable: set[str] | None) -> list[str]:
    """A catalog lists scalar asset columns the role reads under `types.assets` (`cost` only
    with `prices`); prices need `cost` readable: a catalog shows nothing the role cannot read."""
    where = f"roles.{role}.catalog"
    if readable is None:
        return [f"{where}: a catalog needs a `types.assets` grant (the assets it lists are the role's)"]
    problems = []
    if catalog.prices and "cost" not in readable:
        problems.append(f"{where}.prices: the role does not read `cost` of assets; a catalog cannot show it")
    for i, column in enumerate(catalog.columns):
        if column not in readable:
            problems.append(f"{where}.columns[{i}]: the role does not read {column!r} of assets")
        elif column not in CATALOG_COLUMNS:
            problems.append(
                f"{where}.columns[{i}]: {column!r} cannot be listed in the catalog; expected some of "
                + ", ".join(CATALOG_COLUMNS)
            )
        elif column in ("cost", "cost_currency") and not catalog.prices:
            problems.append(f"{where}.columns[{i}]: {column!r} is a price: set `prices: true` to list it")
    band = catalog.price
    if band is not None and band.min is not None and band.max is not None and band.min > band.max:
        problems.append(f"{where}.price: min {band.min:g} is above max {band.max:g}")
    return problems


def _cycle(roles: dict[str, RoleConfig]) -> list[str]:
    problems = []
    for start in roles:
        seen: list[str] = []
        stack = [start]
        while stack:
            name = stack.pop()
            for parent in roles.get(name, RoleConfig()).inherits:
                if parent == start:
                    problems.append(f"roles.{start}.inherits: inheritance cycle through {name!r}")
                    stack = []
                    break
                if parent not in seen and parent in roles:
                    seen.append(parent)
                    stack.append(parent)
    return problems


def policy_checks(auth: AuthConfig | None, roles: dict[str, RoleConfig] | None) -> list[str]:
    """Every problem of the auth and roles sections, each with its path."""
    problems: list[str] = []
    roles = roles or {}
    variables = set((auth or AuthConfig()).claims.attributes) | {"subject", "role"}
    for name, role in roles.items():
        base = f"roles.{name}"
        for i, parent in enumerate(role.inherits):
            if parent not in roles:
                problems.append(
                    f"{base}.inherits[{i}]: unknown role {parent!r}; expected one of {', '.join(roles)}"
                )
        for table, policy in role.types.items():
            where = f"{base}.types.{table}"
            if table == "*":
                if policy.columns != "*" or policy.filter is not None:
                    problems.append(f'{where}: the "*" type takes columns: "*" and no filter')
                continue
            if table not in TABLES:
                problems.append(f"{where}: unknown type; expected one of {', '.join(TABLES)}")
                continue
            if isinstance(policy.columns, list):
                allowed = type_fields(table)
                for i, column in enumerate(policy.columns):
                    grant = json_key_grant(column)
                    if grant is not None:
                        problems += _json_key_problems(table, grant, f"{where}.columns[{i}]")
                    elif column not in allowed:
                        problems.append(
                            f"{where}.columns[{i}]: unknown field {column!r} of {table}; expected "
                            f'"*" or some of {", ".join(allowed)}'
                        )
            if policy.filter is not None:
                problems += _filter_problems(policy.filter, table, f"{where}.filter", variables)
            for i, entry in enumerate(policy.actions):
                problems += _action_problems(table, entry, f"{where}.actions[{i}]")
        if role.catalog is not None:
            problems += _catalog_problems(name, role.catalog, _asset_columns(name, roles))
    problems += _cycle(roles)
    if auth is not None:
        for i, key in enumerate(auth.jwt_keys):
            where = f"auth.jwt_keys[{i}]"
            material = [
                k for k in ("secret", "public_key", "public_key_file", "jwks_file") if getattr(key, k)
            ]
            if key.algorithm.startswith("HS"):
                if material != ["secret"]:
                    problems.append(f"{where}: an {key.algorithm} key needs `secret` (and nothing else)")
                elif len(key.secret or "") < 32:
                    problems.append(f"{where}.secret: too short; use at least 32 random characters")
            elif len(material) != 1 or material == ["secret"]:
                problems.append(
                    f"{where}: an {key.algorithm} key needs exactly one of public_key, "
                    "public_key_file or jwks_file"
                )
        for i, api_key in enumerate(auth.api_keys):
            if roles and api_key.role not in roles:
                problems.append(
                    f"auth.api_keys[{i}].role: unknown role {api_key.role!r}; expected one of "
                    + ", ".join(roles)
                )
        ids = [k.id for k in auth.api_keys]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(f"auth.api_keys: the id {dup!r} is used by more than one key")
    return problems
