"""Shared fixtures: URLs of the real database servers the tests run against, and the
Hypothesis profiles.

A server that cannot be reached skips its tests, except under CI (`CI=true`), where a missing
server fails them: CI must never pass by skipping.

Hypothesis profiles: `full` (the default) runs every property test at its full size — the
no-leak test sends 5,200 queries; `pytest --hypothesis-profile=quick` runs a few examples of
each, for a quick local pass. CI always runs `full`: asking it for another profile is an error.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from hypothesis import settings

CI = os.environ.get("CI", "").lower() == "true"

settings.register_profile("full", deadline=None)
settings.register_profile("quick", deadline=None, max_examples=10)
settings.load_profile("full")


@pytest.hookimpl(trylast=True)  # after Hypothesis' plugin has loaded --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    if CI and settings.get_current_profile_name() != "full":
        raise pytest.UsageError("CI runs the property tests at full size: drop --hypothesis-profile")


def _reachable_url(env: str, default: str) -> str:
    url = os.environ.get(env, default)
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        safe = sa.make_url(url).render_as_string(hide_password=True)
        reason = f"{env}: cannot reach {safe} ({type(exc.orig or exc).__name__})"
        if CI:
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _reachable_url("ASSETGRAPH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    return _reachable_url("ASSETGRAPH_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
