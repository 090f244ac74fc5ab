"""`assetgraph validate` and `token` on the config itself: a missing config is "not found"
with the path looked for, a spreadsheet source whose path is not a spreadsheet is refused
with its key, and the failure policy of bad values is reported where it holds rows back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config.settings import CONFIG_ENV
from federation.serving.cli import main


def _sheet(path: str, stream_path: str | None = None) -> dict[str, Any]:
    stream: dict[str, Any] = {"id": "ID", "fields": {"hostname": "Name", "cost": "Cost"}}
    if stream_path:
        stream["path"] = stream_path
    return {"name": "inventory", "kind": "spreadsheet", "path": path, "entities": {"assets": stream}}


def _write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        pytest.param("default", "the default; pass --config FILE or set ASSETGRAPH_CONFIG", id="default"),
        pytest.param("env", "from $ASSETGRAPH_CONFIG", id="env"),
        pytest.param("flag", "as given on the command line", id="flag"),
    ],
)
def test_token_without_a_config_says_not_found_and_where_it_looked(
    how: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    looked = tmp_path / ("config.yaml" if how == "default" else "elsewhere.yaml")
    args = ["token", "--role", "admin"]
    if how == "env":
        monkeypatch.setenv(CONFIG_ENV, str(looked))
    elif how == "flag":
        args += ["--config", "elsewhere.yaml"]
    assert main(args) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"config file not found: {looked} ({expected})" in err
    assert "invalid configuration" not in err


@pytest.mark.parametrize(
    ("source", "key", "hint"),
    [
        pytest.param(_sheet("inventory.json"), "sources[0].path", "json_files", id="json-file"),
        pytest.param(_sheet("export.pdf"), "sources[0].path", "", id="pdf"),
        pytest.param(_sheet("a.csv", "b.ndjson"), "sources[0].entities.assets.path", "json_files",
                     id="stream-path"),
    ],
)  # fmt: skip
def test_validate_refuses_a_spreadsheet_source_that_is_not_a_spreadsheet(
    source: dict[str, Any], key: str, hint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(_write(tmp_path, {"sources": [source]}))]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"{key}: " in err
    assert "is not a spreadsheet: expected .csv, .tsv, .txt, .xlsx or .xlsm" in err
    assert hint in err


@pytest.mark.parametrize("name", ["inventory.CSV", "finance.xlsx", "export.tsv", "dump.txt", "book.xlsm"])
def test_spreadsheet_suffixes_pass(name: str, tmp_path: Path) -> None:
    assert main(["validate", str(_write(tmp_path, {"sources": [_sheet(name)]}))]) == 0


def test_validate_reports_which_fields_hold_a_row_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _sheet("inventory.csv")
    source["entities"]["assets"]["fields"].update(
        {
            "serial_number": {"column": "Serial", "on_invalid": "blank"},
            "purchase_date": {"column": "Bought", "on_invalid": "quarantine"},
            "status": {"column": "Status", "required": True},
        }
    )
    assert main(["validate", str(_write(tmp_path, {"sources": [source]}))]) == 0
    captured = capsys.readouterr()
    out = " ".join(captured.out.split())
    assert (
        "sources[0] inventory, assets: a value that cannot be read quarantines the row in hostname "
        "(identity fields); purchase_date (on_invalid: quarantine); status (required); in any other "
        "field it is left out with a quality note"
    ) in out
    err = " ".join(captured.err.split())
    assert (
        "warning: sources[0].entities.assets.fields.serial_number: on_invalid: blank on an identity field"
        in err
    )
