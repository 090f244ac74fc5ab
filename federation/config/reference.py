"""The config reference of the unified model, written from the model itself.

`docs/model.md` is this module's output (`python -m federation.config.reference >
docs/model.md`); a test compares the two, so the reference cannot drift from the code: every
entity, every field a mapping may fill, its type, its default normaliser, what a bad value of
it does by default (`on_invalid`) and its identity rules.
"""

from __future__ import annotations

import sys

from federation.model import TABLES, Table
from transforms.registry import default_transform, output_type

_TYPES = {
    "uuid": "uuid",
    "string": "text",
    "int": "integer",
    "numeric": "number (base currency for money)",
    "boolean": "true/false",
    "date": "date",
    "timestamptz": "timestamp (UTC)",
    "jsonb": "JSON object",
    "string_list": "list of text",
}


def _computed(table: Table) -> list[str]:
    lines = [f"## `{table.name}`", "", table.description or "", ""]
    lines += ["Built by the gateway at each publish; no source maps it.", ""]
    lines += ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {_TYPES[c.type]} | {c.description} |" for c in table.columns]
    relations = [f"`{r.name}` → `{r.target}`" for r in table.relations]
    if relations:
        lines += ["", f"Relationships: {', '.join(relations)}."]
    return [*lines, ""]


def _entity(table: Table) -> list[str]:
    if table.computed:
        return _computed(table)
    lines = [f"## `{table.name}`", "", table.description or "", ""]
    rules = " · then ".join(" + ".join(f"`{f}`" for f in rule) for rule in table.identity)
    if rules:
        lines += [f"Identity (strongest first): {rules}.", ""]
    lines += [
        "| field | type | default normaliser | a bad value | meaning |",
        "|---|---|---|---|---|",
    ]
    identity = {f for rule in table.identity for f in rule}
    references = {r.name: r for r in table.references}
    for name in table.mapped_fields:
        if name in references:
            ref = references[name]
            kind = f"reference to `{ref.target}` by {' or '.join(ref.match_on)}"
            meaning = (
                f"resolved to `{name}_id`; the {ref.target} row whose {' or '.join(ref.match_on)} matches"
            )
        elif name in table.column_names:
            kind = _TYPES[output_type(table.name, name)]
            meaning = table.column(name).description
        else:
            kind = "text"
            meaning = "used to match records (identity); not published"
        bad = "quarantines the row" if name in identity else "is blanked (noted)"
        lines.append(f"| `{name}` | {kind} | `{default_transform(table.name, name)}` | {bad} | {meaning} |")
    gateway = [c.name for c in table.columns if not c.mapped]
    relations = [f"`{r.name}` → `{r.target}`" for r in table.relations]
    lines += ["", f"Set by the gateway: {', '.join(f'`{c}`' for c in gateway)}."]
    if relations:
        lines.append(f"Relationships: {', '.join(relations)}.")
    if table.extras:
        lines.append(f"Also on the type: {', '.join(f'`{e}`' for e in table.extras)}.")
    return [*lines, ""]


def render() -> str:
    out = [
        "# The unified model: every entity and the fields a mapping may fill",
        "",
        "Generated from `federation/model` by `python -m federation.config.reference`; a test",
        "keeps this file and the code in step. A source maps its columns to these fields under",
        "`sources[].entities.<entity>.fields`; a field without `transform:` gets the default",
        "normaliser listed here.",
        "",
        "A value its normaliser cannot read (or its `lookup` does not know) is handled by the",
        "field's `on_invalid`. `blank`: the record is published and merged without that value, and",
        "a quality note keeps the source, record, field, value and reason (GraphQL `quality`,",
        "`quality_summary`, and `quality` on `assets`). `quarantine`: the whole record is held",
        'back with every reason (GraphQL `quarantine`). The default, in the "a bad value" column',
        "below, is `quarantine` for the fields of the entity's identity rules (configured under",
        "`entities.<entity>.identity`, else the model's, listed per entity) and for `required`",
        "fields, and `blank` for every other field: an identity value that cannot be read could be",
        "the one linking the record to its twin in another source, so dropping it silently could",
        "split the thing in two or merge it on a weaker rule. A record without an id is always",
        "quarantined. `assetgraph validate` lists, per source and entity, the fields whose bad",
        "values hold a row back, and warns about an identity field set to `blank`.",
        "",
    ]
    for table in TABLES.values():
        out += _entity(table)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
