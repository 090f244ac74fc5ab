"""The repo's config.yaml for tests: relocated into a temporary folder, its simulated Okta and
Microsoft 365 on a free port of 127.0.0.1 (never the fixed `demo.vendor_port` of the file,
which another process on the machine may hold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.demo.estate import make_estate
from federation.demo.saas import start_simulator

REPO = Path(__file__).resolve().parents[2]
#: the variable config.yaml's okta and m365 sources take their address from
VENDORS_ENV = "ASSETGRAPH_DEMO_VENDORS"


def vendor_port() -> int:
    """This process's demo simulator on a port of its own (the same one on every call)."""
    url = start_simulator(lambda: make_estate(7, 30), 0, estate_key=("tests", 30))
    return int(url.rsplit(":", 1)[1])


def write_demo_config(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    every_source: dict[str, Any] | None = None,
    **demo: Any,
) -> Path:
    """config.yaml into `folder`: `demo:` settings overridden by `demo`, `every_source` merged
    into each source, the simulator on a free port and ${ASSETGRAPH_DEMO_VENDORS} pointing at it."""
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    port = vendor_port()
    raw["demo"] = {**raw["demo"], **demo, "vendor_port": port}
    raw["sources"] = [{**source, **(every_source or {})} for source in raw["sources"]]
    monkeypatch.setenv(VENDORS_ENV, f"http://127.0.0.1:{port}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
