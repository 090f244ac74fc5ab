"""config.yaml, validated once at load by typed models.

Errors name the path of the bad key (`sources[2].entities.assets.fields.cost.currency`), the
bad value and what was expected. Values that came from `${ENV}` references, and keys that
hold secrets, are never echoed (problems.py masks them by their position in the file); a key
given twice is refused (document.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.base import SourceConfig, parse_duration
from connectors.fields import evaluation_order
from connectors.registry import available_kinds, connector_class
from federation.config.document import read_yaml, substitute_env
from federation.config.forms import FormConfig, form_checks
from federation.config.problems import ConfigError, Problems
from federation.config.roles import AuthConfig, RoleConfig, policy_checks, type_fields
from federation.config.tickets import TicketsConfig, ticket_checks
from federation.config.webhooks import TicketHookConfig, WebhookConfig
from federation.model import ASSET_STATUSES, DEFAULT_CATEGORIES, TABLES
from transforms.registry import TRANSFORMS, compatible, output_type

CONFIG_ENV = "ASSETGRAPH_CONFIG"

__all__ = [
    "CONFIG_ENV",
    "Config",
    "ConfigError",
    "ConfigNotFound",
    "Settings",
    "config_path",
    "load_config",
    "parse_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    #: folder holding the source snapshots and the published store files
    path: str = "data/store"
    #: published store files kept besides the current one (readers may still hold them)
    keep: int = Field(default=2, ge=1)
    #: memory DuckDB may use while syncing and reconciling; past it, it spills to the store
    #: folder (1M assets: ~1.9 GB peak for the whole process at 1GB, ~3.9 GB unbounded)
    memory_limit: str = Field(default="1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB)$")


class SyncSettings(_Strict):
    #: sources read at the same time in one sync round (each within its own `deadline`)
    concurrency: int = Field(default=4, ge=1, le=64)
    #: how long `assetgraph sync` waits for a running server to carry out its request
    request_timeout: timedelta = timedelta(minutes=30)

    @field_validator("request_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)


class CurrencyConfig(_Strict):
    base: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    #: 1 unit of the currency = this many units of the base currency
    rates: dict[str, float] = Field(default_factory=dict)

    @field_validator("rates")
    @classmethod
    def _codes(cls, rates: dict[str, float]) -> dict[str, float]:
        for code, rate in rates.items():
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"rates.{code}: expected an ISO 4217 code like EUR")
            if rate <= 0:
                raise ValueError(f"rates.{code}: expected a positive rate, got {rate}")
        return rates


class VocabularyConfig(_Strict):
    categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    #: source value (case-insensitive) → category; merged over the built-in aliases
    category_aliases: dict[str, str] = Field(default_factory=dict)
    #: source value (case-insensitive) → status; merged over the built-in aliases
    status_aliases: dict[str, str] = Field(default_factory=dict)
    #: source value (case-insensitive) → canonical manufacturer; merged over built-ins
    manufacturer_aliases: dict[str, str] = Field(default_factory=dict)

    @field_validator("status_aliases")
    @classmethod
    def _statuses(cls, aliases: dict[str, str]) -> dict[str, str]:
        for key, status in aliases.items():
            if status not in ASSET_STATUSES:
                raise ValueError(
                    f"status_aliases.{key}: {status!r} is not a status; expected one of "
                    + ", ".join(ASSET_STATUSES)
                )
        return aliases


class EntityRules(_Strict):
    #: ordered identity rules: records agreeing on every field of a rule are one entity
    identity: list[list[str]] | None = None
    #: source order per attribute; `default` applies to attributes not listed
    precedence: dict[str, list[str]] = Field(default_factory=dict)
    #: a source whose last successful sync is older counts as empty for precedence
    stale_after: timedelta | None = None
    #: the source new records of this entity are created in (`insert_T` mutations); none:
    #: the entity cannot be inserted through the gateway
    home: str | None = None

    @field_validator("stale_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)


class MetricsConfig(_Strict):
    """Where Prometheus reads /metrics: it names the sources and which of them is down, so it
    is not served to anyone who can reach /graphql. Neither set: /metrics is off."""

    #: serve /metrics alone on this port of `host` (`assetgraph serve`), as exporters do
    port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "127.0.0.1"
    #: also serve /metrics on the GraphQL port, to `Authorization: Bearer <token>` only
    #: (write ${ENV}; at least 16 characters); when set, the metrics port asks for it too
    token: str | None = Field(default=None, min_length=16)


class ServerConfig(_Strict):
    default_limit: int = Field(default=100, ge=1)
    max_limit: int = Field(default=1000, ge=1)
    max_depth: int = Field(default=8, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    #: longest query accepted, in GraphQL tokens (comments count)
    max_tokens: int = Field(default=5000, ge=10)
    #: objects one root field may return, estimated from its limits before it runs
    max_rows: int = Field(default=250_000, ge=1)
    #: seconds one root field's statement may run before it is interrupted (0: no deadline)
    deadline_seconds: float = Field(default=10.0, ge=0)
    #: largest request body (or GET query string) accepted, in bytes: larger is refused (413)
    #: before it is read whole
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    #: deepest nesting of objects and lists in `variables` and in input values written in
    #: the query (a `where` of nested `_and`s)
    max_input_depth: int = Field(default=32, ge=2, le=128)
    #: cached GraphQL results (keyed by query, variables and snapshot)
    cache_size: int = Field(default=512, ge=0)
    graphiql: bool = True
    #: browser origins allowed to call /graphql (CORS), e.g. https://admin.example.com;
    #: none by default (same-origin only); "*" allows any
    cors_origins: list[str] = Field(default_factory=list)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)


class DemoConfig(_Strict):
    #: generate the demo sources into `path` on first start
    generate: bool = True
    path: str = "data/demo"
    assets: int = Field(default=3000, ge=10)
    seed: int = 7
    #: the demo's simulated Okta and Microsoft 365 listen on 127.0.0.1 at this port
    vendor_port: int = Field(default=8931, ge=0, le=65535)


class LoggingConfig(_Strict):
    #: text: one readable line per event; json: one JSON object per line (for collectors)
    format: Literal["text", "json"] = "text"
    #: the gateway's own lines at this level and above (debug, info, warning, error)
    level: Literal["debug", "info", "warning", "error"] = "info"


#: databases the workflow store runs on (tested on both)
WORKFLOW_BACKENDS = ("sqlite", "postgresql")


class WorkflowConfig(_Strict):
    """The gateway's own store (change history, check-outs, maintenance)."""

    #: SQLAlchemy URL: sqlite:///path/to/file.sqlite or postgresql+psycopg://user@host/db;
    #: absent: `workflow.sqlite` in the store folder
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        # the URL may hold a password: no message here repeats it
        if url is None:
            return None
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise ValueError(
                "expected a database URL such as sqlite:///data/store/workflow.sqlite "
                "or postgresql+psycopg://user@host/dbname"
            ) from None
        backend = parsed.get_backend_name()
        if backend not in WORKFLOW_BACKENDS:
            raise ValueError(
                f"the workflow store runs on {' or '.join(WORKFLOW_BACKENDS)}, not {backend!r} "
                "(it relies on partial unique indexes)"
            )
        if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
            raise ValueError(
                "give the SQLite file (sqlite:///path/to/workflow.sqlite): in memory, it is lost at exit"
            )
        try:
            dialect = parsed.get_dialect()
            dialect.import_dbapi()
        except (sa.exc.NoSuchModuleError, ImportError):
            raise ValueError(f"the database driver {parsed.drivername!r} is not installed") from None
        if dialect.is_async:
            raise ValueError(f"{parsed.drivername!r} is an asyncio driver; use postgresql+psycopg")
        return url


