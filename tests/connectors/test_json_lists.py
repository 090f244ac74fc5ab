"""kind: json_files with records below the document: `from_document` copies the document's
values into each record, and `replace_by` makes a newer file's list replace the older one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from contract import read_all
from json_fixtures import write
from pydantic import ValidationError

from connectors.json_files import JsonFilesConfig, JsonFilesConnector

APPS = {
    "path": "devices",
    "records": "apps || `[]`",
    "from_document": {"device": "device.id", "site": "device.site"},
    "id": ["device", "name"],
    "fields": {"asset": "device", "product": "name", "version": "version"},
}


def device(ident: str, apps: list[tuple[str, str]] | None, site: str = "HQ", **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"device": {"id": ident, "site": site}, **extra}
    if apps is not None:
        document["apps"] = [{"name": n, "version": v} for n, v in apps]
    return document


def make(base: Path, **stream: Any) -> JsonFilesConnector:
    config = JsonFilesConfig.model_validate(
        {"name": "agents", "kind": "json_files", "entities": {"software_installations": {**APPS, **stream}}}
    )
    return JsonFilesConnector(config, base_dir=base)


def rows(connector: JsonFilesConnector, cursor: str | None = None) -> list[tuple[Any, ...]]:
    frame = pd.concat([b.frame for b in read_all(connector, "software_installations", cursor)])
    return sorted(frame[["device", "site", "name", "version"]].itertuples(index=False, name=None))


def test_document_values_reach_every_record(tmp_path: Path) -> None:
    write(tmp_path / "devices" / "a.json", device("A", [("Slack", "4.1"), ("Zoom", "6.2")]), 0)
    write(tmp_path / "devices" / "b.json", device("B", [("Slack", "4.0")], site="DC"), 1)
    assert rows(make(tmp_path)) == [
        ("A", "HQ", "Slack", "4.1"),
        ("A", "HQ", "Zoom", "6.2"),
        ("B", "DC", "Slack", "4.0"),
    ]


def test_a_copied_value_replaces_the_records_own_key(tmp_path: Path) -> None:
    apps = {**device("A", None), "apps": [{"name": "Slack", "version": "4.1", "device": "spoofed"}]}
    write(tmp_path / "devices" / "a.json", apps, 0)
    assert rows(make(tmp_path)) == [("A", "HQ", "Slack", "4.1")]


def test_without_replace_by_an_old_files_records_linger(tmp_path: Path) -> None:
    write(tmp_path / "devices" / "a-1.json", device("A", [("Slack", "4.1"), ("Zoom", "6.2")]), 0)
    write(tmp_path / "devices" / "a-2.json", device("A", [("Slack", "4.2")]), 5)
    assert rows(make(tmp_path)) == [("A", "HQ", "Slack", "4.2"), ("A", "HQ", "Zoom", "6.2")]


def test_with_replace_by_the_newest_list_is_the_whole_list(tmp_path: Path) -> None:
    write(tmp_path / "devices" / "a-1.json", device("A", [("Slack", "4.1"), ("Zoom", "6.2")]), 0)
    write(tmp_path / "devices" / "b-1.json", device("B", [("Zoom", "6.0")]), 1)
    # Zoom was uninstalled from A; B's later document has no list: B's list stays
    write(tmp_path / "devices" / "a-2.json", device("A", [("Slack", "4.2")]), 5)
    write(tmp_path / "devices" / "b-2.json", device("B", None, partial=True), 6)
    assert rows(make(tmp_path, replace_by="device")) == [
        ("A", "HQ", "Slack", "4.2"),
        ("B", "HQ", "Zoom", "6.0"),
    ]


def test_replace_by_keeps_a_records_repeats_for_the_mapping(tmp_path: Path) -> None:
    write(tmp_path / "devices" / "a-1.json", device("A", [("Slack", "4.1")]), 0)
    write(tmp_path / "devices" / "a-2.json", device("A", [("Zoom", "6.2"), ("Zoom", "6.2")]), 5)
    assert rows(make(tmp_path, replace_by="device")) == [
        ("A", "HQ", "Zoom", "6.2"),
        ("A", "HQ", "Zoom", "6.2"),
    ]


def test_an_incremental_read_brings_the_changed_lists(tmp_path: Path) -> None:
    write(tmp_path / "devices" / "a-1.json", device("A", [("Slack", "4.1"), ("Zoom", "6.2")]), 0)
    write(tmp_path / "devices" / "b-1.json", device("B", [("Zoom", "6.0")]), 1)
    connector = make(tmp_path, replace_by="device")
    cursor = read_all(connector, "software_installations")[-1].cursor
    write(tmp_path / "devices" / "a-2.json", device("A", [("Slack", "4.2")]), 5)
    assert rows(connector, cursor) == [("A", "HQ", "Slack", "4.2"), ("B", "HQ", "Zoom", "6.0")]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        pytest.param({"from_document": {"device": "device..id"}},
                     "from_document.device: 'device..id' is not a JMESPath expression", id="bad-expression"),
        pytest.param({"from_document": {"device-id": "device.id"}}, "'device-id' is not a plain name",
                     id="name-not-plain"),
        pytest.param({"replace_by": "serial"}, "replace_by: 'serial' is not a column of this stream",
                     id="unknown-column"),
    ],
)  # fmt: skip
def test_config_errors_name_the_setting(stream: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JsonFilesConfig.model_validate(
            {
                "name": "s",
                "kind": "json_files",
                "path": "x",
                "entities": {"software_installations": {**APPS, **stream}},
            }
        )
