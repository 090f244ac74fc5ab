"""The published store: a publish killed half-way leaves nothing behind once syncing resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from federation.pipeline.store import Publisher, StoreReader

#: a process that publishes one snapshot, then starts a second and is killed inside it
KILLED_MID_PUBLISH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pandas as pd
    from federation.pipeline.store import Publisher

    publisher = Publisher(Path(sys.argv[1]))
    publisher.publish({"locations": pd.DataFrame({"id": ["a"], "name": ["Berlin Office"]})})

    def build(con):
        con.execute("CREATE TABLE pub.filler AS SELECT range AS n FROM range(200000)")
        print("building", flush=True)
        time.sleep(60)

    publisher.publish_with(__import__("duckdb").connect(), build)
    """
)


def test_files_of_a_publish_killed_half_way_are_removed_when_publishing_resumes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_PUBLISH, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "building"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
    published = tmp_path / "published"
    leftovers = sorted(p.name for p in published.iterdir() if ".tmp" in p.name)
    assert any(name.endswith(".tmp") for name in leftovers), leftovers  # the half-written file
    current = StoreReader(tmp_path).current()
    assert current is not None

    Publisher(tmp_path)  # the next process to hold the sync lock

    assert sorted(p.name for p in published.iterdir() if ".tmp" in p.name) == []
    assert StoreReader(tmp_path).current().path == current.path  # what was served stays
    assert current.query("SELECT name FROM locations") == [("Berlin Office",)]


def test_published_files_and_the_pointer_are_kept(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    publisher.publish({"locations": pd.DataFrame({"id": ["a"], "name": ["Austin Office"]})})
    before = sorted(p.name for p in (tmp_path / "published").iterdir())
    Publisher(tmp_path)
    assert sorted(p.name for p in (tmp_path / "published").iterdir()) == before
