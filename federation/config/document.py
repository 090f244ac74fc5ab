"""config.yaml as read: YAML with no key given twice, `${ENV}` references substituted, and a
record of where each value from the environment sits in the tree.

Where a value sits is its *position*: the keys and list indexes leading to it, e.g.
`("sources", 4, "auth", "token")`. Errors are later masked by position (problems.py): a
value is hidden because of where it is, never because its text happens to occur in a message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

#: a position in the parsed tree: mapping keys and list indexes
Loc = tuple[str | int, ...]

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that gives a key twice: YAML keeps the last
    one silently, so a pasted second `auth:` would replace the first without a word."""

    duplicates: list[str]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` overrides on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            if first is not key_node:
                mark = key_node.start_mark
                self.duplicates.append(
                    f"line {mark.line + 1}, column {mark.column + 1}: the key {key!r} is given twice "
                    f"in one mapping (first at line {first.start_mark.line + 1}); YAML would keep "
                    "only the second: merge them or remove one"
                )
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str) -> tuple[Any, list[str]]:
    """Parse YAML text: (document, problems). A duplicate key is a problem; a syntax error
    raises yaml.YAMLError."""
    loader = _UniqueKeyLoader(text)
    loader.duplicates = []
    try:
        return loader.get_single_data(), loader.duplicates
    finally:
        loader.dispose()


@dataclass
class Document:
    """The config tree after `${ENV}` substitution."""

    data: Any
    #: position → what came from the environment there: the whole substituted value first,
    #: then each variable's own value (a password inside a URL, say)
    env_values: dict[Loc, list[str]] = field(default_factory=dict)
    #: (position, message) for references to variables that are not set
    unset: list[tuple[Loc, str]] = field(default_factory=list)

    def at(self, loc: Loc) -> Any:
        """The value at a position (KeyError/IndexError/TypeError when there is none)."""
        node = self.data
        for part in loc:
            node = node[part]
        return node


def substitute_env(raw: Any) -> Document:
    """Replace `${VAR}` / `${VAR:-default}` in every string, remembering the positions."""
    doc = Document(data=None)
    doc.data = _substitute(raw, (), doc)
    return doc


def _substitute(node: Any, loc: Loc, doc: Document) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, (*loc, k), doc) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, (*loc, i), doc) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node
    pieces: list[str] = []

    def value_of(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1), match.group(2))
        if value is None:
            doc.unset.append((loc, f"environment variable {match.group(1)} is not set"))
            return ""
        pieces.append(value)
        return value

    value = ENV_REF.sub(value_of, node)
    doc.env_values[loc] = [value, *pieces]
    return value
