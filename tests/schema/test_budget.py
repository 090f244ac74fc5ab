"""The whole request is bounded: a root field whose limits allow more objects than the
server's budget is refused before it runs, and a statement past the deadline is stopped."""

from __future__ import annotations

from typing import Any

import pytest
from schema_estate import Runner

from federation.access.errors import QueryTooComplexError
from federation.config.settings import ServerConfig
from schema.compile import Compiled
from schema.execute import _run


@pytest.fixture
def budget(store: Any, schema: Any) -> Runner:
    return Runner(store, schema, ServerConfig(max_rows=10_000))


@pytest.mark.parametrize(
    ("query", "estimate"),
    [
        # the auditor's amplification: 500 assets x their location's 1,000 assets
        pytest.param("{ assets(limit: 500) { location { assets(limit: 1000) { asset_tag } } } }",
                     500 + 500 + 500 * 1000, id="through-a-to-one"),
        pytest.param("{ people { assets { id } } }", 100 + 100 * 1000, id="default-limits"),
        pytest.param("{ locations(limit: 10) { assets_aggregate { nodes { id } } } }",
                     10 + 10 * 1000, id="aggregate-nodes"),
    ],
)  # fmt: skip
def test_over_budget_is_refused_up_front(budget: Runner, query: str, estimate: int) -> None:
    error = budget.error(query)
    assert error.extensions["code"] == "QUERY_TOO_COMPLEX"
    assert error.extensions["estimate"] == estimate
    assert error.extensions["budget"] == 10_000
    assert "smaller limits" in error.message


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ people { assets(limit: 50) { id } } }", id="explicit-small-limits"),
        pytest.param("{ assets(limit: 1000) { location { name } } }", id="to-one-only"),
    ],
)
def test_within_budget_runs(budget: Runner, query: str) -> None:
    assert budget.data(query)


def test_a_statement_past_the_deadline_is_interrupted(run: Any) -> None:
    ctx = run.context()
    ctx.server = ServerConfig(deadline_seconds=0.2)
    slow = Compiled("SELECT count(*) FROM range(100000000000) AS a(x) WHERE x % 7 = 3", {}, [], "null")
    with pytest.raises(QueryTooComplexError, match=r"deadline of 0\.2 s"):
        _run(ctx, ctx.snapshot.cursor(), slow)
    # the cursor is usable again afterwards
    assert ctx.snapshot.cursor().execute("SELECT 1").fetchone() == (1,)


def test_the_deadline_holds_after_statements_that_ended_in_time(run: Any) -> None:
    """Statements that end in time leave their deadlines behind unwoken: a later statement
    with an earlier deadline than theirs is still interrupted at its own (this one would
    otherwise run to its end, seconds later, and return)."""
    ctx = run.context()
    ctx.server = ServerConfig(deadline_seconds=600)
    quick = Compiled("SELECT 1", {}, [], "null")
    for _ in range(50):
        assert _run(ctx, ctx.snapshot.cursor(), quick) == (1,)
    ctx.server = ServerConfig(deadline_seconds=0.2)
    finite = Compiled("SELECT count(*) FROM range(2000000000) AS a(x) WHERE x % 7 = 3", {}, [], "null")
    with pytest.raises(QueryTooComplexError, match=r"deadline of 0\.2 s"):
        _run(ctx, ctx.snapshot.cursor(), finite)
    ctx.server = ServerConfig(deadline_seconds=600)  # a statement that ends in time is not refused
    assert _run(ctx, ctx.snapshot.cursor(), quick) == (1,)
