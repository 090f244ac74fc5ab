"""Finding the assets a desk names: by id, tag or serial, or by the text of a scan (a barcode
or QR code: a tag, a serial, or a URL that ends in one).

    ids = find_assets(snapshot, [{"scan": "https://assets.example.com/hardware/A-00042"}])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

from federation.pipeline.store import Snapshot
from federation.writes.errors import WriteError

#: what a scan may be: a tag or serial, or a URL whose last path segment (or `tag`/`serial`
#: query value) is one
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_QUERY_KEYS = ("asset_tag", "tag", "serial", "serial_number", "id")


def scanned_value(scan: str) -> str:
    """The tag, serial or id a barcode or QR code holds (`https://…/hardware/A-00042` → A-00042)."""
    text = scan.strip()
    if not _URL.match(text):
        return text
    url = urlparse(text)
    query = dict(part.split("=", 1) for part in url.query.split("&") if "=" in part)
    for key in _QUERY_KEYS:
        if query.get(key):
            return unquote(query[key]).strip()
    segments = [s for s in url.path.split("/") if s]
    if not segments:
        raise WriteError("BAD_USER_INPUT", f"scan {scan!r}: a URL with no tag or serial in it", scan=scan)
    return unquote(segments[-1]).strip()


def find_assets(snapshot: Snapshot, refs: Sequence[Mapping[str, Any]]) -> list[str | WriteError]:
    """The id of the asset each `AssetRef` names (or why not): exactly one of `id`,
    `asset_tag`, `serial_number`, `scan` (a scan also matches a source's own record id, as
    Snipe-IT's QR codes carry); one query per way of naming, whatever the number of refs."""
    named: list[tuple[str, str] | WriteError] = []
    for ref in refs:
        given = {k: v for k, v in ref.items() if v not in (None, "")}
        if len(given) != 1:
            named.append(
                WriteError(
                    "BAD_USER_INPUT",
                    "name the asset by one of id, asset_tag, serial_number or scan",
                    asset=dict(ref),
                )
            )
            continue
        ((how, value),) = given.items()
        try:
            named.append((how, scanned_value(str(value)) if how == "scan" else str(value).strip()))
        except WriteError as exc:
            named.append(exc)
    matches: dict[tuple[str, str], list[str]] = {}
    for how in dict.fromkeys(n[0] for n in named if isinstance(n, tuple)):
        texts = list(dict.fromkeys(t for h, t in (n for n in named if isinstance(n, tuple)) if h == how))
        matches |= {(how, t): ids for t, ids in _matching(snapshot, how, texts).items()}
    out: list[str | WriteError] = []
    for n in named:
        if isinstance(n, WriteError):
            out.append(n)
            continue
        how, text = n
        found = matches.get((how, text), [])
        if not found:
            out.append(WriteError("BAD_USER_INPUT", f"no asset has {how} {text!r}", asset=text))
        elif len(set(found)) > 1:
            message = f"{text!r} names {len(set(found))} assets; name it by id"
            out.append(WriteError("BAD_USER_INPUT", message, asset=text))
        else:
            out.append(found[0])
    return out


def _matching(snapshot: Snapshot, how: str, texts: list[str]) -> dict[str, list[str]]:
    """text → the ids of the assets it names, `how` (id, asset_tag, serial_number, scan: a
    tag or a serial, else a source's own record id), case aside."""
    asked = "(SELECT unnest(?::VARCHAR[]) AS text) AS s"
    if how == "id":
        selects = [f"SELECT s.text, a.id FROM {asked} JOIN assets a ON a.id = s.text"]
    else:
        columns = {"asset_tag": ["asset_tag"], "serial_number": ["serial_number"]}.get(
            how, ["asset_tag", "serial_number"]
        )
        # one equi-join per column (a hash join each), not an OR the planner loops over
        selects = [
            f'SELECT s.text, a.id FROM {asked} JOIN assets a ON lower(a."{c}") = lower(s.text)'
            for c in columns
        ]
    out: dict[str, list[str]] = {}
    rows = snapshot.query(" UNION ALL ".join(selects) + " ORDER BY ALL", [texts] * len(selects))
    for text, entity_id in rows:
        out.setdefault(text, []).append(entity_id)
    missing = [t for t in texts if t not in out]
    if how == "scan" and missing:
        for text, entity_id in snapshot.query(
            "SELECT DISTINCT record_id, entity_id FROM record_sources "
            "WHERE entity = 'assets' AND record_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY ALL",
            [missing],
        ):
            out.setdefault(text, []).append(entity_id)
    return out
