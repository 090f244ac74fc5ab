"""The connector every HTTP source shares: streams described by config, read page by page.

A stream is a path, a record path, parameters, a paginator and, where the API can filter,
incremental parameters. Pages are gathered into batches of `batch_size` records; the cursor
column's largest value is the batch's cursor. Later reads ask for records at or after the
cursor (`>=`: a record written in the cursor's second after the last read is not lost) and
records before it are dropped on the client too, for APIs that cannot filter (Snipe-IT). The
boundary records read again are merged by their record id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

import pandas as pd

from connectors.base import Batch, Connector, SourceError
from connectors.http.client import HttpClient, Ignored
from connectors.http.config import HttpSourceConfig, HttpStream
from connectors.http.errors import Action, safe_url
from connectors.http.paginators import Page, Request, make_paginator
from connectors.http.records import at_path, flatten, latest, missing, newer_than, to_frame

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class HttpConnector(Connector):
    """`kind: rest` uses this as is; a preset subclasses it with its own config defaults
    and, at most, a `shape` step for values no mapping can compute."""

    kind = "rest"
    config_model = HttpSourceConfig
    config: HttpSourceConfig
    #: entity → the record columns `shape` reads beyond the mapped ones. A preset that names
    #: them keeps the picked-column read (None: `shape` may read any column, so every record
    #: is flattened whole)
    shape_reads: ClassVar[dict[str, list[str]] | None] = None

    _client: HttpClient | None = None

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(self.config)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def shape(self, entity: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Presets: add derived columns (a full name, a product name from a SKU table)."""
        return frame

    # ------------------------------------------------------------------------------ check
    def check(self) -> None:
        """One request per stream (its parent's, for per-parent streams): reachable,
        authorised, and the records where the config says."""
        for entity, stream in self.config.entities.items():
            parent, path = stream.for_each, stream.path
            if parent is not None and parent.path is not None:
                next(
                    self._pages(entity, stream, parent.path, parent.params, parent.records or "", False), None
                )
                continue
            if parent is not None and parent.values:
                path = _fill(path, parent.values[0], entity, self.config.name)
            elif parent is not None:
                continue
            pages = self._pages(
                entity, stream, path, self._params(stream, None), stream.records, stream.records_optional
            )
            next(pages, None)

    # ------------------------------------------------------------------------------- read
    def read(self, entity: str, cursor: str | None = None) -> Iterator[Batch]:
        stream = self.config.entities.get(entity)
        if stream is None:
            raise SourceError(
                f"source {self.config.name!r}: no stream for entity {entity!r}; streams: "
                + ", ".join(self.streams())
            )
        cursor = cursor if stream.cursor else None
        columns = _wanted_columns(stream)
        newest = cursor
        buffer: list[dict[str, Any]] = []
        emitted = False
        for records in self._records(entity, stream, cursor):
            buffer += records
            if len(buffer) >= stream.batch_size:
                batch = self._batch(entity, stream, buffer, columns, cursor, newest)
                newest, buffer = batch.cursor, []
                if len(batch.frame):
                    emitted = True
                    yield batch
        if buffer or not emitted:
            yield self._batch(entity, stream, buffer, columns, cursor, newest)

    def _batch(
        self,
        entity: str,
        stream: HttpStream,
        records: list[dict[str, Any]],
        columns: list[str],
        cursor: str | None,
        newest: str | None,
    ) -> Batch:
        frame = self.shape_records(entity, records, columns)
        for column in stream.skip_without:
            if column in frame.columns:
                frame = frame.loc[frame[column].notna()].reset_index(drop=True)
        if stream.cursor and len(frame):
            if stream.cursor not in frame.columns:
                raise SourceError(
                    f"source {self.config.name!r}, entity {entity}: the cursor column {stream.cursor!r} "
                    f"is not in the records; columns are: {', '.join(map(str, frame.columns))}"
                )
            if cursor is not None:
                frame = frame.loc[newer_than(frame[stream.cursor], cursor)].reset_index(drop=True)
            newest = latest(frame[stream.cursor], newest)
        return Batch(frame, newest if stream.cursor else None)

    def shape_records(self, entity: str, records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
        """Records → the frame read() yields: the wanted columns, then `shape`. A preset with
        its own `shape` and no `shape_reads` gets every record flattened whole."""
        only = type(self).shape is HttpConnector.shape or self.shape_reads is not None
        extra = (self.shape_reads or {}).get(entity, [])
        return self.shape(entity, to_frame(records, list(dict.fromkeys([*columns, *extra])), only=only))

    def _params(self, stream: HttpStream, cursor: str | None) -> dict[str, Any]:
        params = {**self.config.params, **stream.params}
        inc = stream.incremental
        value = cursor if cursor is not None else (inc.initial if inc else None)
        if inc is not None and value is not None:
            for key, template in inc.params.items():
                filled = template.replace("{cursor}", value) if isinstance(template, str) else template
                joiner = self.config.combine_params.get(key)
                if joiner is not None and params.get(key) not in (None, ""):
                    filled = f"{params[key]}{joiner}{filled}"
                params[key] = filled
        return params

    def _records(self, entity: str, stream: HttpStream, cursor: str | None) -> Iterator[list[dict[str, Any]]]:
        params = self._params(stream, cursor)
        limit = self.config.max_records
        count = 0
        for parent in self._parents(entity, stream):
            path = stream.path if parent is None else _fill(stream.path, parent, entity, self.config.name)
            pages = self._pages(
                entity,
                stream,
                path,
                params,
                stream.records,
                stream.records_optional,
                skip_missing=parent is not None and stream.for_each.skip_missing,
            )  # type: ignore[union-attr]
            for records in pages:
                if parent is not None:
                    records = [{**r, "parent": parent} for r in records]
                count += len(records)
                if count > limit:
                    raise SourceError(
                        f"source {self.config.name!r}, entity {entity}: more than max_records ({limit}) "
                        f"records; raise max_records in sources[{self.config.name}] if that is right"
                    )
                yield records

    def _parents(self, entity: str, stream: HttpStream) -> Iterator[dict[str, Any] | None]:
        parent = stream.for_each
        if parent is None:
            yield None
            return
        if parent.values is not None:
            yield from parent.values
            return
        assert parent.path is not None
        for records in self._pages(entity, stream, parent.path, parent.params, parent.records or "", False):
            for record in records:
                yield flatten(record)

    def _pages(
        self,
        entity: str,
        stream: HttpStream,
        path: str,
        params: dict[str, Any],
        records_path: str,
        optional: bool,
        *,
        skip_missing: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        paginator = make_paginator(stream.paginator or self.config.paginator)
        request: Request | None = paginator.first(Request(self.client.url(path), dict(params)))
        overrides = {404: Action.IGNORE} if skip_missing else None
        seen: set[tuple[str, str]] = set()
        previous: list[dict[str, Any]] = []
        pages = 0
        while request is not None:
            key = (request.url, repr(sorted(request.params.items())))
            if key in seen:
                raise SourceError(
                    f"source {self.config.name!r}, entity {entity}: the server sent the same page twice "
                    f"({safe_url(request.url)}); check the paginator of sources[{self.config.name}]"
                )
            seen.add(key)
            pages += 1
            if pages > self.config.max_pages:
                raise SourceError(
                    f"source {self.config.name!r}, entity {entity}: more than max_pages "
                    f"({self.config.max_pages}) pages; raise max_pages in sources[{self.config.name}]"
                    " if the source is that large"
                )
            try:
                response, body = self.client.get_json(
                    request.url, request.params, entity=entity, overrides=overrides
                )
            except Ignored:
                return
            records = self._records_of(body, records_path, optional, request.url, entity)
            if records and records == previous:  # compared whole: an id may be shared (a SKU)
                raise SourceError(
                    f"source {self.config.name!r}, entity {entity}: page {pages} ({safe_url(request.url)}) "
                    f"repeats the previous page's {len(records)} records: the server seems to ignore "
                    f"the paging parameters; check the paginator of sources[{self.config.name}] "
                    "(offset_param, page_param)"
                )
            previous = records
            yield records
            request = paginator.next(Page(request, response, body, records))

    def _records_of(
        self, body: Any, path: str, optional: bool, url: str, entity: str
    ) -> list[dict[str, Any]]:
        found = at_path(body, path)
        where = f"source {self.config.name!r}: the answer from {safe_url(url)}"
        if missing(found) or found is None:
            if optional:
                return []
            keys = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
            expected = f"`{path}`" if path else "a list"
            raise SourceError(
                f"{where} has no {expected} holding the records of {entity} (it has: {keys or 'nothing'}); "
                f"check `records` of entities.{entity}"
            )
        if not isinstance(found, list) or any(not isinstance(r, dict) for r in found):
            raise SourceError(
                f"{where}: expected a list of objects at `{path or '(the body)'}` for {entity}, "
                f"got {type(found).__name__}; check `records` of entities.{entity}"
            )
        return found


def _fill(path: str, parent: dict[str, Any], entity: str, source: str) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in parent or parent[name] is None:
            raise SourceError(
                f"source {source!r}, entity {entity}: the parent record has no {name!r} for the path "
                f"{path!r}; its fields are: {', '.join(parent)}"
            )
        return quote(str(parent[name]), safe="@")

    return _PLACEHOLDER.sub(value, path)


def _wanted_columns(stream: HttpStream) -> list[str]:
    columns = [*stream.id_columns, *([stream.cursor] if stream.cursor else []), *stream.skip_without]
    for mapping in stream.fields.values():
        columns += mapping.source_columns
        if mapping.currency_column:
            columns.append(mapping.currency_column)
    return list(dict.fromkeys(columns))
