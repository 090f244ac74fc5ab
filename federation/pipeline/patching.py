"""A write's patch published: a copy of the current snapshot with the patches applied.

    patched_copy(current, tmp, patches, snapshot_id, row_group_size=ROW_GROUP_SIZE)

(`Publisher.patch`, federation/pipeline/store.py, journals the patches, calls this under the
publish lock and swaps the copy in.) The copy is attached with the row group size the store
lays its model tables out in (layout.py): attached with DuckDB's default, the checkpoint at
DETACH rewrites every table it touched into groups of 122,880 rows — a second or so at 100k
assets, and the write's snapshot loses the small groups that min/max pruning needs. Attached
with the store's size, only what changed is written, and rows stay where they were.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from federation.pipeline.layout import ROW_GROUP_SIZE
from federation.pipeline.patches import Patch, apply


def patched_copy(
    current: Path,
    tmp: Path,
    patches: Sequence[Patch],
    snapshot_id: str,
    *,
    row_group_size: int = ROW_GROUP_SIZE,
) -> None:
    """Write `tmp`: `current` with `patches` applied, named `snapshot_id`. Nothing is left
    at `tmp` if it fails."""
    shutil.copyfile(current, tmp)  # readers keep the original; the copy is only ours
    quoted = str(tmp).replace("'", "''")
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{quoted}' AS pub (ROW_GROUP_SIZE {int(row_group_size)})")
        apply(con, patches)
        con.execute("UPDATE pub.publish_info SET snapshot_id = ?", [snapshot_id])
        con.execute("DETACH pub")
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp.with_suffix(".tmp.wal").unlink(missing_ok=True)
        raise
    finally:
        con.close()
