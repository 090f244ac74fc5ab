"""Identity clustering on its own: which records are one thing, and what is ambiguous."""

from __future__ import annotations

import pandas as pd
import pytest

from federation.pipeline.identity import cluster

RULES = [["serial_number"], ["asset_tag"], ["mac_addresses"], ["hostname", "manufacturer"]]
COLUMNS = ["serial_number", "asset_tag", "mac_addresses", "hostname", "manufacturer"]


def _groups(rows: list[tuple[object, ...]]) -> tuple[list[set[int]], list[tuple[int, str]]]:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    result = cluster(frame, RULES)
    by_root: dict[int, set[int]] = {}
    for i, root in enumerate(result.root):
        by_root.setdefault(int(root), set()).add(i)
    groups = sorted(by_root.values(), key=min)
    return groups, [(a.record, a.rule) for a in result.ambiguities]


@pytest.mark.parametrize(
    ("rows", "groups", "ambiguous"),
    [
        pytest.param(
            [("S1", None, None, None, None), (" s1 ", None, None, None, None)],
            [{0, 1}],
            [],
            id="serial-ignores-case-and-space",
        ),
        pytest.param(
            [("S1", "P1", None, None, None), (None, "P1", None, None, None), (None, None, None, None, None)],
            [{0, 1}, {2}],
            [],
            id="tag-joins-a-record-without-serial; empty keys never match",
        ),
        pytest.param(
            [("S1", "P1", None, None, None), ("S2", "P1", None, None, None)],
            [{0}, {1}],
            [(1, "asset_tag")],
            id="shared-tag-different-serials-is-ambiguous",
        ),
        pytest.param(
            [
                (None, None, ["aa"], None, None),
                (None, None, ["aa", "bb"], None, None),
                (None, None, ["bb"], None, None),
            ],
            [{0, 1, 2}],
            [],
            id="macs-chain-through-a-machine-with-two-nics",
        ),
        pytest.param(
            [
                ("S1", "P1", None, "lt-1", "Dell"),
                (None, "P2", None, "lt-1", "Dell"),
            ],
            [{0}, {1}],
            [(1, "hostname+manufacturer")],
            id="hostname-cannot-join-two-tags",
        ),
        pytest.param(
            [(None, None, None, "lt-1", "Dell"), (None, None, None, "lt-1", "HP")],
            [{0}, {1}],
            [],
            id="hostname-needs-the-same-manufacturer",
        ),
        pytest.param(
            [
                ("S1", None, None, None, None),
                ("S1", "P1", None, None, None),
                (None, "P1", ["aa"], None, None),
                (None, None, ["aa"], "x", "y"),
                ("S9", None, None, "x", "y"),
            ],
            [{0, 1, 2, 3}, {4}],
            [(4, "hostname+manufacturer")],
            id="weaker-rule-cannot-merge-a-cluster-with-another-serial",
        ),
    ],
)
def test_clusters(
    rows: list[tuple[object, ...]], groups: list[set[int]], ambiguous: list[tuple[int, str]]
) -> None:
    got_groups, got_ambiguous = _groups(rows)
    assert got_groups == groups
    assert got_ambiguous == ambiguous
