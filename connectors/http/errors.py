"""One table classifies every HTTP failure: retry it, fail the source, or ignore the page.

Only transient failures are retried: 429 and 503 after the server's `Retry-After`, other
5xx, connection errors and timeouts after an exponential backoff with full jitter. The rest
fail the source at once with a message that says what to check. Messages name the URL
without its query string (it may carry a key) and never a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import requests


class Action(Enum):
    RETRY = "retry"
    FAIL = "fail"
    IGNORE = "ignore"


@dataclass(frozen=True)
class Rule:
    action: Action
    #: what went wrong and what to do; `{where}` is the source's config path, `{url}` the URL
    advice: str
    #: wait as long as the server's Retry-After says (else: exponential backoff)
    retry_after: bool = False


_CREDENTIALS = "check the credentials in {where}.auth"
#: status code (or exception class) → what to do. Statuses not listed: 5xx retry, 4xx fail.
RULES: dict[int | type[BaseException], Rule] = {
    400: Rule(Action.FAIL, "the server refused the request: check the params and the path of {entity}"),
    401: Rule(Action.FAIL, f"{_CREDENTIALS} (wrong, expired or revoked)"),
    403: Rule(
        Action.FAIL,
        "the credentials are valid but may not read this: grant them read access, or " + _CREDENTIALS,
    ),
    404: Rule(Action.FAIL, "not found: check base_url in {where} and the path of {entity}"),
    405: Rule(Action.FAIL, "method not allowed: check the path of {entity}"),
    408: Rule(Action.RETRY, "the server timed out waiting for the request"),
    429: Rule(Action.RETRY, "rate limited: lower rate_limit in {where} or sync less often", True),
    500: Rule(Action.RETRY, "the server failed; it kept failing, so try again later"),
    502: Rule(Action.RETRY, "a gateway in front of the server failed; try again later"),
    503: Rule(Action.RETRY, "the server is unavailable; try again later", True),
    504: Rule(Action.RETRY, "a gateway in front of the server timed out; try again later"),
    requests.ConnectTimeout: Rule(
        Action.RETRY, "cannot connect within the timeout: check base_url in {where}"
    ),
    requests.ReadTimeout: Rule(
        Action.RETRY, "no answer within {timeout}s: raise timeout in {where} or ask for smaller pages"
    ),
    requests.ConnectionError: Rule(
        Action.RETRY, "cannot connect: is base_url in {where} right, and is the server up?"
    ),
    requests.exceptions.ChunkedEncodingError: Rule(Action.RETRY, "the answer was cut off; try again later"),
    requests.exceptions.InvalidURL: Rule(Action.FAIL, "the URL is not valid: check base_url in {where}"),
    requests.exceptions.SSLError: Rule(
        Action.FAIL,
        "the TLS certificate was refused: check base_url, or set verify_tls: false for a test server",
    ),
}


def classify(failure: int | BaseException, overrides: dict[int, Action] | None = None) -> Rule:
    """The rule for a status code or an exception raised by requests."""
    if isinstance(failure, int):
        rule = RULES.get(failure)
        if rule is None:
            retry = failure >= 500
            rule = Rule(Action.RETRY if retry else Action.FAIL, "the server refused the request")
        if overrides and failure in overrides:
            rule = Rule(overrides[failure], rule.advice, rule.retry_after)
        return rule
    for cls in type(failure).__mro__:
        if cls in RULES:
            return RULES[cls]
    return Rule(Action.FAIL, "the request failed: " + type(failure).__name__)


def describe(failure: int | BaseException, reason: str = "") -> str:
    """`401 Unauthorized` or `ReadTimeout`."""
    if isinstance(failure, int):
        return f"{failure} {reason}".strip()
    return type(failure).__name__


def safe_url(url: str) -> str:
    """The URL without query string or user info: either may hold a secret."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = base.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def advice(rule: Rule, **context: Any) -> str:
    return rule.advice.format(**context)
