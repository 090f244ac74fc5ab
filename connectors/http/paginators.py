"""Paginators by name: each one sets the first page's parameters and finds the next page.

A paginator sees every answer (`Page`) and returns the next request — a URL with its
parameters — or None when the stream is done. Servers may cap the page size below the size
asked for, so offset and page-number paging count the records actually received: they stop
on an empty page, when the total is reached, or (without a total) on a page shorter than
the first one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from connectors.http.config import (
    CursorPaginator,
    JsonLinkPaginator,
    LinkHeaderPaginator,
    ODataPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PaginatorConfig,
    SinglePage,
)
from connectors.http.records import at_path, missing


@dataclass
class Request:
    url: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    request: Request
    response: requests.Response
    body: Any
    records: list[Any]


class Paginator:
    def first(self, request: Request) -> Request:
        return request

    def next(self, page: Page) -> Request | None:
        return None


def _total(body: Any, response: requests.Response, path: str | None, header: str | None = None) -> int | None:
    value: Any = None
    if path:
        value = at_path(body, path)
    elif header:
        value = response.headers.get(header)
    try:
        return None if value is None or missing(value) else int(value)
    except (TypeError, ValueError):
        return None


class _Counting(Paginator):
    """Remembers the first page's length (the server's real page size) and the records so far."""

    first_length: int | None = None
    received = 0

    def _count(self, page: Page) -> int:
        if self.first_length is None:
            self.first_length = len(page.records)
        self.received += len(page.records)
        return self.received

    def _short(self, page: Page) -> bool:
        return self.first_length is not None and len(page.records) < self.first_length


class Offset(_Counting):
    def __init__(self, config: OffsetPaginator) -> None:
        self.c = config

    def first(self, request: Request) -> Request:
        return Request(
            request.url, {**request.params, self.c.limit_param: self.c.limit, self.c.offset_param: 0}
        )

    def next(self, page: Page) -> Request | None:
        params = page.request.params
        self._count(page)
        offset = int(params.get(self.c.offset_param, 0)) + len(page.records)
        total = _total(page.body, page.response, self.c.total_path, self.c.total_header)
        if not page.records or (total is not None and offset >= total):
            return None
        if total is None and self._short(page):
            return None
        return Request(page.request.url, {**params, self.c.offset_param: offset})


class PageNumber(_Counting):
    def __init__(self, config: PageNumberPaginator) -> None:
        self.c = config

    def first(self, request: Request) -> Request:
        return Request(
            request.url,
            {**request.params, self.c.page_param: self.c.first_page, self.c.size_param: self.c.size},
        )

    def next(self, page: Page) -> Request | None:
        params = page.request.params
        number = int(params.get(self.c.page_param, self.c.first_page))
        seen = self._count(page)
        total = _total(page.body, page.response, self.c.total_path)
        if not page.records or (total is not None and seen >= total):
            return None
        if total is None and self._short(page):
            return None
        return Request(page.request.url, {**params, self.c.page_param: number + 1})


class _Sized(Paginator):
    size_param: str | None
    size: int | None

    def first(self, request: Request) -> Request:
        if self.size_param and self.size:
            return Request(request.url, {**request.params, self.size_param: self.size})
        return request


class Cursor(_Sized):
    def __init__(self, config: CursorPaginator) -> None:
        self.c = config
        self.size_param, self.size = config.size_param, config.size

    def next(self, page: Page) -> Request | None:
        token = at_path(page.body, self.c.cursor_path)
        if missing(token) or token in (None, ""):
            return None
        return Request(page.request.url, {**page.request.params, self.c.cursor_param: token})


class LinkHeader(_Sized):
    def __init__(self, config: LinkHeaderPaginator) -> None:
        self.size_param, self.size = config.size_param, config.size

    def next(self, page: Page) -> Request | None:
        nxt = page.response.links.get("next")
        return Request(nxt["url"]) if nxt and nxt.get("url") else None


class BodyLink(_Sized):
    def __init__(self, config: ODataPaginator | JsonLinkPaginator) -> None:
        self.next_path = config.next_path
        self.size_param = getattr(config, "size_param", None)
        self.size = getattr(config, "size", None)

    def next(self, page: Page) -> Request | None:
        url = at_path(page.body, self.next_path)
        return Request(url) if isinstance(url, str) and url else None


PAGINATORS: dict[type, type[Paginator]] = {
    SinglePage: Paginator,
    OffsetPaginator: Offset,
    PageNumberPaginator: PageNumber,
    CursorPaginator: Cursor,
    LinkHeaderPaginator: LinkHeader,
    ODataPaginator: BodyLink,
    JsonLinkPaginator: BodyLink,
}


def make_paginator(config: PaginatorConfig) -> Paginator:
    cls = PAGINATORS[type(config)]
    return cls() if cls is Paginator else cls(config)  # type: ignore[call-arg]
