"""`kind: json_files`: JSON and NDJSON documents in a file, a folder or a glob.

    - name: exports
      kind: json_files
      path: exports/           # a file, a folder (its .json/.ndjson/.jsonl files) or a glob
      entities:
        assets:
          records: data.items  # where the records sit in each document ("": the document)
          id: id
          fields:
            serial_number: hardware.serial
            mac_addresses: "interfaces[].mac"

`records`, `id`, `partial` and every mapped column are JMESPath expressions
(https://jmespath.org) evaluated on each record: `a.b` walks objects, `list[].x` collects
from arrays, `list[?enabled].x` filters, `a || b` takes the first non-empty. Two extra
columns come from the file itself: `_file` (its path) and `_modified` (its modification
time, ISO 8601 UTC), the stream's cursor: later syncs read only files modified at or after
it (the files at the cursor itself come again and are merged by record id).

Records below the document (`records: content.softwares`) cannot see it; `from_document:
{deviceid: deviceid}` copies document values into each of them, under the given names (a
record's own key of that name gives way). `replace_by: deviceid` says the records are whole
lists per value of that column: the newest file with records for a value replaces every older
record of it (a program uninstalled since leaves), as GLPI's inventories, partial ones
included, replace a device's software list. Incremental reads merge by record id, so a record
gone from a list leaves the graph at the stream's next full read.

When several files hold a record with the same id, the newest file's wins (modification
time, then path); a record that `partial` marks true (GLPI's partial inventories) only adds
the values it has. Within one file a repeated id is left to the mapping, which quarantines
it. A file that cannot be read (not JSON, not UTF-8, no records where `records` says) fails
the source with its path and the reason; the source keeps its last good snapshot.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, model_validator

from connectors.base import Batch, Connector, SourceConfig, SourceError, StreamConfig
from connectors.http.preset import merge
from connectors.json_documents import Expression, FileProblem, kind_of, parse_documents

#: the columns every record gets from its file
FILE, MODIFIED = "_file", "_modified"
SPECIAL = (FILE, MODIFIED)
#: the files a folder contributes
SUFFIXES = (".json", ".ndjson", ".jsonl")
#: bad files named in one error message (the rest are counted)
SHOWN_PROBLEMS = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JsonStream(StreamConfig):
    #: the file, folder or glob, when it is not the source's `path`
    path: str | None = None
    #: JMESPath to the records in each document; "" is the document itself (an object is
    #: one record, a list holds one record per item)
    records: str = ""
    #: the file modification time: later syncs read only changed files (`null`: always all)
    cursor: str | None = MODIFIED
    #: JMESPath true for records that carry only some fields (they update, never clear)
    partial: str | None = None
    #: name → JMESPath on the whole document: values copied into each of its records
    from_document: dict[str, str] = Field(default_factory=dict)
    #: a column whose value names a whole list of records: a newer file's list replaces it
    replace_by: str | None = None
    batch_size: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _expressions(self) -> JsonStream:
        if self.cursor not in (None, MODIFIED):
            raise ValueError(f"cursor: files are read incrementally by `{MODIFIED}` (their "
                             f"modification time) or not at all (`null`), not {self.cursor!r}")  # fmt: skip
        if self.records:
            Expression(self.records, "records")
        if self.partial:
            Expression(self.partial, "partial")
        for name, text in self.from_document.items():
            if not name.isidentifier():
                raise ValueError(f"from_document: {name!r} is not a plain name (letters, digits, _)")
            Expression(text, f"from_document.{name}")
        if self.replace_by is not None and self.replace_by not in self.columns:
            raise ValueError(f"replace_by: {self.replace_by!r} is not a column of this stream; "
                             f"use an id column or a `from_document` name")  # fmt: skip
        for column in self.id_columns:
            if column not in SPECIAL:
                Expression(column, "id")
        for name, mapping in self.fields.items():
            for column in [*mapping.source_columns, mapping.currency_column]:
                if column is not None and column not in SPECIAL:
                    Expression(column, f"fields.{name}")
        return self

    @property
    def columns(self) -> list[str]:
        """The columns a batch carries: ids, mapped columns, values copied from the document,
        then the file's own."""
        columns = list(self.id_columns)
        for mapping in self.fields.values():
            columns += mapping.source_columns
            if mapping.currency_column:
                columns.append(mapping.currency_column)
        return list(dict.fromkeys([*columns, *self.from_document, *SPECIAL]))


class JsonFilesConfig(SourceConfig):
    kind: Literal["json_files"]
    #: a file, a folder or a glob (`exports/**/*.json`); relative to the folder of config.yaml
    path: str | None = None
    #: `auto`: .ndjson and .jsonl files hold one document a line, others one document (a
    #: `.json` file that turns out to hold one document a line is read as such)
    format: Literal["auto", "json", "ndjson"] = "auto"
    #: `auto`: a byte order mark decides (UTF-8, UTF-16, UTF-32), else UTF-8
    encoding: str = "auto"
    entities: dict[str, JsonStream]  # type: ignore[assignment]

    @model_validator(mode="after")
    def _every_stream_has_a_path(self) -> JsonFilesConfig:
        for entity, stream in self.entities.items():
            if stream.path is None and self.path is None:
                raise ValueError(f"entities.{entity}: no file: set `path` here or on the source")
        return self


