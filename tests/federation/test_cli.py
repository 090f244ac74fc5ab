"""The `assetgraph` command's output: the sync table, failures in full, log lines with a
timestamp (text or JSON) that do not tear the progress display, request ids in log lines."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rich.console import Console
from support.serving import serving

from federation.serving import cli
from federation.serving.app import RequestIdMiddleware
from federation.serving.logs import configure_logging

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A config with one good SQLite source and one whose workbook does not exist, under a
    folder name long enough to push its error past 80 columns."""
    folder = tmp_path / "a-folder-with-a-long-name-so-that-the-error-is-wider-than-a-terminal"
    folder.mkdir()
    with sqlite3.connect(folder / "team.sqlite") as con:
        con.execute("CREATE TABLE devices (id INTEGER PRIMARY KEY, serial TEXT)")
        con.executemany("INSERT INTO devices VALUES (?, ?)", [(1, "SN-1"), (2, "SN-2"), (3, "SN-3")])
    raw = {
        "store": {"path": "store"},
        "sources": [
            {"name": "team", "kind": "sql", "url": "sqlite:///team.sqlite",
             "entities": {"assets": {"table": "devices", "id": "id", "fields": {"serial_number": "serial"}}}},
            {"name": "broken", "kind": "spreadsheet", "path": "missing-register.xlsx",
             "entities": {"assets": {"id": "Tag", "fields": {"asset_tag": "Tag"}}}},
        ],
    }  # fmt: skip
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
def consoles(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The command's stdout and stderr consoles as an 80-column terminal, into buffers."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=out, width=80, force_terminal=True))
    monkeypatch.setattr(cli, "err", Console(file=err, width=80, force_terminal=True))
    yield out, err
    configure_logging()  # leave no handler pointing at the buffers


def _lines(buffer: io.StringIO) -> list[str]:
    return [ANSI.sub("", line).rstrip() for line in buffer.getvalue().replace("\r", "\n").splitlines()]


def test_the_sync_table_fits_80_columns_and_each_failure_is_printed_whole(
    small: Path, consoles: tuple[io.StringIO, io.StringIO]
) -> None:
    out, err = consoles
    assert cli.main(["sync", "--config", str(small)]) == 1
    table = [line for line in _lines(out) if line[:1] in "┏┃┡│└"]
    assert len(table) == 6  # top, header, rule, a row per source, bottom
    assert max(len(line) for line in table) <= 80
    assert any("broken" in line and "failed" in line for line in table)
    missing = (small.parent / "missing-register.xlsx").resolve()
    failure = [line for line in _lines(err) if line.startswith("error: source broken failed:")]
    assert len(failure) == 1, _lines(err)
    assert failure[0].endswith(f"file not found: {missing}")  # not cut, not folded


def test_the_sync_says_whether_it_merged_everything_or_what_changed(
    small: Path, consoles: tuple[io.StringIO, io.StringIO]
) -> None:
    out, _ = consoles
    cli.main(["sync", "--config", str(small)])
    cli.main(["sync", "--config", str(small)])
    said = " ".join(_lines(out))
    first, second = said.split("published snap-")[1:]
    assert "merged every record (nothing published yet)" in first
    assert "merged what changed since the last publish" in second


def test_a_warning_during_sync_has_a_timestamp_and_goes_through_the_progress_console(
    small: Path, consoles: tuple[io.StringIO, io.StringIO], capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = consoles
    assert cli.main(["sync", "--config", str(small)]) == 1
    pattern = re.compile(rf"^{TIMESTAMP} WARNING assetgraph\.sync \[source=broken\]: source broken failed: ")
    assert any(pattern.match(line) for line in _lines(err)), _lines(err)
    assert "WARNING" not in capsys.readouterr().err  # nothing written beside the console


def test_json_logs_are_one_object_a_line_with_timestamp_level_and_source(
    small: Path, consoles: tuple[io.StringIO, io.StringIO]
) -> None:
    _, err = consoles
    assert cli.main(["sync", "--config", str(small), "--log-format", "json"]) == 1
    records = [json.loads(line) for line in _lines(err) if line.startswith("{")]
    warning = [r for r in records if r.get("level") == "WARNING"]
    assert len(warning) == 1, records
    assert re.fullmatch(TIMESTAMP, warning[0]["timestamp"])
    assert warning[0]["logger"] == "assetgraph.sync"
    assert warning[0]["source"] == "broken"
    assert warning[0]["message"].startswith("source broken failed: ")
    assert "request_id" not in warning[0]  # not written while answering a request


def test_the_config_can_ask_for_json_logs(small: Path, consoles: tuple[io.StringIO, io.StringIO]) -> None:
    _, err = consoles
    raw = yaml.safe_load(small.read_text(encoding="utf-8"))
    small.write_text(yaml.safe_dump({**raw, "logging": {"format": "json"}}), encoding="utf-8")
    assert cli.main(["sync", "--config", str(small)]) == 1
    assert any(json.loads(line).get("source") == "broken" for line in _lines(err) if line.startswith("{"))


def test_log_lines_written_while_answering_carry_the_request_id() -> None:
    async def answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            logging.getLogger("assetgraph.test").debug("probe")
        else:
            logging.getLogger("assetgraph.test").warning("answering %s", scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    buffer = io.StringIO()
    with serving(RequestIdMiddleware(answer)) as url:
        configure_logging("json", console=Console(file=buffer, width=80))
        try:
            response = httpx.get(f"{url}/inventory")
        finally:
            configure_logging()
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    mine = [r for r in records if r["logger"] == "assetgraph.test"]
    assert mine == [
        {
            "timestamp": mine[0]["timestamp"],
            "level": "WARNING",
            "logger": "assetgraph.test",
            "message": "answering /inventory",
            "request_id": response.headers["x-request-id"],
        }
    ]


def test_sync_refuses_a_demo_vendor_port_another_program_holds(
    tmp_path: Path, consoles: tuple[io.StringIO, io.StringIO]
) -> None:
    _, err = consoles
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        raw = {"store": {"path": "store"}, "demo": {"assets": 50, "vendor_port": port}}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
        assert cli.main(["sync", "--config", str(tmp_path / "config.yaml")]) == 1
    text = "\n".join(_lines(err))
    assert f"error: demo.vendor_port: 127.0.0.1:{port} is taken" in text
    assert "Traceback" not in text
