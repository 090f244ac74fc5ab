"""config.yaml validation: every problem named by its path, never a traceback, never a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config.settings import ConfigError, load_config, parse_config
from federation.serving.cli import main


def _sql_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "name": "cmdb",
        "kind": "sql",
        "url": "sqlite:///cmdb.sqlite",
        "entities": {
            "assets": {
                "table": "ci_computer",
                "id": "sys_id",
                "cursor": "sys_updated_on",
                "fields": {"serial_number": "serial", "cost": {"column": "cost", "currency": "EUR"}},
            }
        },
    }
    source.update(overrides)
    return source


def _problems(raw: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="config.yaml")
    return info.value.problems


def test_a_minimal_config_loads_with_defaults() -> None:
    config = parse_config({"sources": [_sql_source()]})
    source = config.source("cmdb")
    assert source.refresh.total_seconds() == 15 * 60
    assert source.entities["assets"].fields["serial_number"].column == "serial"
    assert config.precedence("assets", "cost") == ["cmdb"]
    assert config.rules("assets").identity[0] == ["serial_number"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"sources": [_sql_source(kind="oracle_forms")]},
            "sources[0].kind: expected one of",
            id="unknown-kind",
        ),
        pytest.param(
            {"sources": [_sql_source(refresh="every now and then")]},
            "sources[0].refresh: expected a duration like 30s, 15m, 1h or 2d",
            id="bad-duration",
        ),
        pytest.param(
            {"sources": [_sql_source(name="CMDB!")]},
            "sources[0].name",
            id="bad-name",
        ),
        pytest.param(
            {"sources": [_sql_source(entities={"spaceships": {"table": "x", "id": "id", "fields": {}}})]},
            "entities.spaceships: unknown entity; expected one of assets, people, locations",
            id="unknown-entity",
        ),
        pytest.param(
            {
                "sources": [
                    _sql_source(entities={"assets": {"table": "t", "id": "id", "fields": {"colour": "c"}}})
                ]
            },
            "entities.assets.fields.colour: unknown field of assets",
            id="unknown-field",
        ),
        pytest.param(
            {"sources": [_sql_source(colour="blue")]},
            "sources[0].colour: Extra inputs are not permitted",
            id="extra-key",
        ),
        pytest.param(
            {"currency": {"base": "dollars"}},
            "currency.base",
            id="bad-currency",
        ),
        pytest.param(
            {"currency": {"rates": {"EUR": -1}}},
            "rates.EUR: expected a positive rate",
            id="negative-rate",
        ),
        pytest.param(
            {"vocabularies": {"status_aliases": {"Deployed": "happy"}}},
            "status_aliases.Deployed: 'happy' is not a status",
            id="bad-status-alias",
        ),
        pytest.param(
            {"sources": [_sql_source()], "reconcile": {"assets": {"precedence": {"cost": ["hr"]}}}},
            "reconcile.assets.precedence.cost: unknown source 'hr'; expected one of cmdb",
            id="precedence-unknown-source",
        ),
        pytest.param(
            {"sources": [_sql_source()], "reconcile": {"assets": {"identity": [["colour"]]}}},
            "reconcile.assets.identity[0]: unknown field 'colour'",
            id="identity-unknown-field",
        ),
        pytest.param(
            {"sources": [_sql_source(), _sql_source()]},
            "the name 'cmdb' is used by more than one source",
            id="duplicate-source",
        ),
        pytest.param(
            {"server": {"default_limit": 5000, "max_limit": 100}},
            "server.default_limit: must not exceed server.max_limit",
            id="limits",
        ),
        pytest.param(["not", "a", "mapping"], "the top level must be a mapping", id="not-a-mapping"),
        pytest.param(
            {
                "sources": [
                    _sql_source(
                        entities={
                            "assets": {
                                "table": "t",
                                "id": "id",
                                "fields": {"cost": {"column": "c", "transform": "monee"}},
                            }
                        }
                    )
                ]
            },
            "sources[0].entities.assets.fields.cost.transform: unknown transform 'monee'; expected one of",
            id="unknown-transform",
        ),
        pytest.param(
            {
                "sources": [
                    _sql_source(
                        entities={
                            "assets": {
                                "table": "t",
                                "id": "id",
                                "fields": {"purchase_date": {"column": "c", "transform": "mac_list"}},
                            }
                        }
                    )
                ]
            },
            "'mac_list' does not produce a date value, which assets.purchase_date holds",
            id="transform-wrong-type",
        ),
    ],
)
def test_bad_configs_name_the_path_and_what_was_expected(raw: Any, expected: str) -> None:
    problems = _problems(raw)
    assert any(expected in p for p in problems), problems


def test_env_references_are_substituted_and_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMDB_URL", "postgresql://svc:hunter2@db.internal/cmdb")
    config = parse_config({"sources": [_sql_source(url="${CMDB_URL}")]})
    assert config.source("cmdb").url == "postgresql://svc:hunter2@db.internal/cmdb"

    monkeypatch.setenv("REFRESH", "hunter2")
    problems = _problems({"sources": [_sql_source(refresh="${REFRESH}")]})
    assert any(p.startswith("sources[0].refresh") for p in problems)
    assert not any("hunter2" in p for p in problems)


def test_missing_env_variable_is_named() -> None:
    problems = _problems({"sources": [_sql_source(url="${ASSETGRAPH_TEST_SURELY_UNSET}")]})
    assert "sources[0].url: environment variable ASSETGRAPH_TEST_SURELY_UNSET is not set" in problems


def test_env_default_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    config = parse_config({"sources": [_sql_source(url="${NOT_SET_HERE:-sqlite:///x.db}")]})
    assert config.source("cmdb").url == "sqlite:///x.db"


def test_yaml_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sources:\n  - name: cmdb\n    kind: [sql\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "line 4" in str(info.value) or "line 3" in str(info.value)


def test_validate_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"sources": [_sql_source()]}), encoding="utf-8")
    assert main(["validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"sources": [_sql_source(kind="nope", url="sqlite:///s3cret")]}))
    assert main(["validate", "--config", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "sources[0].kind" in captured.err
    assert "Traceback" not in captured.err

    assert main(["validate", str(tmp_path / "missing.yaml")]) == 1
    assert "file not found" in capsys.readouterr().err

    with pytest.raises(SystemExit) as usage:
        main(["frobnicate"])
    assert usage.value.code == 2


def test_the_repo_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "config.yaml")
    assert {s.name for s in config.sources} >= {"cmdb", "finance", "inventory", "endpoint_team"}
