"""A source's guard: a read that loses most records, or lacks a field everyone relies on, is
held — the last good snapshot stays, the source shows stale with the reason — until a read
passes or an admin accepts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from connectors.base import SourceConfig
from federation.config.settings import Config, ConfigError, parse_config
from federation.demo.vendor_server import VendorServer
from federation.demo.vendors import Okta
from federation.pipeline.guard import guard_breaches
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.cli import main

ASSETS = "tag,host\n" + "".join(f"A{i},host-{i}\n" for i in range(1, 11))


def inventory(path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "inventory",
        "kind": "spreadsheet",
        "path": str(path),
        "entities": {"assets": {"id": "tag", "fields": {"asset_tag": "tag", "hostname": "host"}}},
        **extra,
    }


def make_config(tmp_path: Path, *sources: dict[str, Any]) -> Config:
    return parse_config(
        {"store": {"path": str(tmp_path / "store")}, "sources": list(sources)}, base_dir=tmp_path
    )


def published(config: Config, sql: str) -> list[tuple[Any, ...]]:
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    assert snapshot is not None
    return snapshot.query(sql)


@pytest.fixture
def syncer_for() -> Iterator[Any]:
    opened: list[Syncer] = []

    def make(config: Config) -> Syncer:
        opened.append(Syncer(config))
        return opened[-1]

    yield make
    for s in opened:
        s.close()


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("guard", "problem"),
    [
        pytest.param({"max_drop": "20"}, "sources[0].guard.max_drop: expected a percentage", id="no-percent"),
        pytest.param({"max_drop": 0.2}, "sources[0].guard.max_drop: expected a percentage", id="fraction"),
        pytest.param({"max_drop": "120%"}, "sources[0].guard.max_drop: expected a percentage", id="over-100"),
        pytest.param(
            {"required": {"hostname": "most"}},
            "sources[0].guard.required.hostname: expected a percentage",
            id="bad-share",
        ),
        pytest.param({"required": "hostname"}, "sources[0].guard.required: expected a list", id="string"),
        pytest.param(
            {"required": ["hostnme"]},
            "guard.required.hostnme: no entity of this source has a field 'hostnme'",
            id="unknown-field",
        ),
        pytest.param(
            {"required": ["people.email"]},
            "guard.required.people.email: people is not an entity of this source",
            id="entity-not-read",
        ),
        pytest.param({"max_dorp": "20%"}, "sources[0].guard.max_dorp: Extra inputs", id="unknown-key"),
    ],
)
def test_a_bad_guard_is_refused_naming_its_path(tmp_path: Path, guard: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, inventory(tmp_path / "inv.csv", guard=guard))
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("guard", "max_drop", "assets_required"),
    [
        pytest.param(None, 0.5, {}, id="default-refuses-losing-over-half"),
        pytest.param({"max_drop": "20%", "required": ["hostname"]}, 0.2, {"hostname": 1.0}, id="list"),
        pytest.param({"max_drop": None, "required": {"assets.serial_number": "95%"}}, None,
                     {"serial_number": 0.95}, id="scoped-share"),
    ],
)  # fmt: skip
def test_guard_forms(
    tmp_path: Path, guard: dict[str, Any] | None, max_drop: float | None, assets_required: dict[str, float]
) -> None:
    extra = {} if guard is None else {"guard": guard}
    (source,) = make_config(tmp_path, inventory(tmp_path / "inv.csv", **extra)).sources
    assert source.guard.max_drop == max_drop
    assert source.required_fields("assets") == assets_required


# ----------------------------------------------------------------------------- the check


def _source(tmp_path: Path, guard: dict[str, Any]) -> SourceConfig:
    spec = inventory(tmp_path / "inv.csv", guard=guard)
    spec["entities"]["assets"]["fields"]["mac_addresses"] = "mac"
    return make_config(tmp_path, spec).sources[0]


def _assets(n: int, hostname: Any = "h", mac: Any = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(n)],
            "hostname": [hostname(i) if callable(hostname) else hostname for i in range(n)],
            "mac_addresses": [mac(i) if callable(mac) else mac for i in range(n)],
        }
    )


EVERY = "(guard.required: every record)"
HALF_EMPTY = _assets(4, lambda i: None if i % 2 else "h")


@pytest.mark.parametrize(
    ("guard", "frame", "incremental", "baseline", "breaches"),
    [
        pytest.param({"max_drop": "20%"}, _assets(8), False, 10, [], id="drop-within-limit"),
        pytest.param({"max_drop": "20%"}, _assets(7), False, 10,
                     ["assets: 7 records, down from 10 (-30%, over guard.max_drop 20%)"], id="drop-over"),
        pytest.param({}, _assets(0), False, 134,
                     ["assets: 0 records, down from 134 (-100%, over guard.max_drop 50%)"], id="empty-read"),
        pytest.param({"max_drop": "20%"}, _assets(0), True, 10, [], id="incremental-cannot-show-a-drop"),
        pytest.param({"max_drop": "20%"}, _assets(0), False, 0, [], id="no-last-good-snapshot"),
        pytest.param({"max_drop": None}, _assets(0), False, 10, [], id="no-limit"),
        pytest.param({"max_drop": "20%"}, _assets(12), False, 10, [], id="growth"),
        pytest.param({"required": ["hostname"]}, _assets(4, lambda i: None if i == 2 else "h"), False, 0,
                     [f"assets.hostname: empty in 1 of 4 records {EVERY}"], id="one-null"),
        pytest.param({"required": ["hostname"]}, _assets(4, lambda i: "  " if i else "h"), False, 0,
                     [f"assets.hostname: empty in 3 of 4 records {EVERY}"], id="blank-text"),
        pytest.param({"required": ["mac_addresses"]}, _assets(2, mac=lambda i: [] if i else ["aa"]), False, 0,
                     [f"assets.mac_addresses: empty in 1 of 2 records {EVERY}"], id="empty-list"),
        pytest.param({"required": {"hostname": "50%"}}, HALF_EMPTY, False, 0, [], id="share-met"),
        pytest.param({"required": {"hostname": "75%"}}, HALF_EMPTY, False, 0,
                     ["assets.hostname: empty in 2 of 4 records (guard.required: 75% of them)"],
                     id="share-missed"),
        pytest.param({"required": ["serial_number"]}, _assets(3), False, 0,
                     [f"assets.serial_number: empty in 3 of 3 records {EVERY}"], id="field-not-mapped"),
        pytest.param({"required": ["hostname"]}, _assets(0), False, 0, [], id="no-records-no-field-check"),
    ],
)  # fmt: skip
def test_guard_breaches(
    tmp_path: Path,
    guard: dict[str, Any],
    frame: pd.DataFrame,
    incremental: bool,
    baseline: int,
    breaches: list[str],
) -> None:
    source = _source(tmp_path, guard)
    read_incrementally = {"assets"} if incremental else set()
    last_good = {"assets": baseline} if baseline else {}
    found = guard_breaches(source, {"assets": frame}, read_incrementally, last_good)
    assert found == breaches


# ----------------------------------------------------------------------------- end to end


def test_a_header_only_csv_is_held_and_the_last_good_snapshot_served_until_accepted(
    tmp_path: Path, syncer_for: Any
) -> None:
    csv = tmp_path / "inv.csv"
    csv.write_text(ASSETS, encoding="utf-8")
    config = make_config(tmp_path, inventory(csv, guard={"max_drop": "20%"}))
    syncer = syncer_for(config)
    assert syncer.run().sources[0].status == "ok"
    csv.write_text("tag,host\n", encoding="utf-8")  # the export job wrote only the header

    held = syncer.run().sources[0]
    assert (held.ok, held.status) == (False, "held")
    assert "assets: 0 records, down from 10" in (held.error or "")
    assert "assetgraph sync --accept inventory" in (held.error or "")
    assert published(config, "SELECT count(*) FROM assets") == [(10,)]
    ((status, stale, error, count),) = published(
        config, "SELECT status, stale, error, record_count FROM source_status"
    )
    assert (status, stale, count) == ("held", True, 10)
    assert error == held.error
    # held again on the next scheduled sync: nothing has changed at the source
    assert syncer.run().sources[0].status == "held"

    accepted = syncer.run(accept=["inventory"]).sources[0]
    assert (accepted.status, accepted.records) == ("ok", 0)
    assert published(config, "SELECT count(*) FROM assets") == [(0,)]
    assert published(config, "SELECT status, stale FROM source_status") == [("ok", False)]


def test_a_held_source_recovers_when_a_read_passes(tmp_path: Path, syncer_for: Any) -> None:
    csv = tmp_path / "inv.csv"
    csv.write_text(ASSETS, encoding="utf-8")
    config = make_config(tmp_path, inventory(csv))
    syncer = syncer_for(config)
    syncer.run()
    csv.write_text("tag,host\nA1,host-1\n", encoding="utf-8")
    assert syncer.run().sources[0].status == "held"  # lost 90%: over the default 50%
    csv.write_text(ASSETS.replace("host-3", "host-three"), encoding="utf-8")
    assert syncer.run().sources[0].status == "ok"
    assert published(config, "SELECT hostname FROM assets WHERE asset_tag = 'A3'") == [("host-three",)]


def test_sync_command_shows_held_and_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "inv.csv"
    csv.write_text(ASSETS, encoding="utf-8")
    config = make_config(tmp_path, inventory(csv))
    path = tmp_path / "config.yaml"
    raw = {"store": {"path": "store"}, "sources": [inventory(Path("inv.csv"))]}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["sync", "--config", str(path)]) == 0
    csv.write_text("tag,host\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["sync", "--config", str(path)]) == 1
    shown = capsys.readouterr()
    assert "held" in shown.out  # the table
    assert "--accept" in shown.err  # the reason in full, with what to do
    assert main(["sync", "--config", str(path), "--accept", "nosuch"]) == 1
    assert "unknown source nosuch" in capsys.readouterr().err
    assert main(["sync", "--config", str(path), "--accept", "inventory"]) == 0
    assert published(config, "SELECT count(*) FROM assets") == [(0,)]


def _okta_user(i: int, email: str | None, updated: str) -> dict[str, Any]:
    profile = {"firstName": f"Ann{i}", "lastName": "Smith", "login": f"ann{i}@example.com"}
    if email is not None:
        profile["email"] = email
    return {"id": f"00u{i:05d}", "status": "ACTIVE", "lastUpdated": updated, "profile": profile}


@pytest.fixture
def okta_server() -> Iterator[tuple[VendorServer, Okta]]:
    okta = Okta("tok", [_okta_user(i, f"ann{i}@example.com", "2024-05-01T00:00:00.000Z") for i in range(6)])
    server = VendorServer([okta]).start()
    yield server, okta
    server.stop()


def test_okta_users_without_email_are_held(
    tmp_path: Path, syncer_for: Any, okta_server: tuple[VendorServer, Okta]
) -> None:
    server, okta = okta_server
    source = {
        "name": "okta",
        "kind": "okta",
        "base_url": server.base("okta"),
        "auth": {"token": "tok"},
        "retry": {"max_tries": 1},
        "guard": {"required": ["email"]},
        "entities": {"licenses": None, "license_assignments": None},
    }
    config = make_config(tmp_path, source)
    syncer = syncer_for(config)
    assert syncer.run().sources[0].status == "ok"
    # a profile mapping change at Okta: the changed users come without profile.email
    for i in (1, 4):
        okta.users[i] = _okta_user(i, None, "2024-06-01T00:00:00.000Z")
    held = syncer.run().sources[0]
    assert held.status == "held", held.error
    assert "people.email: empty in 2 of 6 records" in (held.error or "")  # read again: `ge` the cursor
    emails = published(config, "SELECT email FROM people ORDER BY email")
    assert [e for (e,) in emails] == [f"ann{i}@example.com" for i in range(6)]
    # the cursor did not move past the held changes: once fixed, they are read and written
    okta.users[1] = _okta_user(1, "ann.one@example.com", "2024-06-01T00:00:00.000Z")
    okta.users[4] = _okta_user(4, "ann4@example.com", "2024-06-01T00:00:00.000Z")
    assert syncer.run().sources[0].status == "ok"
    assert ("ann.one@example.com",) in published(config, "SELECT email FROM people")
