"""The GraphiQL page, served from the package: pinned GraphiQL, React and ReactDOM builds
(static/graphiql/, re-fetched by scripts/fetch_graphiql.py), no CDN, no inline script.

The page is sent with a Content-Security-Policy (scripts from this origin only, no framing),
`X-Frame-Options: DENY` and `nosniff`; each script and style carries its SRI hash, and the
assets are served at `/graphiql/<name>?v=<hash>` with a year-long immutable cache.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from federation.serving.http import ORJSONResponse, error_body

#: URL prefix of the assets
ASSET_PREFIX = "/graphiql/"
_SCRIPTS = (
    "react-18.3.1.production.min.js",
    "react-dom-18.3.1.production.min.js",
    "graphiql-3.8.3.min.js",
    "assetgraph-graphiql.js",
)
_STYLES = ("graphiql-3.8.3.min.css", "assetgraph-graphiql.css")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
#: GraphiQL's styling library (emotion) inserts <style> elements: styles need 'unsafe-inline';
#: scripts do not (none is inline), fonts and icons are data: URIs in the stylesheet
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}
ASSET_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    integrity: str  # sha384-…, for the page's integrity attributes
    version: str  # a prefix of its SHA-256: the ?v= of its URL

    @property
    def url(self) -> str:
        return f"{ASSET_PREFIX}{self.name}?v={self.version}"


@cache
def assets() -> dict[str, Asset]:
    folder = files("federation.serving").joinpath("static", "graphiql")
    out = {}
    for name in (*_SCRIPTS, *_STYLES):
        body = folder.joinpath(name).read_bytes()
        integrity = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
        out[name] = Asset(name, body, integrity, hashlib.sha256(body).hexdigest()[:16])
    return out


def graphiql_html() -> str:
    found = assets()
    styles = "\n".join(
        f'    <link rel="stylesheet" href="{escape(found[n].url)}" integrity="{found[n].integrity}">'
        for n in _STYLES
    )
    scripts = "\n".join(
        f'    <script src="{escape(found[n].url)}" integrity="{found[n].integrity}"></script>'
        for n in _SCRIPTS
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>assetgraph · GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
  </head>
  <body>
    <div id="graphiql">Loading…</div>
{scripts}
  </body>
</html>
"""


def graphiql_response(html: str) -> Response:
    return HTMLResponse(html, headers=PAGE_HEADERS)


async def graphiql_asset(request: Request) -> Response:
    """GET /graphiql/{name}: one of the page's pinned files, cached for a year."""
    asset = assets().get(request.path_params["name"])
    if asset is None:
        return ORJSONResponse(error_body("no such GraphiQL asset", "NOT_FOUND"), 404)
    media_type = _TYPES[asset.name[asset.name.rindex(".") :]]
    return Response(
        asset.body,
        media_type=media_type,
        headers={"cache-control": ASSET_CACHE, "x-content-type-options": "nosniff"},
    )