class Settings(_Strict):
    store: StoreConfig = Field(default_factory=StoreConfig)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    currency: CurrencyConfig = Field(default_factory=CurrencyConfig)
    vocabularies: VocabularyConfig = Field(default_factory=VocabularyConfig)
    reconcile: dict[str, EntityRules] = Field(default_factory=dict)
    server: ServerConfig = Field(default_factory=ServerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    workflow: WorkflowConfig = Field(default_factory=WorkflowConfig)
    demo: DemoConfig | None = None
    #: authentication (federation/policy_config.py); absent: every caller is anonymous
    auth: AuthConfig | None = None
    #: role → what it may read and do; absent: only `admin` (everything) and `anonymous`
    roles: dict[str, RoleConfig] | None = None
    #: request forms per category or catalog entry, and their approval steps (config/forms.py)
    forms: dict[str, FormConfig] = Field(default_factory=dict)
    #: where events go (Standard Webhooks; config/webhooks.py)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    #: POST /hooks/tickets: a ticketing tool opens maintenance (config/webhooks.py)
    ticket_hook: TicketHookConfig | None = None
    #: ServiceNow tickets the gateway opens for requests and maintenance (config/tickets.py)
    tickets: TicketsConfig | None = None
    #: validated one by one against each kind's own model (see load_config)
    sources: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("webhooks")
    @classmethod
    def _webhook_names(cls, hooks: list[WebhookConfig]) -> list[WebhookConfig]:
        names = [h.name for h in hooks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"webhook names must differ: {', '.join(twice)} given twice")
        return hooks


@dataclass
class Config:
    settings: Settings
    sources: list[SourceConfig]
    #: folder of the config file: relative paths in it start here
    base_dir: Path
    path: Path | None = None

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p

    def rules(self, entity: str) -> EntityRules:
        rules = self.settings.reconcile.get(entity) or EntityRules()
        if rules.identity is None:
            rules = rules.model_copy(update={"identity": [list(r) for r in TABLES[entity].identity]})
        return rules

    def precedence(self, entity: str, field: str) -> list[str]:
        """Sources in order of trust for one attribute; sources not named come last."""
        prec = self.rules(entity).precedence
        order = list(prec.get(field) or prec.get("default") or [])
        order += [s.name for s in self.sources if s.name not in order]
        return order


# ----------------------------------------------------------------------------- loading


def parse_config(raw: Any, *, source: str = "config", base_dir: Path | None = None) -> Config:
    """Validate an already-parsed YAML document. Raises ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(source, ["the top level must be a mapping (key: value lines)"])
    doc = substitute_env(raw)
    problems = Problems(doc)
    for loc, message in doc.unset:
        problems.add(loc, message)
    try:
        settings = Settings.model_validate(doc.data)
    except ValidationError as exc:
        problems.add_validation(exc)
        problems.raise_if_any(source)
        raise AssertionError("unreachable") from None

    sources: list[SourceConfig] = []
    kinds = available_kinds()
    for i, entry in enumerate(settings.sources):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in kinds:
            if kind is None:
                problems.add(("sources", i, "kind"), f"missing; expected one of {', '.join(kinds)}")
            else:
                problems.add(("sources", i, "kind"), f"expected one of {', '.join(kinds)}", value=kind)
            continue
        try:
            sources.append(connector_class(kind).config_model.model_validate(entry))
        except ValidationError as exc:
            problems.add_validation(exc, ("sources", i))
    # a source refused above is still named in precedence lists: those are not problems too
    names = [e["name"] for e in settings.sources if isinstance(e, dict) and isinstance(e.get("name"), str)]
    for line in _cross_checks(settings, sources, names):
        problems.add_line(line)
    problems.raise_if_any(source)
    return Config(settings=settings, sources=sources, base_dir=base_dir or Path.cwd())


def _mapping_checks(sources: list[SourceConfig]) -> list[str]:
    """Transform names exist and fit the field they fill, and `when` conditions read fields
    the stream maps, without a cycle (checked here, not at first sync)."""
    problems = []
    for i, source in enumerate(sources):
        for entity, stream in source.entities.items():
            problems += [f"sources[{i}].entities.{entity}.{p}" for p in evaluation_order(stream.fields)[1]]
            for name, mapping in stream.fields.items():
                for column, fields in (mapping.derived_from or {}).items():
                    allowed = type_fields(entity)
                    problems += [
                        f"sources[{i}].entities.{entity}.fields.{name}.derived_from.{column}: "
                        f"unknown field {f!r} of {entity}; expected one of {', '.join(allowed)}"
                        for f in fields
                        if f not in allowed
                    ]
                where = f"sources[{i}].entities.{entity}.fields.{name}.transform"
                if mapping.transform is None:
                    continue
                if mapping.transform not in TRANSFORMS:
                    problems.append(
                        f"{where}: unknown transform {mapping.transform!r}; expected one of "
                        + ", ".join(sorted(TRANSFORMS))
                    )
                elif not compatible(mapping.transform, output_type(entity, name)):
                    problems.append(
                        f"{where}: {mapping.transform!r} does not produce a "
                        f"{output_type(entity, name)} value, which {entity}.{name} holds"
                    )
    return problems


def _cross_checks(settings: Settings, sources: list[SourceConfig], names: list[str]) -> list[str]:
    problems: list[str] = _mapping_checks(sources)
    problems += policy_checks(settings.auth, settings.roles)
    roles = list(settings.roles) if settings.roles is not None else None
    problems += form_checks(settings.forms, roles, settings.vocabularies.categories)
    problems += ticket_checks(settings.tickets, settings.sources, settings.forms)
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"sources: the name {name!r} is used by more than one source")
    for entity, rules in settings.reconcile.items():
        where = f"reconcile.{entity}"
        if entity not in TABLES:
            problems.append(f"{where}: unknown entity; expected one of {', '.join(TABLES)}")
            continue
        fields = TABLES[entity].mapped_fields
        for i, rule in enumerate(rules.identity or []):
            for f in rule:
                if f not in fields:
                    problems.append(
                        f"{where}.identity[{i}]: unknown field {f!r}; expected one of {', '.join(fields)}"
                    )
        for attr, order in rules.precedence.items():
            if attr != "default" and attr not in fields:
                problems.append(
                    f"{where}.precedence.{attr}: unknown field; expected default or one of "
                    + ", ".join(fields)
                )
            for src in order:
                if src not in names:
                    problems.append(
                        f"{where}.precedence.{attr}: unknown source {src!r}; "
                        f"expected one of {', '.join(names) or '(no sources)'}"
                    )
        if rules.home is not None:
            homes = [s.name for s in sources if entity in s.entities]
            if rules.home not in homes:
                problems.append(
                    f"{where}.home: {rules.home!r} is not a source of {entity}; expected one of "
                    + (", ".join(homes) or "(no source maps it)")
                )
    vocab = settings.vocabularies
    for key, category in vocab.category_aliases.items():
        if category not in vocab.categories:
            problems.append(
                f"vocabularies.category_aliases.{key}: {category!r} is not a category; "
                f"expected one of {', '.join(vocab.categories)}"
            )
    if settings.server.default_limit > settings.server.max_limit:
        problems.append("server.default_limit: must not exceed server.max_limit")
    return problems


class ConfigNotFound(ConfigError):
    """No config file where one was looked for: says where, and how that place was chosen."""

    def __init__(self, path: Path, chosen_by: str) -> None:
        super().__init__(str(path), ["file not found"])
        self.args = (f"config file not found: {path.resolve()} ({chosen_by})",)

    def __str__(self) -> str:
        return str(self.args[0])


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get(CONFIG_ENV) or "config.yaml")


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config file (default: $ASSETGRAPH_CONFIG, else ./config.yaml)."""
    p = config_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path:
            chosen_by = "as given on the command line"
        elif os.environ.get(CONFIG_ENV):
            chosen_by = f"from ${CONFIG_ENV}"
        else:
            chosen_by = f"the default; pass --config FILE or set {CONFIG_ENV}"
        raise ConfigNotFound(p, chosen_by) from None
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read the file: {exc.strerror}"]) from None
    try:
        raw, duplicates = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(p), [f"{where}not valid YAML: {problem}"]) from None
    if duplicates:
        raise ConfigError(str(p), duplicates)
    config = parse_config(raw, source=str(p), base_dir=p.resolve().parent)
    config.path = p
    return config
