"""The building blocks of an HTTP source, as config models: auth, paginator, retry, streams.

Auth and paginators are chosen by name (`type:`); a bare string is short for `{type: name}`
(`paginator: odata`). An unknown name is refused with the list of known ones.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.base import SourceConfig, StreamConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------- auth
class BearerAuth(_Strict):
    type: Literal["bearer"]
    token: str = Field(repr=False)


class BasicAuth(_Strict):
    type: Literal["basic"]
    username: str
    password: str = Field(repr=False)


class ApiKeyAuth(_Strict):
    """A key in a header (`Authorization: SSWS <key>`, `Authorization: Token <key>`) or in
    the query string."""

    type: Literal["api_key"]
    token: str = Field(alias="key", repr=False)
    header: str = "Authorization"
    #: written before the key with one space: `SSWS`, `Token`
    prefix: str | None = None
    #: set to send the key as this query parameter instead of a header
    query_param: str | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OAuth2ClientCredentials(_Strict):
    """OAuth2 client credentials grant; the token is cached until shortly before it expires
    and fetched again once when a request answers 401."""

    type: Literal["oauth2_client_credentials"]
    token_url: str
    client_id: str
    client_secret: str = Field(repr=False)
    scope: str | None = None
    #: extra form fields for the token request (`audience`, `resource`)
    extra: dict[str, str] = Field(default_factory=dict)


class TokenExchange(_Strict):
    """Basic credentials exchanged for a bearer token (Jamf Pro `POST /api/v1/auth/token`);
    the token is reused until it expires, then exchanged again."""

    type: Literal["token_exchange"]
    #: absolute, or relative to the source's base_url
    token_url: str = "/api/v1/auth/token"
    username: str
    password: str = Field(repr=False)
    #: where the answer holds the token and its expiry (ISO time or seconds)
    token_path: str = "token"
    expires_path: str | None = "expires"


AuthConfig = Annotated[
    BearerAuth | BasicAuth | ApiKeyAuth | OAuth2ClientCredentials | TokenExchange,
    Field(discriminator="type"),
]
AUTH_TYPES = ("bearer", "basic", "api_key", "oauth2_client_credentials", "token_exchange")


# ------------------------------------------------------------------------------- paginators
class SinglePage(_Strict):
    type: Literal["single"]


class OffsetPaginator(_Strict):
    """`limit`/`offset` parameters; stops on a short page or when the total is reached
    (`total_path` in the body, e.g. Snipe-IT's `{total, rows}`, or `total_header`)."""

    type: Literal["offset"]
    limit: int = Field(default=100, ge=1)
    limit_param: str = "limit"
    offset_param: str = "offset"
    total_path: str | None = None
    total_header: str | None = None


class PageNumberPaginator(_Strict):
    """`page` and `page-size` parameters (Jamf Pro); stops on a short page or at `total_path`."""

    type: Literal["page_number"]
    page_param: str = "page"
    size_param: str = "page-size"
    size: int = Field(default=100, ge=1)
    first_page: int = 0
    total_path: str | None = None


class CursorPaginator(_Strict):
    """The next page's token in the body (Google's `nextPageToken` → `pageToken`)."""

    type: Literal["cursor"]
    cursor_path: str = "nextPageToken"
    cursor_param: str = "pageToken"
    #: a page size parameter sent with every request (`maxResults: 100`)
    size_param: str | None = None
    size: int | None = None


class LinkHeaderPaginator(_Strict):
    """`Link: <…>; rel="next"` headers (Okta, ServiceNow, GitHub)."""

    type: Literal["link_header"]
    size_param: str | None = None
    size: int | None = None


class ODataPaginator(_Strict):
    """`@odata.nextLink` in the body (Microsoft Graph)."""

    type: Literal["odata"]
    next_path: str = "@odata.nextLink"


class JsonLinkPaginator(_Strict):
    """The next page's URL in the body (NetBox and Django REST framework: `next`)."""

    type: Literal["json_link"]
    next_path: str = "next"
    size_param: str | None = None
    size: int | None = None


PaginatorConfig = Annotated[
    SinglePage
    | OffsetPaginator
    | PageNumberPaginator
    | CursorPaginator
    | LinkHeaderPaginator
    | ODataPaginator
    | JsonLinkPaginator,
    Field(discriminator="type"),
]
PAGINATOR_TYPES = ("offset", "page_number", "cursor", "link_header", "odata", "json_link", "single")


def _by_name(value: Any, names: tuple[str, ...], what: str) -> Any:
    """`odata` → `{type: odata}`; an unknown or missing `type` names the known ones."""
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, dict):
        kind = value.get("type")
        if kind not in names:
            got = f"unknown {what} {kind!r}" if kind is not None else f"{what} without `type`"
            raise ValueError(f"{got}; expected one of {', '.join(names)}")
    return value


