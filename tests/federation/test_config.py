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


# ------------------------------------------------------------------ secrets, by position


def _okta(auth: dict[str, Any]) -> dict[str, Any]:
    return {"name": "okta", "kind": "okta", "base_url": "https://example.okta.com", "auth": auth}


@pytest.mark.parametrize(
    ("source", "secret"),
    [
        pytest.param(_okta({"tokn": "${OKTA_TOKEN}"}), "RealEnvSecret-4242", id="env-under-misspelled-key"),
        pytest.param(_okta({"tokn": "literal-secret-99"}), "literal-secret-99", id="literal-under-auth"),
        pytest.param(
            {
                "name": "snow",
                "kind": "servicenow",
                "base_url": "https://x.service-now.com",
                "auth": {"username": "svc", "pasword": "hunter2-hunter2"},
            },
            "hunter2-hunter2",
            id="misspelled-password",
        ),
        pytest.param(_sql_source(refresh="${OKTA_TOKEN}"), "RealEnvSecret-4242", id="env-under-plain-key"),
        pytest.param(_sql_source(kind="${OKTA_TOKEN}"), "RealEnvSecret-4242", id="env-as-kind"),
    ],
)
def test_no_error_echoes_a_value_from_the_environment_or_under_a_secret_key(
    source: dict[str, Any], secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_TOKEN", "RealEnvSecret-4242")
    problems = _problems({"sources": [source]})
    assert problems
    assert not any(secret in p for p in problems), problems


def test_a_misspelled_key_is_one_problem_that_names_the_key_it_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_TOKEN", "RealEnvSecret-4242")
    problems = _problems({"sources": [_okta({"tokn": "${OKTA_TOKEN}"})]})
    assert problems == ["sources[0].auth.tokn: unknown key; did you mean `key`?"]


def test_a_short_env_value_is_masked_where_it_sits_not_wherever_its_letters_occur(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHORT", "p")
    problems = _problems({"sources": [_sql_source(name="endpoint_team", refresh="${SHORT}")]})
    assert problems == ["sources[0].refresh: expected a duration like 30s, 15m, 1h or 2d, got (hidden)"]


def test_the_value_is_quoted_once() -> None:
    problems = _problems({"sources": [_sql_source(refresh="often")]})
    assert problems == ["sources[0].refresh: expected a duration like 30s, 15m, 1h or 2d, got 'often'"]


def test_one_union_field_gives_one_problem() -> None:
    stream = {"table": "t", "id": {"a": 1}, "fields": {"serial_number": "serial"}}
    problems = _problems({"sources": [_sql_source(entities={"assets": stream})]})
    assert len([p for p in problems if p.startswith("sources[0].entities.assets.id:")]) == 1, problems


# ------------------------------------------------------------------ knock-on errors, once


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"refresh": "often"}, id="bad-value"),
        pytest.param({"colour": "blue"}, id="extra-key"),
        pytest.param({"kind": "oracle_forms"}, id="unknown-kind"),
    ],
)
def test_a_bad_source_is_reported_once_not_again_where_it_is_named(broken: dict[str, Any]) -> None:
    raw = {
        "sources": [_sql_source(**broken), _sql_source(name="finance")],
        "reconcile": {
            "assets": {"precedence": {"default": ["cmdb", "finance"], "cost": ["finance", "cmdb"],
                                      "status": ["cmdb"]}},
            "people": {"precedence": {"default": ["cmdb"]}},
        },
    }  # fmt: skip
    problems = _problems(raw)
    assert len(problems) == 1, problems
    assert problems[0].startswith("sources[0].")


# ------------------------------------------------------------------ duplicate keys, SQL URLs


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("auth:\n  issuer: a\nserver: {}\nauth:\n  issuer: b\n", 4, id="top-level"),
        pytest.param(
            "sources:\n  - name: cmdb\n    kind: sql\n    url: sqlite:///a.db\n    url: sqlite:///b.db\n",
            5,
            id="inside-a-source",
        ),
        pytest.param("server: {max_limit: 10, max_limit: 20}\n", 1, id="flow-mapping"),
    ],
)
def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(f"line {line}, column ")
    assert "is given twice" in info.value.problems[0]


def test_yaml_merge_keys_still_override(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("base: &b {max_limit: 10, default_limit: 5}\n", encoding="utf-8")
    text = "x-server: &s {max_limit: 10, default_limit: 5}\nserver:\n  <<: *s\n  max_limit: 20\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:  # x-server is not a section; the merge itself is fine
        load_config(path)
    assert info.value.problems == ["x-server: Extra inputs are not permitted"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        pytest.param("postgresql+psycopg://u:pw@db:port/x", "not a URL SQLAlchemy can read", id="bad-port"),
        pytest.param("just some words", "not a URL SQLAlchemy can read", id="not-a-url"),
        pytest.param("postgress://u:pw@db/x", "SQLAlchemy has no dialect", id="unknown-dialect"),
        pytest.param("mssql+pyodbc://u:pw@db/x", "driver of this URL is not installed", id="missing-driver"),
    ],
)
def test_sql_urls_sqlalchemy_cannot_use_are_refused_at_load(url: str, words: str) -> None:
    problems = _problems({"sources": [_sql_source(url=url)]})
    assert len(problems) == 1, problems
    assert problems[0].startswith("sources[0].url: ")
    assert words in problems[0]
    assert "pw" not in problems[0].replace("password", "")


def test_validate_prints_kinds_and_errors_verbatim_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"sources": [_sql_source()]}), encoding="utf-8")
    assert main(["validate", str(good)]) == 0
    assert "cmdb [sql]" in capsys.readouterr().out  # not taken for rich markup

    bad = tmp_path / "bad.yaml"
    long_name = "a_source_with_a_rather_long_name_to_push_the_line_past_eighty_columns"
    bad.write_text(yaml.safe_dump({"sources": [_sql_source(name=long_name, refresh="[bold]often")]}))
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    line = "  - sources[0].refresh: expected a duration like 30s, 15m, 1h or 2d, got '[bold]often'"
    assert line in err.splitlines(), err
