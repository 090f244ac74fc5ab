"""`assetgraph validate` warns when a role can compute a field it may not read from what it
reads: a key derived from a hidden field, one filled from the same column, or provenance
without sources. The cases are worked out by hand from the mappings and roles below."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.access.inference import inference_warnings
from federation.access.policy import compile_policy
from federation.config.settings import Config, ConfigError, load_config, parse_config
from federation.serving.cli import main

REPO = Path(__file__).resolve().parents[2]

FINANCE = {
    "name": "finance",
    "kind": "spreadsheet",
    "path": "finance.xlsx",
    "entities": {
        "assets": {
            "id": "Asset Tag",
            "fields": {
                "asset_tag": "Asset Tag",
                "cost": {"column": "Cost", "currency_column": "Currency"},
                "attributes": {
                    "columns": ["Entity", "Depreciation", "PO Number"],
                    "derived_from": {"Depreciation": "cost", "Entity": ["cost_currency"]},
                },
            },
        }
    },
}


def _warnings(roles: dict[str, Any], source: dict[str, Any] = FINANCE) -> list[str]:
    config = parse_config({"sources": [source], "roles": roles})
    return inference_warnings(config, compile_policy(config.settings.roles))


def _role(*columns: str, **extra: Any) -> dict[str, Any]:
    return {"types": {"assets": {"columns": list(columns)}}, **extra}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param(
            _role("asset_tag", "attributes"),
            ["reads attributes.entity, which source finance (sources[0], column 'Entity') derives from "
             "cost_currency", "reads attributes.depreciation, which source finance (sources[0], column "
             "'Depreciation') derives from cost"],
            id="whole-attributes",
        ),
        pytest.param(_role("asset_tag", "attributes.po_number"), [], id="a-key-that-reveals-nothing"),
        pytest.param(
            _role("attributes.depreciation"), ["reads attributes.depreciation, which"], id="the-revealing-key"
        ),
        pytest.param(_role("attributes", "cost", "cost_currency"), [], id="reads-what-it-could-compute"),
        pytest.param(
            _role("attributes", "cost"),
            ["reads attributes.entity, which source finance (sources[0], column 'Entity') derives from "
             "cost_currency"],
            id="cost-but-not-its-currency",
        ),
        pytest.param(
            {"types": {"*": {"columns": "*"}}}, [], id="everything"
        ),
        pytest.param(
            _role("cost", "provenance"),
            ["reads provenance, which names the source (and record) behind each value, but not sources"],
            id="provenance-without-sources",
        ),
        pytest.param(
            _role("cost", "conflicts"),
            ["reads conflicts, which names the source (and record) behind each value, but not sources"],
            id="conflicts-without-sources",
        ),
        pytest.param(_role("cost", "provenance", "conflicts", "sources"), [], id="provenance-with-sources"),
        pytest.param(
            {"inherits": ["keys"], "types": {"assets": {"columns": ["attributes.entity"]}}},
            ["reads attributes.entity, which"],
            id="through-inheritance",
        ),
    ],
)  # fmt: skip
def test_warnings_name_the_role_what_it_reads_and_what_it_can_compute(
    role: dict[str, Any], expected: list[str]
) -> None:
    roles = {"r": role, "keys": _role("attributes.po_number")}
    got = [w for w in _warnings(roles) if w.startswith("roles.r.")]
    assert len(got) == len(expected), got
    for fragment, warning in zip(expected, got, strict=True):
        assert warning.startswith("roles.r.types.assets: r "), warning
        assert fragment in warning, warning


def test_a_key_filled_from_the_column_of_a_hidden_field_needs_no_declaration() -> None:
    source = {
        "name": "books",
        "kind": "spreadsheet",
        "path": "books.csv",
        "entities": {
            "assets": {
                "id": "Tag",
                "fields": {
                    "asset_tag": "Tag",
                    "cost": "Cost",
                    "attributes": {"columns": ["Cost", "Room"]},
                },
            }
        },
    }
    got = _warnings({"r": _role("asset_tag", "attributes")}, source)
    assert got == [
        "roles.r.types.assets: r reads attributes.cost, which source books (sources[0], column 'Cost') "
        "fills from the same column as cost, which r may not read: it can work it out. Grant only the "
        "keys it needs, or change the mapping"
    ]
    assert _warnings({"r": _role("asset_tag", "attributes.room")}, source) == []


@pytest.mark.parametrize(
    ("derived_from", "problem"),
    [
        pytest.param(
            {"Depreciation": "cost"},
            "attributes: derived_from.Depreciation: not a column of this mapping; expected one of Entity",
            id="not-a-column",
        ),
        pytest.param(
            {"Entity": "colour"},
            "fields.attributes.derived_from.Entity: unknown field 'colour' of assets; expected one of",
            id="not-a-field",
        ),
    ],
)
def test_derived_from_names_a_column_of_the_mapping_and_a_field_of_the_entity(
    derived_from: dict[str, str], problem: str
) -> None:
    fields = {**FINANCE["entities"]["assets"]["fields"]}
    fields["attributes"] = {"columns": ["Entity"], "derived_from": derived_from}
    source = {**FINANCE, "entities": {"assets": {**FINANCE["entities"]["assets"], "fields": fields}}}
    with pytest.raises(ConfigError) as info:
        parse_config({"sources": [source]})
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_the_demo_policy_gives_nothing_away() -> None:
    config: Config = load_config(REPO / "config.yaml")
    auth = config.settings.auth
    policy = compile_policy(config.settings.roles, anonymous=auth.anonymous_role if auth else "anonymous")
    assert inference_warnings(config, policy) == []


def test_validate_prints_the_warnings_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"sources": [FINANCE], "roles": {"r": _role("attributes")}}), encoding="utf-8"
    )
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sum(line.startswith("warning: roles.r.types.assets: r reads attributes.") for line in err) == 2, (
        err
    )
