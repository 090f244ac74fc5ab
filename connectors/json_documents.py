"""JSON and NDJSON files to parsed documents, with the reason a file cannot be read, and
the JMESPath expressions that pick values out of them.

Text is decoded here: a byte order mark decides (UTF-8, UTF-16 or UTF-32, as Windows tools
write), else strict UTF-8, as JSON requires. Parsing is orjson's. NDJSON holds one document
per non-blank line; a `.json` file that fails as one document but reads as one document a
line (`mongoexport`, log shippers) is read as NDJSON when the format is `auto`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import jmespath
import orjson
from jmespath.exceptions import JMESPathError

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose mark it starts with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class FileProblem(Exception):
    """Why one file cannot be read: said to people with the file's path in front."""


def kind_of(value: Any) -> str:
    """What a JSON value is, for messages: `a string`, `a list`, `null`."""
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object"}  # fmt: skip
    return "null" if value is None else names.get(type(value), type(value).__name__)


def decode(data: bytes, encoding: str = "auto") -> str:
    if encoding == "auto":
        encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"not {encoding} text (byte 0x{data[exc.start]:02x} on line {line}); set `encoding` "
            "to the file's encoding"
        ) from None
    except LookupError:
        raise FileProblem(f"unknown encoding {encoding!r}") from None


def _json(text: str, line: int | None = None) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        where = f"line {line}" if line is not None else f"line {exc.lineno}, column {exc.colno}"
        raise FileProblem(f"not valid JSON at {where}: {exc.msg}") from None


def _lines(text: str) -> Iterator[Any]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield _json(line, number)


def parse_documents(
    path: Path, format: Literal["auto", "json", "ndjson"] = "auto", encoding: str = "auto"
) -> Iterator[Any]:
    """The documents of one file, in order. Raises FileProblem (or OSError)."""
    text = decode(path.read_bytes(), encoding)
    if not text.strip():
        raise FileProblem("the file is empty")
    if format == "ndjson" or (format == "auto" and path.suffix.lower() in NDJSON_SUFFIXES):
        yield from _lines(text)
        return
    try:
        document = _json(text)
    except FileProblem as problem:
        one_line = text.strip().count("\n") == 0
        if format == "json" or one_line or text.lstrip().startswith("["):
            raise
        documents = _lines(text)
        try:
            first = next(documents)
        except FileProblem:
            raise problem from None  # not one document a line either: the first error stands
        yield first
        yield from documents  # one document a line: a later bad line is reported as such
        return
    yield document


class Expression:
    """A compiled JMESPath expression. Plain key paths (`content.bios.ssn`, most mappings)
    are walked directly along jmespath's own parse tree, with its semantics (a missing key,
    or a key of a non-object, is null); anything else is evaluated by jmespath."""

    def __init__(self, text: str, where: str = "expression") -> None:
        self.text = text
        try:
            self.parsed = jmespath.compile(text)
        except JMESPathError as exc:
            detail = " ".join(str(exc).split())
            raise ValueError(f"{where}: {text!r} is not a JMESPath expression ({detail})") from None
        self.keys = _keys(self.parsed.parsed)

    def search(self, value: Any) -> Any:
        if self.keys is None:
            try:
                return self.parsed.search(value)
            except JMESPathError as exc:  # a function given the wrong type: `contains(null, …)`
                detail = " ".join(str(exc).split())
                raise FileProblem(f"the expression {self.text!r} fails on a record ({detail})") from None
        for key in self.keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value


def _keys(node: dict[str, Any]) -> tuple[str, ...] | None:
    """The keys of a parse tree made only of fields (`a.b.c`); None for anything else."""
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] != "subexpression":
        return None
    keys: tuple[str, ...] = ()
    for child in node["children"]:
        more = _keys(child)
        if more is None:
            return None
        keys += more
    return keys
