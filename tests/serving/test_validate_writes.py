"""`assetgraph validate` says, per source that can be written, which mapped fields cannot be
written back and why."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from federation.serving.cli import main


def test_validate_lists_the_read_only_fields_of_writable_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "team.sqlite").write_bytes(b"")
    (tmp_path / "sheet.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    config = {
        "sources": [
            {"name": "team", "kind": "sql", "url": "sqlite:///team.sqlite", "entities": {
                "assets": {"table": "devices", "id": "device_id", "fields": {
                    "hostname": "host", "name": {"template": "{host} ({room})"},
                    "status": {"column": "state", "when": {"column": "kind", "eq": "pc"}}}},
                "people": {"query": "SELECT 1 AS id", "id": "id", "fields": {"email": "mail"}}}},
            {"name": "sheet", "kind": "spreadsheet", "path": "sheet.csv", "entities": {
                "assets": {"id": "id", "fields": {"name": {"template": "{name}!"}}}}},
        ]
    }  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    printed = capsys.readouterr().out
    template = "built from several columns by the template '{host} ({room})'"
    assert f"team.assets.name: read-only: {template}" in printed
    assert "team.assets.status: read-only: filled only on rows where its `when:` condition holds" in printed
    assert "team.assets.hostname" not in printed
    assert "team.people: read-only (read through a query: name `write_table:`)" in printed
    assert "sheet." not in printed  # spreadsheets are read-only as a whole: nothing to list
