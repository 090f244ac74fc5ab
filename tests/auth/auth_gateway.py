"""Shared by the authorization and client tests: the hand-written estate of tests/schema served over
real HTTP (uvicorn on 127.0.0.1) with the demo config's `auth:` and `roles:` sections, and
helpers that mint tokens and send queries as a role."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pandas as pd
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schema"))

from schema_estate import aid, frames
from support.serving import serving

from federation.config.settings import Config, parse_config
from federation.pipeline.store import Publisher, StoreReader
from federation.serving.app import create_app

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-for-the-authorization-tests-0123456789"
ISSUER = "assetgraph-test"
AUDIENCE = "assetgraph"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = (
    RSA_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


#: roles that exist only in the tests: row filters on both ends of a relationship
TEST_ROLES: dict[str, Any] = {
    "laptop_finance": {
        "types": {
            "assets": {
                "columns": ["asset_tag", "category", "assigned_to", "location"],
                "filter": {"category": {"_eq": "laptop"}},
                "allow_aggregations": True,
            },
            "people": {
                "columns": ["name", "email", "assets"],
                "filter": {"department": {"_eq": "Finance"}},
                "allow_aggregations": True,
            },
            "locations": {"columns": ["name", "assets"]},
        }
    },
    # service_desk's key grants on `attributes` (cpu, ram_gb, disk_gb), plus the history
    "desk_history": {
        "inherits": ["service_desk"],
        "types": {"assets": {"columns": ["provenance", "conflicts"]}},
    },
    # costs with their history, without the host name (which the estate also traces)
    "cost_history": {
        "types": {"assets": {"columns": ["asset_tag", "cost", "sources", "provenance", "conflicts"]}},
    },
    # quality notes on assets, without `cost` and with only one key of `attributes`
    "quality_reader": {
        "types": {
            "assets": {"columns": ["asset_tag", "status", "purchase_date", "quality", "attributes.ram_gb"]}
        },
    },
    "team_lead": {
        "inherits": ["employee"],
        "types": {
            "people": {
                "columns": ["name", "email", "department"],
                "filter": {"department": {"_eq": "X-Actor-Department"}},
            }
        },
    },
}


def demo_sections() -> dict[str, Any]:
    """The repo config.yaml's auth and roles sections (the demo roles under test)."""
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return {"auth": raw["auth"], "roles": raw["roles"]}


def make_config(tmp: Path, **overrides: Any) -> Config:
    sections = demo_sections()
    auth = dict(sections["auth"])
    auth["issuer"] = ISSUER
    auth["audience"] = AUDIENCE
    auth["jwt_keys"] = [
        {"kid": "hs", "algorithm": "HS256", "secret": SECRET},
        {"kid": "rs", "algorithm": "RS256", "public_key": RSA_PUBLIC_PEM},
    ]
    auth.update(overrides.pop("auth", {}))
    roles = {**sections["roles"], **TEST_ROLES}
    raw = {"store": {"path": str(tmp / "store")}, "auth": auth, "roles": roles, **overrides}
    return parse_config(raw, base_dir=tmp)


def token(
    role: str | None,
    *,
    email: str | None = None,
    key: Any = SECRET,
    algorithm: str = "HS256",
    kid: str | None = "hs",
    expires_in: timedelta = timedelta(minutes=10),
    **claims: Any,
) -> str:
    now = datetime.now(UTC)
    body: dict[str, Any] = {"sub": email or f"test-{role}", "iss": ISSUER, "aud": AUDIENCE, "iat": now}
    body["exp"] = now + expires_in
    if role is not None:
        body["role"] = role
    if email is not None:
        body["email"] = email
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


class Gateway:
    """Sends GraphQL over HTTP as a role (a token minted per call)."""

    def __init__(self, http: httpx.Client, store: Path) -> None:
        self.http = http
        self.store = store

    def post(self, query: str, *, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        return self.http.post("/graphql", json={"query": query, **body}, headers=headers or {})

    def as_role(
        self, role: str | None, query: str, *, email: str | None = None, **body: Any
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token(role, email=email)}"} if role else {}
        response = self.post(query, headers=headers, **body)
        assert response.status_code == 200, response.text
        return response.json()


#: provenance and conflicts of `attributes` (keys: ram_gb visible to service_desk, the
#: others not), added to the estate's for the key-level tests
ATTRIBUTE_PROVENANCE = [
    ("assets", aid(3), "attributes", "intune", "i-3", '{"encryption": "on", "ram_gb": 32}'),
]
ATTRIBUTE_CONFLICTS = [
    # differ on ram_gb: a conflict for service_desk too
    ("assets", aid(1), "attributes", "cmdb", "c-1", '{"gpu": false, "ram_gb": 16}'),
    ("assets", aid(1), "attributes", "sheet", "s-1", '{"gpu": true, "ram_gb": 8}'),
    # differ on encryption only: no conflict for service_desk
    ("assets", aid(3), "attributes", "intune", "i-3", '{"encryption": "on", "ram_gb": 32}'),
    ("assets", aid(3), "attributes", "cmdb", "c-3", '{"encryption": "off", "ram_gb": 32}'),
]


def auth_frames() -> dict[str, pd.DataFrame]:
    """The schema estate plus the `attributes` provenance and conflicts above."""
    out = frames()
    fetched = out["provenance"]["fetched_at"].iloc[0]
    extra = pd.DataFrame([(*r, fetched) for r in ATTRIBUTE_PROVENANCE], columns=out["provenance"].columns)
    out["provenance"] = pd.concat([out["provenance"], extra], ignore_index=True)
    extra = pd.DataFrame(ATTRIBUTE_CONFLICTS, columns=out["conflicts"].columns)
    out["conflicts"] = pd.concat([out["conflicts"], extra], ignore_index=True)
    return out


@pytest.fixture(scope="session")
def auth_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("auth")
    Publisher(root / "store").publish(auth_frames())
    return root


@pytest.fixture(scope="session")
def gateway(auth_store: Path) -> Iterator[Gateway]:
    config = make_config(auth_store)
    app = create_app(config, StoreReader(auth_store / "store"))
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Gateway(http, auth_store / "store")


@pytest.fixture(scope="session")
def schema_store(auth_store: Path) -> Path:
    return auth_store / "store"
