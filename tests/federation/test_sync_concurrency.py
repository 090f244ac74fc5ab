"""Sources are read side by side, at most `sync.concurrency` at a time, each within its
`deadline`: one hanging source (a loopback Okta that never answers) no longer holds up the
others. The assertions are on outcomes and on the order of the round's events, never on
wall time (benchmarks/bench_sync_deadline.py measures that)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from federation.config.settings import Config, ConfigError, parse_config
from federation.demo.vendor_server import Call, Reply, VendorServer
from federation.demo.vendors import Okta
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer, SyncReport

TOKEN = "okta-token"


class HangingOkta(Okta):
    """An Okta whose every answer waits until the test lets it go."""

    def __init__(self, name: str) -> None:
        user = {
            "id": "00u00001",
            "status": "ACTIVE",
            "lastUpdated": "2024-05-01T00:00:00.000Z",
            "profile": {"login": "ann@example.com", "email": "ann@example.com"},
        }
        super().__init__(TOKEN, [user])
        self.name = name
        self.release = threading.Event()
        self.answered = 0

    def answer(self, call: Call) -> Reply:
        self.release.wait(30)  # the fixture lets go at teardown; a read without a deadline
        self.answered += 1  # would wait for its own 20s request timeout instead
        return super().answer(call)


@pytest.fixture
def hanging() -> Iterator[tuple[VendorServer, dict[str, HangingOkta]]]:
    vendors = {name: HangingOkta(name) for name in ("hang1", "hang2", "hang3")}
    server = VendorServer(list(vendors.values())).start()
    yield server, vendors
    for vendor in vendors.values():
        vendor.release.set()
    server.stop()


def okta(server: VendorServer, name: str, deadline: str | None = "1s") -> dict[str, Any]:
    source: dict[str, Any] = {
        "name": name,
        "kind": "okta",
        "base_url": server.base(name),
        "auth": {"token": TOKEN},
        "timeout": "20s",
        "retry": {"max_tries": 1},
        "entities": {"licenses": None, "license_assignments": None},
    }
    if deadline is not None:
        source["deadline"] = deadline
    return source


def csv_source(tmp_path: Path, name: str) -> dict[str, Any]:
    path = tmp_path / f"{name}.csv"
    path.write_text("tag,host\n" + "".join(f"{name}-{i},{name}-host-{i}\n" for i in range(3)), "utf-8")
    return {
        "name": name,
        "kind": "spreadsheet",
        "path": str(path),
        "entities": {"assets": {"id": "tag", "fields": {"asset_tag": "tag", "hostname": "host"}}},
    }


def make_config(tmp_path: Path, sources: list[dict[str, Any]], concurrency: int | None = None) -> Config:
    raw: dict[str, Any] = {"store": {"path": str(tmp_path / "store")}, "sources": sources}
    if concurrency is not None:
        raw["sync"] = {"concurrency": concurrency}
    return parse_config(raw, base_dir=tmp_path)


@pytest.fixture
def syncers() -> Iterator[list[Syncer]]:
    opened: list[Syncer] = []
    yield opened
    for s in opened:
        s.close()


def steps(report: SyncReport) -> list[tuple[str, str]]:
    return [(e.source, e.what) for e in report.events]


def test_a_hanging_source_is_abandoned_at_its_deadline_while_the_others_publish(
    tmp_path: Path, hanging: tuple[VendorServer, dict[str, HangingOkta]], syncers: list[Syncer]
) -> None:
    server, vendors = hanging
    # the hanging source comes first: one after another, it would hold up the other two
    sources = [okta(server, "hang1"), csv_source(tmp_path, "a"), csv_source(tmp_path, "b")]
    config = make_config(tmp_path, sources)
    syncers.append(Syncer(config))
    report = syncers[0].run()

    outcome = {r.source: (r.status, r.error) for r in report.sources}
    assert outcome["a"] == ("ok", None)
    assert outcome["b"] == ("ok", None)
    status, error = outcome["hang1"]
    assert status == "failed"
    assert "no result within 1s, its deadline: the read was abandoned" in (error or "")
    # the round ended without waiting for the hanging answer
    assert vendors["hang1"].answered == 0
    events = steps(report)
    assert events[:3] == [("hang1", "started"), ("a", "started"), ("b", "started")]
    assert events.index(("a", "written")) < events.index(("hang1", "abandoned"))
    assert events.index(("b", "written")) < events.index(("hang1", "abandoned"))
    assert events[-1] == ("", "published")
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    assert snapshot is not None
    assert snapshot.query("SELECT count(*) FROM assets") == [(6,)]
    assert snapshot.query("SELECT name, stale FROM source_status ORDER BY name") == [
        ("a", False),
        ("b", False),
        ("hang1", True),
    ]


def test_finished_sources_are_published_while_a_slow_read_goes_on(
    tmp_path: Path, hanging: tuple[VendorServer, dict[str, HangingOkta]], syncers: list[Syncer]
) -> None:
    server, _ = hanging
    config = make_config(tmp_path, [okta(server, "hang1", deadline="3s"), csv_source(tmp_path, "a")])
    syncer = Syncer(config)
    syncers.append(syncer)
    syncer.reads.idle_seconds = 0.2  # publish what is done once no read has ended for 0.2s
    report = syncer.run()
    events = steps(report)
    published = [i for i, e in enumerate(events) if e == ("", "published")]
    assert len(published) == 2
    # a's rows went out before the hanging read was given up, then once more with its failure
    assert events.index(("a", "written")) < published[0] < events.index(("hang1", "abandoned"))
    assert published[1] == len(events) - 1


def test_reads_overlap_up_to_the_concurrency_and_no_further(
    tmp_path: Path, hanging: tuple[VendorServer, dict[str, HangingOkta]], syncers: list[Syncer]
) -> None:
    server, _ = hanging
    sources = [okta(server, "hang1"), okta(server, "hang2"), okta(server, "hang3"), csv_source(tmp_path, "a")]
    syncers.append(Syncer(make_config(tmp_path, sources, concurrency=2)))
    report = syncers[0].run()

    assert {r.source: r.status for r in report.sources} == {
        "hang1": "failed",
        "hang2": "failed",
        "hang3": "failed",
        "a": "ok",
    }
    in_flight, most = 0, 0
    for _, what in steps(report):
        if what == "started":
            in_flight += 1
        elif what in ("written", "held", "failed", "abandoned"):
            in_flight -= 1
        most = max(most, in_flight)
    assert most == 2
    events = steps(report)
    # the first two hang side by side (the round waits one deadline for both, not two) ...
    assert events[:2] == [("hang1", "started"), ("hang2", "started")]
    # ... nothing else starts until one of them is abandoned, and its slot goes to the next
    assert events[2] in {("hang1", "abandoned"), ("hang2", "abandoned")}
    assert events.index(("hang3", "started")) > 2
    assert events.index(("a", "started")) > min(events.index((h, "abandoned")) for h in ("hang1", "hang2"))
    assert events.index(("a", "written")) < events.index(("hang3", "abandoned"))


def test_an_abandoned_read_is_not_started_again_while_it_runs(
    tmp_path: Path, hanging: tuple[VendorServer, dict[str, HangingOkta]], syncers: list[Syncer]
) -> None:
    server, vendors = hanging
    syncer = Syncer(make_config(tmp_path, [okta(server, "hang1")]))
    syncers.append(syncer)
    assert syncer.run().sources[0].status == "failed"
    again = syncer.run().sources[0]
    assert again.status == "failed"
    assert "previous read, abandoned at its deadline, has not ended yet" in (again.error or "")
    assert len(server.calls_to("hang1")) == 1  # no second read piled onto the hanging one

    vendors["hang1"].release.set()  # the source answers again: the old read ends (thrown away)
    for _ in range(600):
        if not syncer.reads.still_running("hang1"):
            break
        time.sleep(0.05)
    assert not syncer.reads.still_running("hang1")
    assert syncer.run().sources[0].status == "ok"


@pytest.mark.parametrize(
    ("settings", "deadline"),
    [
        pytest.param({}, timedelta(minutes=10), id="default-10x-the-60s-timeout"),
        pytest.param({"timeout": "10s"}, timedelta(seconds=100), id="10x-a-10s-timeout"),
        pytest.param({"timeout": "10s", "deadline": "25s"}, timedelta(seconds=25), id="explicit"),
    ],
)
def test_deadline_defaults_to_ten_timeouts(
    tmp_path: Path, settings: dict[str, Any], deadline: timedelta
) -> None:
    (source,) = make_config(tmp_path, [{**csv_source(tmp_path, "a"), **settings}]).sources
    assert source.read_deadline == deadline


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param({"sources": [{"deadline": "0s"}]}, "sources[0].deadline: expected a duration above zero",
                     id="zero-deadline"),
        pytest.param({"sources": [{"deadline": "soon"}]}, "sources[0].deadline: expected a duration like",
                     id="bad-deadline"),
        pytest.param({"sync": {"concurrency": 0}}, "sync.concurrency: Input should be greater than or equal",
                     id="no-concurrency"),
        pytest.param({"sync": {"paralel": 2}}, "sync.paralel: Extra inputs", id="unknown-key"),
    ],
)  # fmt: skip
def test_bad_sync_settings_are_refused_naming_their_path(
    tmp_path: Path, raw: dict[str, Any], problem: str
) -> None:
    base = csv_source(tmp_path, "a")
    raw = {**raw, "sources": [{**base, **s} for s in raw.get("sources", [{}])]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base_dir=tmp_path)
    assert problem in str(caught.value)


class LateOkta(Okta):
    """An Okta that answers only once the gateway has published something without it."""

    def __init__(self, store: Path) -> None:
        user = {
            "id": "00u00001",
            "status": "ACTIVE",
            "lastUpdated": "2024-05-01T00:00:00.000Z",
            "profile": {"login": "ann", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
        }
        super().__init__(TOKEN, [user])
        self.name = "aa_okta"
        self.store: Path | None = store

    def answer(self, call: Call) -> Reply:
        for _ in range(200):  # at most 10 s: a sync that never publishes early fails the test below
            if self.store is None or StoreReader(self.store).current() is not None:
                break
            time.sleep(0.05)
        return super().answer(call)


def people_csv(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "hr.csv"
    path.write_text("login,mail\nalee,ann@example.com\n", "utf-8")
    return {
        "name": "zz_hr",
        "kind": "spreadsheet",
        "path": str(path),
        "entities": {"people": {"id": "login", "fields": {"username": "login", "email": "mail"}}},
    }


def person_ids(store: Path) -> list[tuple[str, str, str]]:
    snapshot = StoreReader(store).current()
    assert snapshot is not None
    return snapshot.query(
        "SELECT entity_id, source, record_id FROM record_sources WHERE entity = 'people' ORDER BY source"
    )


def test_an_entitys_id_does_not_depend_on_which_source_answered_first(
    tmp_path: Path, syncers: list[Syncer]
) -> None:
    """The first round publishes the CSV source while the Okta read is still out; the person
    both describe still gets the same id as in a round where Okta answered first."""
    late_dir, calm_dir = tmp_path / "late", tmp_path / "calm"
    late_dir.mkdir()
    calm_dir.mkdir()
    late = LateOkta(late_dir / "store")
    server = VendorServer([late]).start()
    try:
        source = okta(server, "aa_okta", deadline="20s")
        # okta() turns licenses and their assignments off: people are left
        late_config = make_config(late_dir, [source, people_csv(late_dir)])
        syncer = Syncer(late_config)
        syncers.append(syncer)
        syncer.reads.idle_seconds = 0.1
        late_report = syncer.run()
        # Okta first, one source at a time: the order the ids must not depend on
        late.store = None  # answers at once
        calm_config = make_config(calm_dir, [dict(source), people_csv(calm_dir)], concurrency=1)
        syncers.append(Syncer(calm_config))
        syncers[-1].reads.idle_seconds = 0.1
        calm_report = syncers[-1].run()
    finally:
        server.stop()

    assert [r.status for r in late_report.sources] == ["ok", "ok"]
    assert [r.status for r in calm_report.sources] == ["ok", "ok"]
    late_events = steps(late_report)
    # the CSV was published on its own before Okta's answer arrived
    assert late_events.index(("", "published")) < late_events.index(("aa_okta", "written"))
    late_ids = person_ids(late_dir / "store")
    calm_ids = person_ids(calm_dir / "store")
    assert [s for _, s, _ in late_ids] == ["aa_okta", "zz_hr"]
    assert len({i for i, _, _ in late_ids}) == 1  # one person, seen by both sources
    assert late_ids == calm_ids
