"""The problems of a config, one line each, named by path, with secrets masked by position.

Every problem is tied to a position in the parsed tree (document.py). Before it is shown:

- the values *at or under* that position that came from `${ENV}`, or that sit under a
  secret-like key (`password`, `token`, `url`, any key of a source's `auth` but `type`,
  `header` and the like), are masked in its
  message — as whole tokens, so a short password `p` masks `dialects:p` and never the p of
  `endpoint_team`;
- `(got <value>)` is added only where the value is neither of those, and the message does
  not already quote it.

Pydantic's errors are mapped back onto the document (union and validator steps in their
locations are not keys of the file), and knock-on errors are folded into their cause: a
misspelled key is reported once, with the key it probably meant, not also as a missing one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from federation.config.document import Document, Loc

#: keys whose values are never echoed (a URL may carry a password)
SECRET_KEY = re.compile(r"password|passwd|secret|token|api_?key|credential|private|hash|url|dsn", re.I)
#: keys of a source's `auth:` that say how a credential is sent, and are not one
AUTH_SETTINGS = frozenset({"type", "header", "prefix", "query_param", "scope", "token_path", "expires_path"})
#: env values at least this long are also masked in messages about other positions (a
#: shorter one could be masked where it merely occurs by chance: `1` in `sources[1]`)
GLOBAL_MASK_MIN = 8
_MISSING = object()
_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


class ConfigError(Exception):
    """A config that cannot be used. `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid configuration\n{lines}")


def path_of(loc: Loc) -> str:
    """`("sources", 4, "auth", "token")` → `sources[4].auth.token`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def is_secret_position(loc: Loc) -> bool:
    if any(isinstance(p, str) and SECRET_KEY.search(p) for p in loc):
        return True
    # under a source's `auth:` every key is a credential (a misspelled one included) but the
    # few that only say how the credential is sent
    in_auth = len(loc) >= 4 and loc[0] == "sources" and loc[2] == "auth"
    return in_auth and loc[3] not in AUTH_SETTINGS


class Problems:
    """Collects the problems of one document and renders them masked."""

    def __init__(self, document: Document) -> None:
        self.doc = document
        self._lines: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._lines)

    def lines(self) -> list[str]:
        return list(self._lines)

    def raise_if_any(self, source: str) -> None:
        if self._lines:
            raise ConfigError(source, self.lines())

    # -------------------------------------------------------------------- adding
    def add(self, loc: Loc, message: str, *, value: Any = _MISSING) -> None:
        """A problem at `loc`; `value` (when given) is shown as `(got …)` if it may be."""
        message = self._mask(loc, message)
        if value is not _MISSING and self._showable(loc, value) and repr(value) not in message:
            shown = repr(value)
            message += f" (got {shown[:77] + '...' if len(shown) > 80 else shown})"
        self._append(f"{path_of(loc)}: {message}" if loc else message)

    def add_line(self, line: str) -> None:
        """A problem already written as `path: message` (policy and cross checks)."""
        path, sep, message = line.partition(": ")
        loc = self._resolve(path) if sep else ()
        self._append(f"{path}: {self._mask(loc, message)}" if sep else self._mask((), line))

    def add_validation(self, exc: ValidationError, prefix: Loc = ()) -> None:
        """Pydantic's errors, mapped onto the document, folded into their causes, masked."""
        found: dict[Loc, list[dict[str, Any]]] = {}
        for err in exc.errors():
            loc = self._locate((*prefix, *err["loc"]), missing=err["type"] == "missing")
            found.setdefault(loc, []).append(err)
        for extra, meant in _misspellings(found).items():
            found.pop((*extra[:-1], meant), None)  # not also reported as missing
            found[extra] = [{"type": "misspelled", "msg": f"unknown key; did you mean `{meant}`?"}]
        for loc, errors in found.items():
            messages: list[str] = []
            for err in errors:
                msg = str(err["msg"]).removeprefix("Value error, ")
                if msg not in messages:
                    messages.append(msg)
            value = errors[0].get("input", _MISSING)
            if errors[0]["type"] == "missing":
                value = _MISSING
            self.add(loc, "; or ".join(messages), value=value)

    def _append(self, line: str) -> None:
        if line not in self._lines:
            self._lines.append(line)

    # -------------------------------------------------------------------- positions
    def _locate(self, loc: tuple[Any, ...], *, missing: bool = False) -> Loc:
        """A pydantic location → the position in the document. Steps that are not keys of
        the document (union members, tagged-union tags, validators) are skipped, except the
        last step of a `missing` error: the key that is missing."""
        node: Any = self.doc.data
        out: list[str | int] = []
        for i, part in enumerate(loc):
            if _has(node, part):
                out.append(part)
                node = node[part]
            elif missing and i == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str):
                out.append(part)
                node = _MISSING
        return tuple(out)

    def _resolve(self, path: str) -> Loc:
        """`sources[2].url` → its position; the deepest part of it that exists (masking
        under an ancestor hides more, never less)."""
        node: Any = self.doc.data
        loc: list[str | int] = []
        for match in _PATH_PART.finditer(path):
            part: str | int = int(match.group(1)) if match.group(1) is not None else match.group(2)
            if not _has(node, part):
                break
            node = node[part]
            loc.append(part)
        return tuple(loc)

    def _secrets_under(self, loc: Loc) -> list[str]:
        """The values at or under `loc` that must not be shown (and long environment values
        wherever they are), longest first."""
        found: set[str] = set()
        for where, values in self.doc.env_values.items():
            if where[: len(loc)] == loc:
                found.update(values)
            elif len(values[0]) >= GLOBAL_MASK_MIN:
                found.add(values[0])
        try:
            node = self.doc.at(loc)
        except (KeyError, IndexError, TypeError):
            node = _MISSING
        found.update(_secret_strings(node, loc))
        return sorted((s for s in found if s), key=len, reverse=True)

    def _showable(self, loc: Loc, value: Any) -> bool:
        if is_secret_position(loc) or loc in self.doc.env_values:
            return False
        return not isinstance(value, dict | list) and value is not _MISSING

    def _mask(self, loc: Loc, message: str) -> str:
        for secret in self._secrets_under(loc):
            message = message.replace(repr(secret), "(hidden)")
            message = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", message)
        return message


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _misspellings(found: dict[Loc, list[dict[str, Any]]]) -> dict[Loc, str]:
    """Extra keys beside missing ones in the same mapping are misspellings of them:
    {position of the extra key: the missing key it probably meant}."""
    missing: dict[Loc, list[str]] = {}
    for loc, errors in found.items():
        if loc and any(e["type"] == "missing" for e in errors):
            missing.setdefault(loc[:-1], []).append(str(loc[-1]))
    out: dict[Loc, str] = {}
    for loc, errors in found.items():
        if not loc or not any(e["type"] == "extra_forbidden" for e in errors):
            continue
        candidates = [m for m in missing.get(loc[:-1], []) if m not in out.values()]
        guess = difflib.get_close_matches(str(loc[-1]), candidates, n=1, cutoff=0.5)
        if guess or len(candidates) == 1:
            out[loc] = (guess or candidates)[0]
    return out


def _secret_strings(node: Any, loc: Loc) -> Iterable[str]:
    """Strings at or under `node` (at `loc`) that sit under a secret-like key."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _secret_strings(v, (*loc, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _secret_strings(v, (*loc, i))
    elif isinstance(node, str) and is_secret_position(loc):
        yield node
