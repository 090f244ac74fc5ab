"""Who reads the quality notes, over HTTP: the `quality` and `quality_summary` roots open with
the `quarantine` capability, like the quarantine; `quality` on an asset is a field of the
asset, granted like `provenance`, and shows only the notes about fields the role may read
(a field read key by key, `attributes` here, shows none: a note's value is the whole cell)."""

from __future__ import annotations

from typing import Any

import pytest
from auth_gateway import Gateway

AT_001_AND_002 = (
    '{ assets(where: {asset_tag: {_in: ["AT-001", "AT-002"]}}, order_by: [{asset_tag: asc}]) '
    "{ asset_tag quality { source record_id field value } } }"
)


def codes(answer: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in answer.get("errors") or []}


@pytest.mark.parametrize("root", ["quality", "quality_summary"])
@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("auditor", True), ("it_leader", False),
                                               ("employee", False), ("quality_reader", False)])  # fmt: skip
def test_the_roots_open_with_the_quarantine_capability(
    gateway: Gateway, root: str, role: str, allowed: bool
) -> None:
    answer = gateway.as_role(role, f"{{ {root} {{ source field reason }} }}", email="alice@example.com")
    if allowed:
        assert "errors" not in answer, answer
        assert {n["source"] for n in answer["data"][root]} == {"cmdb", "intune", "hr"}
    else:
        assert codes(answer) == {"FORBIDDEN"}
        assert answer.get("data") is None


def test_an_admin_sees_every_note_of_the_merged_records(gateway: Gateway) -> None:
    answer = gateway.as_role("admin", AT_001_AND_002)
    notes = {a["asset_tag"]: {(n["record_id"], n["field"], n["value"]) for n in a["quality"]}
             for a in answer["data"]["assets"]}  # fmt: skip
    assert notes == {
        "AT-001": {
            ("c-1", "purchase_date", "31/31/24"),
            ("i-1", "cost", "lots"),
            ("c-1", "attributes", "ram=16"),
        },
        "AT-002": {("c-2", "status", "Shredded?"), ("c-2", "cost", "TBD")},
    }


def test_a_note_about_a_field_the_role_cannot_read_is_not_shown(gateway: Gateway) -> None:
    answer = gateway.as_role("quality_reader", AT_001_AND_002)
    assert "errors" not in answer, answer
    notes = {
        a["asset_tag"]: {(n["record_id"], n["field"]) for n in a["quality"]} for a in answer["data"]["assets"]
    }
    # no cost (not readable), no attributes (read key by key)
    assert notes == {"AT-001": {("c-1", "purchase_date")}, "AT-002": {("c-2", "status")}}


def test_quality_on_assets_is_granted_like_the_other_fields(gateway: Gateway) -> None:
    # cost_history reads sources and provenance but was not granted `quality`
    answer = gateway.as_role("cost_history", "{ assets { asset_tag quality { field } } }")
    assert answer.get("data") is None
    assert codes(answer) == {"FORBIDDEN"}
    assert "quality" in answer["errors"][0]["message"]
