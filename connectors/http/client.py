"""One `requests.Session` per source: auth, timeouts, retries and rate limits on every request.

Failures go through the one table in `errors.py`. Waiting: `Retry-After` (seconds or an HTTP
date) on 429/503, else exponential backoff with full jitter; a server that says its quota is
spent (`X-Rate-Limit-Remaining: 0` with `X-Rate-Limit-Reset`, Okta; `X-RateLimit-*`,
Laravel) is left alone until the reset; `rate_limit` spaces requests out.

Requests go only to base_url's origin (scheme, host, port; never compared or shown with the
user info): a next-page link elsewhere is refused, and redirects are followed here, within
that origin only, so that custom headers (`X-API-Key`, `headers:`) never reach another server.
"""

from __future__ import annotations

import logging
import random
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import orjson
import requests

from connectors.base import SourceError
from connectors.http.auth import make_auth
from connectors.http.config import HttpSourceConfig
from connectors.http.errors import Action, advice, classify, describe, safe_url

log = logging.getLogger("assetgraph.http")

_REMAINING = ("X-Rate-Limit-Remaining", "X-RateLimit-Remaining")
_RESET = ("X-Rate-Limit-Reset", "X-RateLimit-Reset")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: redirects followed within the origin before giving up
MAX_REDIRECTS = 10


class Ignored(Exception):
    """The table says: skip this request (a child of a parent that went away)."""


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asks to wait: `Retry-After` as seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def quota_reset(response: requests.Response) -> float | None:
    """Seconds until a spent quota resets (the reset header is epoch seconds or seconds)."""
    remaining = next((response.headers[h] for h in _REMAINING if h in response.headers), None)
    reset = next((response.headers[h] for h in _RESET if h in response.headers), None)
    if remaining is None or reset is None or remaining.strip() != "0":
        return None
    try:
        value = float(reset)
    except ValueError:
        return None
    return max(0.0, value - time.time()) if value > 1e9 else value


