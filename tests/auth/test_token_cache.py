"""Verified JWTs are remembered: the signature is checked once per token and process, never
past the token's `exp`, and never by an authenticator built from another key config."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest

from federation.access import auth
from federation.access.auth import AuthenticationError, Authenticator
from federation.access.policy import compile_policy
from federation.config.roles import AuthConfig, JwtKeyConfig, RoleConfig

SECRET = "token-cache-test-secret-0123456789-abcdefghij"
OTHER_SECRET = "token-cache-test-rotated-secret-9876543210-zyx"


def authenticator(secret: str = SECRET, leeway: int = 0) -> Authenticator:
    config = AuthConfig(
        jwt_keys=[JwtKeyConfig(algorithm="HS256", secret=secret)], leeway=timedelta(seconds=leeway)
    )
    policy = compile_policy({"employee": RoleConfig.model_validate({"types": {}})})
    return Authenticator(config, policy)


def bearer(claims: dict[str, Any], secret: str = SECRET) -> dict[str, str]:
    return {"authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the signature checks (PyJWT still does them)."""
    calls: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return calls


def test_a_verified_token_is_checked_once(decodes: list[str]) -> None:
    authn = authenticator()
    headers = bearer({"sub": "u-1", "role": "employee", "email": "ann@example.com", "exp": time.time() + 600})
    first = authn.authenticate(headers)
    first["role"] = "admin"  # callers get a copy: the cached actor stays as verified
    second = authn.authenticate(headers)
    assert second == {"role": "employee", "via": "jwt", "email": "ann@example.com", "subject": "u-1"}
    assert len(decodes) == 1


def test_a_remembered_token_is_forgotten_at_its_exp() -> None:
    authn = authenticator(leeway=0)
    headers = bearer({"sub": "u-1", "role": "employee", "exp": int(time.time()) + 2})
    assert authn.authenticate(headers)["role"] == "employee"
    deadline = int(time.time()) + 2
    while time.time() <= deadline + 0.05:
        time.sleep(0.05)
    with pytest.raises(AuthenticationError, match="expired"):
        authn.authenticate(headers)


def test_a_changed_key_config_does_not_see_the_old_cache() -> None:
    headers = bearer({"sub": "u-1", "role": "employee", "exp": time.time() + 600})
    assert authenticator(SECRET).authenticate(headers)["role"] == "employee"
    with pytest.raises(AuthenticationError, match="signature"):
        authenticator(OTHER_SECRET).authenticate(headers)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"sub": "u-1", "role": "ghost", "exp": time.time() + 600}, id="unknown-role"),
        pytest.param({"sub": "u-1", "exp": time.time() + 600}, id="no-role"),
    ],
)
def test_refused_tokens_are_checked_every_time(decodes: list[str], claims: dict[str, Any]) -> None:
    authn = authenticator()
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            authn.authenticate(bearer(claims))
    assert len(decodes) == 2


def test_the_cache_is_bounded() -> None:
    authn = authenticator()
    for n in range(auth.JWT_CACHE_SIZE + 50):
        authn.authenticate(bearer({"sub": f"u-{n}", "role": "employee", "exp": time.time() + 600}))
    assert len(authn._tokens) == auth.JWT_CACHE_SIZE
