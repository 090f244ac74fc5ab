"""The embedded demo: four realistic, overlapping, quirky sources generated on first start.

`generate_demo` renders one seeded estate (`estate.py`) as a ServiceNow-like CMDB, finance's
fixed-asset workbook, a discovery tool's CSV export and the endpoint team's own database
(`databases.py`, `files.py`) and the GLPI agents' inventories of the machines in use, with
their installed software (`software.py`), and starts a local simulator of Okta and Microsoft
365 over the same estate's people (`saas.py`, on 127.0.0.1 at `demo.vendor_port`). The same seed and size
always give the same files. A marker file records what was generated, and the figures built
in (overlaps, disagreements, showcase records) so tests and newcomers can check the gateway's
answers against them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from federation.config.settings import Config, DemoConfig
from federation.demo.databases import write_cmdb, write_endpoint
from federation.demo.estate import make_estate
from federation.demo.files import write_finance, write_inventory
from federation.demo.saas import VendorPortTaken, start_simulator
from federation.demo.software import write_glpi

#: bump when the generated files change shape, so existing demo folders are regenerated
GENERATOR_VERSION = 2
MARKER = ".demo-generated.json"
FILES = ("cmdb.sqlite", "endpoint_team.sqlite", "inventory.csv", "finance.xlsx", "glpi")

__all__ = ["FILES", "GENERATOR_VERSION", "MARKER", "VendorPortTaken", "generate_demo", "read_marker"]


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a generated demo folder, or None when there is none (or it is unreadable)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _stamp(demo: DemoConfig) -> dict[str, int]:
    return {"generator": GENERATOR_VERSION, "seed": demo.seed, "assets": demo.assets}


def generate_demo(config: Config, *, force: bool = False) -> Path:
    """Write the demo sources into `demo.path` (relative to the config's folder) and return
    the folder. Skipped when the folder already holds this generator's output for the same
    seed and size, unless `force`. A demo file deleted by hand is not written again: that is
    how a source is made to fail (the gateway keeps its last good snapshot); delete the
    marker or the folder to start afresh. Raises VendorPortTaken when another program holds
    `demo.vendor_port`."""
    demo = config.settings.demo or DemoConfig()
    # the simulated Okta and Microsoft 365 (saas.py) run in this process, whatever the files
    start_simulator(
        lambda: make_estate(demo.seed, demo.assets), demo.vendor_port, estate_key=(demo.seed, demo.assets)
    )
    folder = config.resolve(demo.path)
    stamp = _stamp(demo)
    marker = read_marker(folder)
    if not force and marker is not None and {k: marker.get(k) for k in stamp} == stamp:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)  # a half-written folder is never "current"
    estate = make_estate(demo.seed, demo.assets)
    figures = {
        "cmdb": write_cmdb(estate, folder / "cmdb.sqlite"),
        "endpoint_team": write_endpoint(estate, folder / "endpoint_team.sqlite"),
        "inventory": write_inventory(estate, folder / "inventory.csv"),
        "finance": write_finance(estate, folder / "finance.xlsx"),
        "glpi": write_glpi(estate, folder / "glpi"),
    }
    a = estate.assets
    everywhere = a["in_cmdb"] & a["in_finance"] & a["in_inventory"] & a["in_endpoint"]
    figures["estate"] = {
        "assets": len(a),
        "people": len(estate.people),
        "in_all_four": int(everywhere.sum()),
        "showcase": {"asset_tag": a["asset_tag"].iat[0], "serial_number": a["serial"].iat[0]},
    }
    text = json.dumps({**stamp, "figures": figures}, indent=2, sort_keys=True)
    (folder / MARKER).write_text(text + "\n", encoding="utf-8")
    return folder


def prepare_demo(config: Config) -> None:
    """Write the demo's sources if the config asks for them (the CLI calls this before it
    syncs or serves; the sync pipeline knows nothing of the demo)."""
    demo = config.settings.demo
    if demo is not None and demo.generate:
        generate_demo(config)
