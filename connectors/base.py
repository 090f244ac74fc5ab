"""The connector contract: check the connection, describe the streams, read batches.

A connector kind is one module in this package with one `Connector` subclass and one
`SourceConfig` subclass, registered by `kind` name in `connectors.registry`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from connectors.fields import FieldMapping
from federation.model import TABLES

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")

#: a source's total read deadline, when not set, is this many times its per-request timeout
DEADLINE_PER_TIMEOUT = 10


def parse_percent(value: Any) -> float:
    """`20%` → 0.2. Only the written form with `%` is accepted: a bare 0.2 could mean either."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if not match or float(match.group(1)) > 100:
        raise ValueError("expected a percentage from 0% to 100%, like 20%")
    return float(match.group(1)) / 100


#: a share written as a percentage (`95%`), held as a fraction (0.95)
Percent = Annotated[float, BeforeValidator(parse_percent)]


def parse_duration(value: str | int | timedelta) -> timedelta:
    """`15m`, `1h`, `30s`, `2d` or a number of seconds → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration like 30s, 15m, 1h or 2d, got {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class StreamConfig(BaseModel):
    """What a source contributes to one unified entity (`assets`, `people`, `locations`)."""

    model_config = ConfigDict(extra="forbid")

    #: the source column (or columns) that identify a record within this source
    id: str | list[str]
    #: a column that grows with each change (`updated_at`): later syncs read only newer rows
    cursor: str | None = None
    #: unified field → source column (or a full FieldMapping)
    fields: dict[str, FieldMapping]

    @field_validator("fields", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"column": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @property
    def id_columns(self) -> list[str]:
        return [self.id] if isinstance(self.id, str) else list(self.id)


class GuardConfig(BaseModel):
    """What a read must look like to replace the source's last good snapshot. A read that
    breaks it is held back: the last good snapshot stays, the source shows stale with the
    reason, until the source reads well again or an admin accepts the read
    (`assetgraph sync --accept NAME`)."""

    model_config = ConfigDict(extra="forbid")

    #: the most a full read may shrink an entity, against the last good snapshot's count
    #: (`20%`; `100%` or null: no limit). The default refuses a read that lost over half.
    max_drop: Percent | None = 0.5
    #: fields that must be filled: a list (`[email]`: in every record), or field → the share
    #: of records that must have it (`{email: 95%}`); `entity.field` for one entity only
    required: dict[str, Percent] = Field(default_factory=dict)

    @field_validator("required", mode="before")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(name, str) for name in value):
            return {name: "100%" for name in value}
        if isinstance(value, dict):
            return value
        raise ValueError("expected a list of fields ([email]) or field: share ({email: 95%})")


class SourceConfig(BaseModel):
    """Settings every source has; each connector kind subclasses this with its own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    kind: str
    refresh: timedelta = timedelta(minutes=15)
    enabled: bool = True
    #: a request or query that takes longer fails the sync of this source
    timeout: timedelta = timedelta(seconds=60)
    #: read everything again this often even where a cursor allows incremental reads, so
    #: records deleted at the source leave the graph (`null`: never)
    full_refresh: timedelta | None = timedelta(days=1)
    #: the whole read of this source (every request, retry and page) must end within this;
    #: past it the read is abandoned and the source fails (default: 10 times `timeout`)
    deadline: timedelta | None = None
    #: checks a read must pass before it replaces the last good snapshot
    guard: GuardConfig = Field(default_factory=GuardConfig)
    entities: dict[str, StreamConfig]

    @field_validator("refresh", "timeout", "full_refresh", "deadline", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @field_validator("timeout", "deadline")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("expected a duration above zero, like 30s")
        return value

    @property
    def read_deadline(self) -> timedelta:
        return self.deadline or self.timeout * DEADLINE_PER_TIMEOUT

    @model_validator(mode="after")
    def _known_entities_and_fields(self) -> SourceConfig:
        for entity, stream in self.entities.items():
            if entity not in TABLES:
                raise ValueError(f"entities.{entity}: unknown entity; expected one of {', '.join(TABLES)}")
            if TABLES[entity].computed:
                raise ValueError(f"entities.{entity}: built by the gateway from the other entities; "
                                 "no source fills it")  # fmt: skip
            allowed = TABLES[entity].mapped_fields
            for name in stream.fields:
                if name not in allowed:
                    raise ValueError(
                        f"entities.{entity}.fields.{name}: unknown field of {entity}; "
                        f"expected one of {', '.join(allowed)}"
                    )
        for name in self.guard.required:
            entity, _, field = name.rpartition(".")
            if entity and entity not in self.entities:
                raise ValueError(
                    f"guard.required.{name}: {entity} is not an entity of this source; "
                    f"expected one of {', '.join(self.entities)}"
                )
            candidates = [entity] if entity else list(self.entities)
            if not any(field in TABLES[e].mapped_fields for e in candidates if e in TABLES):
                known = sorted({f for e in candidates if e in TABLES for f in TABLES[e].mapped_fields})
                raise ValueError(
                    f"guard.required.{name}: no entity of this source has a field {field!r}; "
                    f"expected one of {', '.join(known)}"
                )
        return self

    def required_fields(self, entity: str) -> dict[str, float]:
        """guard.required as it applies to one entity: field → share of records."""
        out: dict[str, float] = {}
        fields = TABLES[entity].mapped_fields
        for name, share in self.guard.required.items():
            scope, _, field = name.rpartition(".")
            if (scope in ("", entity)) and field in fields:
                out[field] = share
        return out


@dataclass
class Batch:
    """Raw records as the source gave them (one column per source column, values as read)
    and the cursor value to resume after them (None when the stream has no cursor)."""

    frame: pd.DataFrame
    cursor: str | None = None


class SourceError(Exception):
    """A source could not be read. The message is shown to people as is: say what failed,
    where, and what to do; never include a secret."""


#: why a source refused a write: the caller's values (`invalid`), its rights at the source
#: (`forbidden`), the record is gone (`not_found`) or changed meanwhile (`conflict`)
RefusalKind = Literal["invalid", "forbidden", "not_found", "conflict"]


class WriteRefused(SourceError):
    """The source answered a write and refused it. `kind` says why; `fields` holds the
    source's per-column reasons where it gave them (`{field: column or unified field,
    message}`). The message is the source's reason, readable, without secrets. A source that
    could not be reached raises plain SourceError instead (SOURCE_UNAVAILABLE upstream)."""

    def __init__(
        self, message: str, *, kind: RefusalKind, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind
        self.fields: list[dict[str, str]] = list(fields or [])


class Connector(ABC):
    kind: ClassVar[str]
    config_model: ClassVar[type[SourceConfig]]
    #: True where write() is implemented
    writable: ClassVar[bool] = False

    def __init__(self, config: SourceConfig, *, base_dir: Path) -> None:
        """`base_dir` is the folder of config.yaml: relative paths in the config start there."""
        self.config = config
        self.base_dir = base_dir

    @abstractmethod
    def check(self) -> None:
        """Raise SourceError if the source cannot be reached or read."""

    def streams(self) -> list[str]:
        """The unified entities this source contributes to."""
        return list(self.config.entities)

    @abstractmethod
    def read(self, entity: str, cursor: str | None = None) -> Iterator[Batch]:
        """Yield the records of one entity stream in batches; with a cursor, only records
        changed after it. Raise SourceError on failure."""

    # -- writes (optional; `writable = True` where implemented) -------------------------
    # Values are raw: source columns and the source's own vocabulary, as a row of read()
    # has them (transforms turn unified values into them and back). `record_id` is the
    # record id the mapping made from the stream's `id` columns (several joined by `|`).
    # Each method returns the record as the source holds it afterwards, read back from the
    # source (one row of read(): the same columns), so the gateway serves what the source
    # stored, not what it sent. Refusals raise WriteRefused; an unreachable source raises
    # SourceError.

    def fetch(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """The record as the source holds it now (raw), or None where it has none by that id."""
        raise self._read_only()

    def fetch_many(self, entity: str, record_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """`fetch` of each record id (a write's records checked together): record id → the
        record, or None where the source has none. One request where the source allows it
        (sql: one SELECT … IN); here, one `fetch` each."""
        return {record_id: self.fetch(entity, record_id) for record_id in dict.fromkeys(record_ids)}

    def update(
        self, entity: str, record_id: str, values: dict[str, Any], expected: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Set `values` (raw column → value) on one record; return it read back. `expected`:
        raw column → the value the caller saw; where the record no longer holds one of them
        the write is refused with WriteRefused(kind="conflict") and nothing is written. The
        check runs in the same operation as the write where the source allows it (SQL: the
        UPDATE's WHERE), else right before it."""
        raise self._read_only()

    def insert(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        """Create one record from `values`; return it read back (with its id columns)."""
        raise self._read_only()

    def delete(self, entity: str, record_id: str, expected: dict[str, Any] | None = None) -> None:
        """Remove one record (`expected` as for update). WriteRefused(kind="not_found")
        where there is none."""
        raise self._read_only()

    def read_only_columns(self, entity: str) -> dict[str, str]:
        """Source columns a write of this entity cannot set → why (`*`: every column). Beside
        the mapping's own limits (transforms/reverse.py `writable_fields`)."""
        return {} if self.writable else {"*": f"the {self.kind} connector does not write"}

    def _read_only(self) -> SourceError:
        return SourceError(f"source {self.config.name!r} ({self.kind}) does not accept writes")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once the sync is done."""
