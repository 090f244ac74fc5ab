"""`workflow.url` in config.yaml: a SQLite file in the store folder by default, relative
paths from the config's folder, `${ENV}` allowed, bad URLs refused at load by their path
and never echoed; a store that cannot be reached says which one, password hidden."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from federation.config.settings import ConfigError, parse_config
from federation.workflow import WorkflowStoreError, head_revision, open_workflow_store
from federation.workflow.database import store_url

SECRET = "s3cr3t-Pa55"


def _config(tmp_path: Path, **workflow: Any) -> Any:
    raw: dict[str, Any] = {"store": {"path": "state"}}
    if workflow:
        raw["workflow"] = workflow
    return parse_config(raw, source="config.yaml", base_dir=tmp_path)


def test_the_default_store_is_a_file_in_the_store_folder(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert store_url(config) == sa.make_url(f"sqlite:///{tmp_path / 'state' / 'workflow.sqlite'}")
    store = open_workflow_store(config)
    store.close()
    assert store.revision == head_revision()
    assert (tmp_path / "state" / "workflow.sqlite").is_file()


def test_a_relative_sqlite_path_starts_at_the_config_folder(tmp_path: Path) -> None:
    config = _config(tmp_path, url="sqlite:///history/wf.db")
    assert store_url(config).database == str(tmp_path / "history" / "wf.db")


def test_the_url_may_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKFLOW_DB", f"sqlite:///{tmp_path / 'env.sqlite'}")
    config = _config(tmp_path, url="${WORKFLOW_DB}")
    assert store_url(config).database == str(tmp_path / "env.sqlite")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            f"postgres ql://app:{SECRET}@db/x",
            "workflow.url: expected a database URL such as",
            id="not-a-url",
        ),
        pytest.param(
            f"mysql+pymysql://app:{SECRET}@db/x", "runs on sqlite or postgresql, not 'mysql'", id="mysql"
        ),
        pytest.param("sqlite://", "workflow.url: give the SQLite file", id="in-memory"),
        pytest.param(
            f"postgresql+nosuchdriver://app:{SECRET}@db/x", "workflow.url: the database driver", id="driver"
        ),
        pytest.param(f"oracle+{SECRET}://db/x", "workflow.url: ", id="secret-in-driver"),
    ],
)
def test_bad_urls_are_refused_at_load_without_their_secret(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, url=url)
    text = str(info.value)
    assert message in text
    assert SECRET not in text


def test_a_bad_url_from_the_environment_is_not_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_DB", f"mssql://sa:{SECRET}@db/x")
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, url="${WORKFLOW_DB}")
    assert "workflow.url: the workflow store runs on sqlite or postgresql" in str(info.value)
    assert SECRET not in str(info.value)


def test_an_unknown_workflow_key_is_refused_by_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"workflow\.uri: Extra inputs are not permitted"):
        _config(tmp_path, uri="sqlite:///x.sqlite")


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_an_unreachable_store_is_named_without_its_password(tmp_path: Path, closed_port: int) -> None:
    config = _config(tmp_path, url=f"postgresql+psycopg://app:{SECRET}@127.0.0.1:{closed_port}/assets")
    with pytest.raises(WorkflowStoreError) as info:
        open_workflow_store(config)
    text = str(info.value)
    assert text.startswith(
        f"workflow store postgresql+psycopg://app:***@127.0.0.1:{closed_port}/assets: cannot"
    )
    assert "OperationalError" in text
    assert SECRET not in text
