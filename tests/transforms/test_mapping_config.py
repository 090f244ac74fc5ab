"""The mapping language is checked at load (`assetgraph validate`): each mistake is refused
with the path of the bad key and what was expected — and the README's example is real."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from federation.config.settings import ConfigError, parse_config
from federation.serving.cli import main
from transforms.context import TransformContext
from transforms.mapping import map_stream

README = Path(__file__).resolve().parents[2] / "README.md"
FIELDS = "sources[0].entities.assets.fields"
FIELD = f"{FIELDS}.hostname"


def _config(fields: dict[str, Any]) -> dict[str, Any]:
    source = {
        "name": "inventory",
        "kind": "spreadsheet",
        "path": "inventory.csv",
        "entities": {"assets": {"id": "ID", "fields": fields}},
    }
    return {"sources": [source]}


def _problems(fields: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(_config(fields), source="config.yaml")
    return raised.value.problems


def _hostname(**mapping: Any) -> dict[str, Any]:
    return {"hostname": {"column": "Name", **mapping}, "category": "Category"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            _hostname(when={"column": "Category"}),
            f"{FIELD}.when: a condition is {{column: NAME}} or {{field: NAME}} with one test (eq, in,"
            " matches, is_empty), or one of {not: COND}, {any: [COND, ...]}, {all: [COND, ...]};"
            " got column",
            id="when-without-test",
        ),
        pytest.param(
            _hostname(when={"column": "Category", "eq": "PC", "in": ["Mac"]}),
            f"{FIELD}.when: a condition is",
            id="when-two-tests",
        ),
        pytest.param(
            _hostname(when={"not": {"column": "A", "eq": "x"}, "column": "B", "eq": "y"}),
            f"{FIELD}.when: a condition is",
            id="when-combinator-and-test",
        ),
        pytest.param(
            _hostname(when={"any": []}),
            f"{FIELD}.when.any: List should have at least 1 item",
            id="when-empty-any",
        ),
        pytest.param(
            _hostname(when={"column": "Category", "in": []}),
            f"{FIELD}.when.in: List should have at least 1 item",
            id="when-empty-in",
        ),
        pytest.param(
            _hostname(when={"any": [{"column": "A", "eq": 1}, {"colum": "B", "eq": 2}]}),
            f"{FIELD}.when.any[1].colum: Extra inputs are not permitted",
            id="when-nested-typo",
        ),
        pytest.param(
            _hostname(when={"all": [{"not": {"column": "A", "matches": "(LT"}}]}),
            f"{FIELD}.when.all[0].not.matches: not a regular expression: missing ), unterminated"
            " subpattern at position 0",
            id="when-bad-regex",
        ),
        pytest.param(
            _hostname(when={"column": "A", "eq": ["x", "y"]}),
            f"{FIELD}.when.eq: Input should be a valid string",
            id="when-eq-list",
        ),
        pytest.param(
            _hostname(when={"field": "categry", "eq": "laptop"}),
            f"{FIELD}.when.field: 'categry' is not mapped by this stream; expected one of category",
            id="when-unknown-field",
        ),
        pytest.param(
            {
                "hostname": {"column": "Name", "when": {"field": "model", "is_empty": False}},
                "model": {"column": "Model", "when": {"field": "hostname", "eq": "x"}},
            },
            f"{FIELDS}.hostname.when: the conditions of hostname → model →"
            " hostname read each other in a cycle",
            id="when-cycle",
        ),
        pytest.param(
            {"name": {"template": "{First Name} {Last"}},
            f"{FIELDS}.name.template: a lone '{{' at character 14; write {{{{ for a literal brace",
            id="template-lone-brace",
        ),
        pytest.param(
            {"name": {"template": "Laptop"}},
            f"{FIELDS}.name.template: a template needs at least one {{Column Name}} placeholder",
            id="template-no-placeholder",
        ),
        pytest.param(
            {"name": {"template": "{} x"}},
            f"{FIELDS}.name.template: an empty placeholder {{}} at character 1",
            id="template-empty-placeholder",
        ),
        pytest.param(
            {"name": {"template": "{A}", "column": "A"}},
            f"{FIELDS}.name: give one of column, columns, coalesce, template or value; got column, template",
            id="two-sources-of-value",
        ),
        pytest.param(
            {"serial_number": {"coalesce": []}},
            f"{FIELDS}.serial_number.coalesce: List should have at least 1 item",
            id="coalesce-empty",
        ),
        pytest.param(
            {"location": {"column": "Site", "lookup": {"table": {}}}},
            f"{FIELDS}.location.lookup.table: Dictionary should have at least 1 item",
            id="lookup-empty",
        ),
        pytest.param(
            {"location": {"column": "Site", "lookup": {"table": {"ldn": "London", "LDN": "Leeds"}}}},
            f"{FIELDS}.location.lookup: table: 'ldn' and 'LDN' are the same key"
            " (keys are compared ignoring case) with different values",
            id="lookup-clashing-keys",
        ),
        pytest.param(
            {"location": {"column": "Site", "lookup": {"table": {"A": "B"}, "defualt": "x"}}},
            f"{FIELDS}.location.lookup.defualt: Extra inputs are not permitted",
            id="lookup-typo",
        ),
        pytest.param(
            {"location": {"column": "Site", "lookup": {"LDN": "London"}}},
            f"{FIELDS}.location.lookup.LDN: unknown key; did you mean `table`?",
            id="lookup-bare",
        ),
        pytest.param(
            {"location": {"value": "HQ", "lookup": {"table": {"A": "B"}}}},
            f"{FIELDS}.location: lookup translates a column's values; a constant `value` needs none",
            id="lookup-on-constant",
        ),
    ],
)
def test_mistakes_are_refused_with_their_path(fields, expected):
    problems = _problems(fields)
    assert any(p.startswith(expected) for p in problems), problems


def test_lookups_that_differ_only_in_case_are_fine_when_case_matters():
    fields = {
        "location": {"column": "Site", "lookup": {"table": {"ldn": "a", "LDN": "b"}, "case_sensitive": True}}
    }
    config = parse_config(_config(fields))
    assert config.sources[0].entities["assets"].fields["location"].lookup.table == {"ldn": "a", "LDN": "b"}


def test_validate_command_reports_a_bad_condition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(_config(_hostname(when={"field": "categry", "eq": "laptop"}))))
    assert main(["validate", str(path)]) == 1
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert f"{FIELD}.when.field: 'categry' is not mapped by this stream" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ the README's example


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Field mappings") :]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_the_readme_example_is_valid_and_does_what_it_says():
    config = parse_config(yaml.safe_load(_readme_example()))
    streams = config.sources[0].entities
    frame = pd.DataFrame(
        {
            "Asset ID": ["A1", "A2", "A3"],
            "Category": ["Laptop", "Printer", "Desktop"],
            "Name": ["LT-0042", "HP LaserJet (2nd floor)", "DT-0007"],
            "Serial": ["To Be Filled By O.E.M.", "CN12345", ""],
            "Serial Number": ["PF2AB3C4", None, "MXL1234"],
            "Site": ["LDN", "nyc", "PAR"],
            "Owner": ["ada@example.com", None, "Alan@Example.com"],
            "First Name": ["Ada", None, "Alan"],
            "Last Name": ["Lovelace", None, ""],
        }
    )
    ctx = TransformContext()
    assets = map_stream(frame, "assets", streams["assets"], ctx, source="inventory")
    assert assets.quarantine.empty, assets.quarantine["reason"].tolist()
    rows = assets.rows
    assert rows["name"].tolist() == ["LT-0042", "HP LaserJet (2nd floor)", "DT-0007"]
    assert rows["hostname"].tolist() == ["lt-0042", None, "dt-0007"]
    assert rows["serial_number"].tolist() == ["PF2AB3C4", "CN12345", "MXL1234"]
    assert rows["location_key"].tolist() == ["London HQ", "New York Office", "Other site"]
    assert rows["status"].tolist() == ["in_use", "in_use", "in_use"]
    assert rows["assigned_to_key"].tolist() == ["ada@example.com", None, "alan@example.com"]
    people = map_stream(frame.dropna(subset=["Owner"]), "people", streams["people"], ctx, source="inventory")
    assert people.rows["name"].tolist() == ["Ada Lovelace", "Alan"]