# ---------------------------------------------------------------------------- retry, limits
class RetryConfig(_Strict):
    """Transient failures (429, 5xx, connection errors, timeouts) are tried again."""

    #: tries per request, the first included
    max_tries: int = Field(default=5, ge=1)
    #: the first backoff in seconds; doubled each try, with full jitter
    backoff_base: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    #: the longest Retry-After (or rate-limit reset) honoured, in seconds; a longer one fails
    max_wait: float = Field(default=120.0, ge=0)


class ForEach(_Strict):
    """Read a stream once per parent record (`/licenses/{id}/seats`) or per listed value.
    Parent fields (flattened, `{profile.email}`) fill the path's `{…}` placeholders and
    arrive in the child's rows as `parent.<field>` columns."""

    path: str | None = None
    records: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: instead of a path: the parents themselves (`[{productId: Google-Apps}]`)
    values: list[dict[str, Any]] | None = None
    #: a child answering 404 (the parent went away between pages) is skipped
    skip_missing: bool = True

    @model_validator(mode="after")
    def _path_or_values(self) -> ForEach:
        if (self.path is None) == (self.values is None):
            raise ValueError("give exactly one of `path` or `values`")
        return self


class Incremental(_Strict):
    """How a later read asks the server for records changed after the cursor. `{cursor}` in
    a value is replaced by the cursor (`sysparm_query: sys_updated_on>{cursor}`)."""

    params: dict[str, Any] = Field(default_factory=dict)
    #: a cursor used on full reads, so a full read sends the same query (Okta: only a
    #: `search` returns DEPROVISIONED users)
    initial: str | None = None


class HttpStream(StreamConfig):
    #: relative to base_url (or absolute); `{…}` placeholders come from `for_each`
    path: str
    #: where the records are in the answer: `rows`, `result`, `value`, `data.items`;
    #: empty for an answer that is the list itself
    records: str = ""
    #: an answer without the records path is an empty page (Google omits empty `items`)
    records_optional: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    #: overrides the source's paginator
    paginator: PaginatorConfig | None = None
    incremental: Incremental | None = None
    for_each: ForEach | None = None
    #: records without a value in any of these columns are skipped (a free license seat)
    skip_without: list[str] = Field(default_factory=list)
    #: records per batch handed to the sync (pages are gathered up to this)
    batch_size: int = Field(default=5000, ge=1)

    @field_validator("paginator", mode="before")
    @classmethod
    def _paginator(cls, value: Any) -> Any:
        return None if value is None else _by_name(value, PAGINATOR_TYPES, "paginator")


class HttpSourceConfig(SourceConfig):
    """What every HTTP source has; `kind: rest` is exactly this, presets fill defaults."""

    base_url: str = Field(pattern=r"^https?://")
    auth: AuthConfig | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    #: query parameters sent with every request
    params: dict[str, Any] = Field(default_factory=dict)
    paginator: PaginatorConfig = Field(default_factory=lambda: SinglePage(type="single"))
    retry: RetryConfig = Field(default_factory=RetryConfig)
    #: requests per second at most (None: as fast as the server answers)
    rate_limit: float | None = Field(default=None, gt=0)
    #: a read stops with an error past these (a paginator that never ends, a runaway source)
    max_pages: int = Field(default=10_000, ge=1)
    max_records: int = Field(default=5_000_000, ge=1)
    verify_tls: bool = True
    entities: dict[str, HttpStream]  # type: ignore[assignment]
    #: query parameters a stream's own value and its incremental value are joined in, with
    #: this separator (ServiceNow: `sysparm_query` conditions joined by `^`); any other
    #: parameter set in both is a config error, as the incremental value would replace it
    combine_params: ClassVar[dict[str, str]] = {}

    @field_validator("paginator", mode="before")
    @classmethod
    def _paginator(cls, value: Any) -> Any:
        return _by_name(value, PAGINATOR_TYPES, "paginator")

    @model_validator(mode="after")
    def _no_param_clash(self) -> HttpSourceConfig:
        for entity, stream in self.entities.items():
            if stream.incremental is None:
                continue
            for key, value in stream.incremental.params.items():
                if key in self.combine_params or value == stream.params.get(key, self.params.get(key)):
                    continue
                where = (
                    f"entities.{entity}.params.{key}"
                    if key in stream.params
                    else f"params.{key}"
                    if key in self.params
                    else None
                )
                if where is not None:
                    raise ValueError(
                        f"{where} and entities.{entity}.incremental.params.{key} both set the query "
                        f"parameter {key!r}; the incremental value would replace yours on later reads: "
                        f"keep one (put your condition into incremental.params.{key} if the API "
                        "combines them)"
                    )
        return self

    @field_validator("auth", mode="before")
    @classmethod
    def _auth(cls, value: Any) -> Any:
        return None if value is None else _by_name(value, AUTH_TYPES, "auth type")

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def timeout_seconds(self) -> float:
        return max(0.001, self.timeout.total_seconds())


__all__ = [
    "AUTH_TYPES",
    "PAGINATOR_TYPES",
    "AuthConfig",
    "ForEach",
    "HttpSourceConfig",
    "HttpStream",
    "Incremental",
    "PaginatorConfig",
    "RetryConfig",
]