class HttpClient:
    def __init__(self, config: HttpSourceConfig) -> None:
        self.config = config
        self.where = f"sources[{config.name}]"
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "assetgraph"})
        self.session.headers.update(config.headers)
        self.session.verify = config.verify_tls
        self.auth = make_auth(config.auth, config.base_url, self._token_request, self.where)
        self._origin = _origin(config.base_url)
        self._userinfo = urlsplit(config.base_url).netloc.rpartition("@")[0]
        self._next_request_at = 0.0
        #: requests sent and retries made, for tests and benchmarks
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.config.base_url + "/" + path.lstrip("/")

    # ----------------------------------------------------------------------------- sending
    def get_json(
        self, url: str, params: dict[str, Any], *, entity: str, overrides: dict[int, Action] | None = None
    ) -> tuple[requests.Response, Any]:
        """GET a page and decode it; transient failures are retried, others raise SourceError
        (or Ignored, where `overrides` says so)."""
        if _origin(url) != self._origin:
            raise SourceError(
                f"source {self.config.name!r}: the next page is on another server ({safe_url(url)}), "
                f"not {self._origin}; credentials are not sent there: check base_url in {self.where}"
            )
        response = self._send(self._with_userinfo(url), params, entity, overrides)
        try:
            return response, orjson.loads(response.content)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            start = response.text[:60].replace("\n", " ").strip()
            raise SourceError(
                f"source {self.config.name!r}: the answer from {safe_url(url)} is not JSON "
                f"({kind}, starting {start!r}); expected the records of {entity}: check base_url "
                f"in {self.where} and the path of {entity}"
            ) from None

    def write(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool,
    ) -> tuple[requests.Response, Any]:
        """Send a write; return the answer (any status below 500 but 429) and its JSON body
        (None when it has none) for the connector to read the vendor's verdict from.

        Retries: 429 always (the server refused to process it), after its Retry-After; an
        idempotent write (PATCH, PUT, DELETE) also on 5xx, timeouts and lost connections,
        like a read; a POST only when it never left (the connection could not be opened).
        A POST that may have been applied (a 5xx, a timeout after sending) is not sent again:
        SourceError says so, and the record should be read before trying again."""
        retry = self.config.retry
        tries = 0
        while True:
            tries += 1
            self._pace()
            try:
                response = self.session.request(
                    method,
                    self._with_userinfo(url),
                    params={**self.auth.params(), **(params or {})},
                    json=body,
                    headers=self.auth.headers(),
                    timeout=self.config.timeout_seconds,
                    allow_redirects=False,
                )
                self.requests += 1
            except requests.RequestException as exc:
                unsent = isinstance(exc, requests.ConnectTimeout) or (
                    isinstance(exc, requests.ConnectionError)
                    and not isinstance(exc, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError)
                    and "NewConnectionError" in repr(exc)
                )
                failure: int | BaseException = exc
                again = classify(exc).action is Action.RETRY and (idempotent or unsent)
                wait = None
            else:
                if response.status_code == 401 and self.auth.renewable and tries == 1:
                    self.auth.invalidate()
                    continue
                if response.status_code < 500 and response.status_code != 429:
                    try:
                        return response, orjson.loads(response.content) if response.content else None
                    except ValueError:
                        return response, None
                failure = response.status_code
                again = response.status_code == 429 or idempotent
                wait = retry_after(response)
                unsent = response.status_code == 429
            if again and tries < retry.max_tries:
                delay = wait if wait is not None else _backoff(tries, retry.backoff_base, retry.backoff_max)
                if delay <= retry.max_wait:
                    self.retries += 1
                    time.sleep(delay)
                    continue
            what = describe(failure, response.reason if isinstance(failure, int) else "")
            applied = (
                ""
                if idempotent or unsent
                else ("; the write may have been applied: read the record before sending it again")
            )
            tried = f" (tried {tries} times)" if tries > 1 else ""
            raise SourceError(
                f"source {self.config.name!r}: {what} from {method} {safe_url(url)}{applied}{tried}"
            )

    def _send(
        self, url: str, params: dict[str, Any], entity: str, overrides: dict[int, Action] | None
    ) -> requests.Response:
        retry = self.config.retry
        renewed = False
        tries = 0
        while True:
            tries += 1
            self._pace()
            try:
                response = self._get(url, {**self.auth.params(), **params})
            except requests.RequestException as exc:
                rule = classify(exc)
                failure: int | BaseException = exc
                wait = None
                reason = ""
            else:
                reset = quota_reset(response)
                if reset is not None:
                    self._next_request_at = time.monotonic() + min(reset, retry.max_wait)
                if response.ok:
                    return response
                if response.status_code == 401 and self.auth.renewable and not renewed:
                    self.auth.invalidate()  # the token may have been revoked early: once more
                    renewed, tries = True, tries - 1
                    continue
                failure, reason = response.status_code, response.reason or ""
                rule = classify(response.status_code, overrides)
                wait = retry_after(response) if rule.retry_after else None
            if rule.action is Action.IGNORE:
                raise Ignored(url)
            if rule.action is Action.RETRY and tries < retry.max_tries:
                delay = wait if wait is not None else _backoff(tries, retry.backoff_base, retry.backoff_max)
                if delay <= retry.max_wait:
                    self.retries += 1
                    log.info(
                        "%s: %s from %s, try %d of %d in %.1fs",
                        self.config.name,
                        describe(failure, reason),
                        safe_url(url),
                        tries + 1,
                        retry.max_tries,
                        delay,
                    )
                    time.sleep(delay)
                    continue
                detail = f"the server asks to wait {delay:.0f}s, longer than retry.max_wait in {self.where}"
                raise self._error(failure, reason, url, entity, detail)
            tried = f" (tried {tries} times)" if tries > 1 else ""
            raise self._error(failure, reason, url, entity, advice_for(rule, self, entity) + tried)

    def _get(self, url: str, params: dict[str, Any]) -> requests.Response:
        """GET, following redirects within base_url's origin only; a redirect elsewhere is
        refused (custom headers such as `X-API-Key` would go along)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(
                url,
                params=params,
                headers=self.auth.headers(),
                timeout=self.config.timeout_seconds,
                allow_redirects=False,
            )
            self.requests += 1
            if not response.is_redirect:
                return response
            target = urljoin(response.url, response.headers["Location"])
            if _origin(target) != self._origin:
                response.close()
                raise SourceError(
                    f"source {self.config.name!r}: {safe_url(url)} redirects to another server "
                    f"({safe_url(target)}), not {self._origin}; credentials and headers are not sent "
                    f"there: if that server is right, make it the base_url in {self.where}"
                )
            response.close()
            url, params = self._with_userinfo(target), {}
        raise SourceError(
            f"source {self.config.name!r}: more than {MAX_REDIRECTS} redirects from {safe_url(url)}: "
            f"check base_url in {self.where}"
        )

    def _with_userinfo(self, url: str) -> str:
        """A same-origin URL without user info gets base_url's (requests sends it as basic auth)."""
        parts = urlsplit(url)
        if not self._userinfo or "@" in parts.netloc:
            return url
        return urlunsplit(parts._replace(netloc=f"{self._userinfo}@{parts.netloc}"))

    def _error(
        self, failure: int | BaseException, reason: str, url: str, entity: str, detail: str
    ) -> SourceError:
        return SourceError(
            f"source {self.config.name!r}: {describe(failure, reason)} from {safe_url(url)}: {detail}"
        )

    def _pace(self) -> None:
        now = time.monotonic()
        if self._next_request_at > now:
            time.sleep(self._next_request_at - now)
        if self.config.rate_limit:
            self._next_request_at = max(now, self._next_request_at) + 1.0 / self.config.rate_limit

    def _token_request(
        self, url: str, form: dict[str, str] | None, basic: tuple[str, str] | None
    ) -> requests.Response:
        """POST to a token endpoint, with the same timeout and transient retries."""
        retry = self.config.retry
        for tries in range(1, retry.max_tries + 1):
            try:
                response = self.session.post(
                    url,
                    data=form,
                    auth=basic,
                    timeout=self.config.timeout_seconds,
                    headers={"Accept": "application/json"},
                    allow_redirects=False,  # the session's headers must not follow elsewhere
                )
            except requests.RequestException as exc:
                rule = classify(exc)
                if rule.action is not Action.RETRY or tries == retry.max_tries:
                    raise SourceError(
                        f"source {self.config.name!r}: {type(exc).__name__} from the token endpoint "
                        f"{safe_url(url)}: check token_url in {self.where}.auth"
                    ) from None
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                if tries == retry.max_tries:
                    return response
                wait = retry_after(response)
                if wait is not None and wait <= retry.max_wait:
                    time.sleep(wait)
                    continue
            time.sleep(_backoff(tries, retry.backoff_base, retry.backoff_max))
        raise AssertionError("unreachable")


def advice_for(rule: Any, client: HttpClient, entity: str) -> str:
    return advice(
        rule,
        where=client.where,
        entity=f"entities.{entity}",
        timeout=f"{client.config.timeout_seconds:g}",
    )


def _backoff(tries: int, base: float, cap: float) -> float:
    """Full jitter: a random wait up to base·2^(tries-1), at most `cap`."""
    return random.uniform(0, min(cap, base * 2 ** (tries - 1)))


def _origin(url: str) -> str:
    """`scheme://host:port` with the default port filled in and never the user info."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"