class JsonPresetConfig(JsonFilesConfig):
    """A json_files source whose streams and mappings start from a format's defaults; the
    user's config is merged over them as for the HTTP presets (`null` drops a default)."""

    kind: str  # type: ignore[assignment]
    defaults: ClassVar[dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        return merge(cls.defaults, data) if isinstance(data, dict) else data


@dataclass(frozen=True)
class SourceFile:
    path: Path
    #: the path as shown in records and messages (relative to the config's folder if under it)
    shown: str
    modified: datetime

    @property
    def stamp(self) -> str:
        return self.modified.isoformat()


@dataclass
class Record:
    values: dict[str, Any]
    key: tuple[str, ...] | None
    file: SourceFile
    partial: bool
    #: position of the file in the read (a tie-breaker among equal modification times)
    order: int = 0
    extra: list[Record] = field(default_factory=list)


class JsonFilesConnector(Connector):
    kind = "json_files"
    config_model = JsonFilesConfig
    config: JsonFilesConfig

    def prepare(self, document: Any, file: SourceFile) -> Any:
        """Presets: check or reshape one parsed document before its records are taken
        (raise FileProblem for a document of the wrong shape)."""
        return document

    def _error(self, message: str) -> SourceError:
        return SourceError(f"source {self.config.name!r} ({self.kind}): {message}")

    def _stream(self, entity: str) -> JsonStream:
        stream = self.config.entities.get(entity)
        if stream is None:
            raise self._error(f"no stream for entity {entity!r}; streams: {', '.join(self.streams())}")
        return stream

    # ------------------------------------------------------------------------------ files
    def files(self, stream: JsonStream) -> list[SourceFile]:
        """The stream's files, oldest first (modification time, then path)."""
        raw = stream.path or self.config.path or ""
        full = Path(raw) if Path(raw).is_absolute() else self.base_dir / raw
        if any(char in raw for char in "*?["):
            root = None if Path(raw).is_absolute() else self.base_dir
            found = [Path(p) if root is None else root / p
                     for p in glob.glob(raw, root_dir=root, recursive=True)]  # fmt: skip
            paths = [p for p in found if p.is_file()]
            if not paths:
                raise self._error(f"no file matches {raw!r} (in {self.base_dir.resolve()})")
        elif full.is_dir():
            paths = [p for p in full.iterdir() if p.suffix.lower() in SUFFIXES and not p.name.startswith(".")]
            paths = [p for p in paths if p.is_file()]
            if not paths:
                raise self._error(f"no {', '.join(SUFFIXES)} file in the folder {full.resolve()}")
        elif full.is_file():
            paths = [full]
        else:
            raise self._error(f"file or folder not found: {full.resolve()}")
        files = []
        base = self.base_dir.absolute()
        for path in paths:
            try:
                ns = path.stat().st_mtime_ns
            except OSError as exc:
                raise self._error(f"cannot read {path}: {exc.strerror}") from None
            files.append(SourceFile(path, _shown(path, base), _EPOCH + timedelta(microseconds=ns // 1000)))
        return sorted(files, key=lambda f: (f.modified, f.shown))

    def check(self) -> None:
        """Each stream's path names at least one file (the files are parsed by `read`)."""
        for stream in self.config.entities.values():
            self.files(stream)

    # ------------------------------------------------------------------------------- read
    def read(self, entity: str, cursor: str | None = None) -> Iterator[Batch]:
        stream = self._stream(entity)
        files = self.files(stream)
        since = _cursor_time(cursor) if stream.cursor else None
        changed = [f for f in files if since is None or f.modified >= since]
        records = self._records(stream, changed)
        if since is not None and len(changed) < len(files) and any(r.partial for r in records):
            # a partial record needs the full one it updates, which may sit in an older file
            merged = [r for r in _merge(self._records(stream, files)) if r.file.modified >= since]
        else:
            merged = _merge(records)
        if stream.replace_by is not None:
            merged = _newest_lists(merged, stream.replace_by)
        newest = changed[-1].stamp if changed else cursor
        yield from self._batches(stream, merged, newest if stream.cursor else None)

    def _records(self, stream: JsonStream, files: list[SourceFile]) -> list[Record]:
        """Every record of these files, with the stream's columns picked out; raises one
        SourceError naming every file that could not be read."""
        select = {c: Expression(c) for c in stream.columns if c not in SPECIAL}
        shared = {name: Expression(text) for name, text in stream.from_document.items()}
        where = Expression(stream.records) if stream.records else None
        partial = Expression(stream.partial) if stream.partial else None
        records: list[Record] = []
        problems: list[str] = []
        for order, file in enumerate(files):
            try:
                for document in parse_documents(file.path, self.config.format, self.config.encoding):
                    document = self.prepare(document, file)
                    copied = _pick(document, shared)
                    for item in _items(document, where, stream.records):
                        values = _pick({**item, **copied} if copied else item, select)
                        values[FILE], values[MODIFIED] = file.shown, file.stamp
                        flag = partial is not None and bool(partial.search(item))
                        records.append(Record(values, _key(values, stream.id_columns), file, flag, order))
            except FileProblem as exc:
                problems.append(f"{file.shown}: {exc}")
            except OSError as exc:
                problems.append(f"{file.shown}: cannot read the file ({exc.strerror})")
        if problems:
            more = len(problems) - SHOWN_PROBLEMS
            raise self._error(
                f"{len(problems)} file(s) could not be read: " + "; ".join(problems[:SHOWN_PROBLEMS])
                + (f"; and {more} more" if more > 0 else "")
                + ". Fix or remove them; until then the source keeps its last good snapshot"
            )  # fmt: skip
        return records

    def _batches(self, stream: JsonStream, records: list[Record], cursor: str | None) -> Iterator[Batch]:
        columns = stream.columns
        buffer: list[Record] = []
        for record in records:
            buffer += [record, *record.extra]
            if len(buffer) >= stream.batch_size:
                yield Batch(_frame(buffer, columns), cursor)
                buffer = []
        if buffer or not records:
            yield Batch(_frame(buffer, columns), cursor)


def _shown(path: Path, base: Path) -> str:
    """The path relative to the config's folder when it is under it (compared as written:
    resolving every file would cost a few system calls each)."""
    absolute = path if path.is_absolute() else base / path
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def _cursor_time(cursor: str | None) -> datetime | None:
    if cursor is None:
        return None
    try:
        moment = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except ValueError:
        return None  # not a file time (the stream's cursor changed): read everything
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _items(document: Any, where: Expression | None, path: str) -> list[dict[str, Any]]:
    found = document if where is None else where.search(document)
    shown = f"`records` ({path})" if path else "the document"
    if found is None:
        raise FileProblem(f"nothing at {shown}; check `records` of this stream")
    if isinstance(found, dict):
        return [found]
    if not isinstance(found, list):
        raise FileProblem(f"{shown} is {kind_of(found)}, expected an object or a list of objects")
    for position, item in enumerate(found):
        if not isinstance(item, dict):
            raise FileProblem(f"item {position} of {shown} is {kind_of(item)}, expected an object")
    return found


def _pick(item: dict[str, Any], select: dict[str, Expression]) -> dict[str, Any]:
    return {column: expression.search(item) for column, expression in select.items()}


def _key(values: dict[str, Any], id_columns: list[str]) -> tuple[str, ...] | None:
    parts = []
    for column in id_columns:
        value = values.get(column)
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        parts.append(text)
    return tuple(parts)


def _merge(records: list[Record]) -> list[Record]:
    """One record per id, the newest file's; partial records update the one before them.
    Records without an id, and repeats of an id within one file, are kept (the mapping
    quarantines them with the reason)."""
    ordered = sorted(records, key=lambda r: (r.file.modified, r.partial, r.order))
    out: list[Record] = []
    latest: dict[tuple[str, ...], Record] = {}
    for record in ordered:
        current = latest.get(record.key) if record.key is not None else None
        if current is None:
            out.append(record)
            if record.key is not None:
                latest[record.key] = record
        elif record.partial:
            base = current.extra[-1] if current.extra else current
            base.values.update({k: v for k, v in record.values.items() if v is not None})
            base.file, base.partial = record.file, False
        elif current.file is record.file:
            current.extra.append(record)
        else:
            current.values, current.file, current.partial = record.values, record.file, False
            current.extra = []
    return out


def _newest_lists(records: list[Record], column: str) -> list[Record]:
    """Only the newest file's records of each list (records without a list value are kept).
    Files are told apart as `files()` orders them: modification time, then path."""
    newest: dict[str, tuple[datetime, str]] = {}
    for record in records:
        for one in (record, *record.extra):
            if (value := one.values.get(column)) is not None:
                stamp = (one.file.modified, one.file.shown)
                newest[str(value)] = max(newest.get(str(value), stamp), stamp)
    out = []
    for record in records:
        kept = [
            r
            for r in (record, *record.extra)
            if (value := r.values.get(column)) is None
            or newest[str(value)] == (r.file.modified, r.file.shown)
        ]
        if kept:
            kept[0].extra = kept[1:]
            out.append(kept[0])
    return out


def _frame(records: list[Record], columns: list[str]) -> pd.DataFrame:
    data = {c: pd.Series([r.values.get(c) for r in records], dtype=object) for c in columns}
    return pd.DataFrame(data, index=pd.RangeIndex(len(records)))
