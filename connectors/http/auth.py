"""Auth by name: each kind turns its config into the headers (or query parameters) of a request.

Token-issuing kinds (OAuth2 client credentials, token exchange) fetch a token on first use,
keep it until shortly before it expires, and fetch a new one once when a request answers 401.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from connectors.base import SourceError
from connectors.http.config import (
    ApiKeyAuth,
    AuthConfig,
    BasicAuth,
    BearerAuth,
    OAuth2ClientCredentials,
    TokenExchange,
)
from connectors.http.errors import safe_url
from connectors.http.records import at_path, missing

#: a token is renewed this many seconds before the expiry the server gave
EXPIRY_MARGIN = 30.0


class Auth:
    #: True where a 401 may be cured by fetching a new token
    renewable = False

    def headers(self) -> dict[str, str]:
        return {}

    def params(self) -> dict[str, str]:
        return {}

    def invalidate(self) -> None:
        """Forget a cached token (after a 401)."""


class NoAuth(Auth):
    pass


class StaticHeader(Auth):
    def __init__(self, header: str, value: str, query_param: str | None = None) -> None:
        self._header, self._value, self._query = header, value, query_param

    def headers(self) -> dict[str, str]:
        return {} if self._query else {self._header: self._value}

    def params(self) -> dict[str, str]:
        return {self._query: self._value} if self._query else {}


#: (token url, form or None, basic credentials or None) → the token request's answer
TokenRequest = Callable[[str, dict[str, str] | None, tuple[str, str] | None], requests.Response]


class IssuedToken(Auth):
    """A bearer token obtained from a token endpoint and cached until it expires."""

    renewable = True

    def __init__(self, fetch: TokenRequest, where: str) -> None:
        self._fetch = fetch
        self._where = where
        self._token: str | None = None
        self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._expires_at:
            self._token, lifetime = self._issue()
            self._expires_at = time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN)
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        self._token = None

    def _issue(self) -> tuple[str, float]:
        raise NotImplementedError

    def _answer(self, url: str, form: dict[str, str] | None, basic: tuple[str, str] | None) -> dict[str, Any]:
        response = self._fetch(url, form, basic)
        where = f"the token endpoint {safe_url(url)}"
        if response.status_code in (400, 401, 403):
            raise SourceError(
                f"{response.status_code} {response.reason} from {where}: "
                f"check the credentials in {self._where}.auth"
            )
        if response.is_redirect:
            target = safe_url(response.headers.get("Location", ""))
            raise SourceError(
                f"{where} redirects to {target}; credentials are not sent after a redirect: "
                f"set token_url in {self._where}.auth to the address that answers"
            )
        if not response.ok:
            raise SourceError(f"{response.status_code} {response.reason} from {where}: try again later")
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"{where} did not answer JSON: check token_url in {self._where}.auth") from None
        if not isinstance(body, dict):
            raise SourceError(f"{where} did not answer a JSON object: check token_url in {self._where}.auth")
        return body


class ClientCredentials(IssuedToken):
    def __init__(self, config: OAuth2ClientCredentials, fetch: TokenRequest, where: str) -> None:
        super().__init__(fetch, where)
        self.config = config

    def _issue(self) -> tuple[str, float]:
        c = self.config
        form = {
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
        }
        if c.scope:
            form["scope"] = c.scope
        form.update(c.extra)
        body = self._answer(c.token_url, form, None)
        token = body.get("access_token")
        if not isinstance(token, str):
            raise SourceError(f"the token endpoint answered without access_token: check {self._where}.auth")
        return token, float(body.get("expires_in") or 3600)


class ExchangedToken(IssuedToken):
    def __init__(self, config: TokenExchange, base_url: str, fetch: TokenRequest, where: str) -> None:
        super().__init__(fetch, where)
        self.config = config
        url = config.token_url
        self.url = url if url.startswith(("http://", "https://")) else base_url + "/" + url.lstrip("/")

    def _issue(self) -> tuple[str, float]:
        c = self.config
        body = self._answer(self.url, None, (c.username, c.password))
        token = at_path(body, c.token_path)
        if missing(token) or not isinstance(token, str):
            raise SourceError(
                f"the token endpoint answered without {c.token_path!r}: check {self._where}.auth"
            )
        expires = None if c.expires_path is None else at_path(body, c.expires_path)
        return token, _lifetime(expires)


def _lifetime(expires: Any) -> float:
    """Seconds until `expires` (an ISO time or a number of seconds); 20 minutes if unknown."""
    if isinstance(expires, int | float) and not isinstance(expires, bool):
        return float(expires)
    if isinstance(expires, str):
        try:
            moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            return 1200.0
        if moment.tzinfo is not None:
            return moment.timestamp() - time.time()
    return 1200.0


def make_auth(config: AuthConfig | None, base_url: str, fetch: TokenRequest, where: str) -> Auth:
    """The runtime auth for a source's `auth:` config."""
    if config is None:
        return NoAuth()
    if isinstance(config, BearerAuth):
        return StaticHeader("Authorization", f"Bearer {config.token}")
    if isinstance(config, BasicAuth):
        pair = base64.b64encode(f"{config.username}:{config.password}".encode()).decode("ascii")
        return StaticHeader("Authorization", f"Basic {pair}")
    if isinstance(config, ApiKeyAuth):
        value = f"{config.prefix} {config.token}" if config.prefix else config.token
        return StaticHeader(config.header, value, config.query_param)
    if isinstance(config, OAuth2ClientCredentials):
        return ClientCredentials(config, fetch, where)
    if isinstance(config, TokenExchange):
        return ExchangedToken(config, base_url, fetch, where)
    raise TypeError(f"no auth for {type(config).__name__}")
