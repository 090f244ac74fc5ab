"""Who is calling: a bearer JWT, an API key, or nobody (the anonymous role).

`Authenticator.authenticate(headers)` returns the actor, a plain dict such as
`{"role": "employee", "subject": "u-42", "email": "ann@example.com", "via": "jwt"}`, or raises
`AuthenticationError` for a credential that is present but not good — bad signature, expired,
not yet valid, wrong issuer or audience, an algorithm the key is not pinned to (`none`
included), a role that does not exist. A bad credential is never downgraded to anonymous.

API keys (`ak_<id>_<secret>`) are stored in config as salted scrypt hashes; a verified key is
remembered (by its SHA-256) so that the scrypt cost is paid once per process. scrypt costs
~50-130 ms of CPU: callers run `authenticate` off the event loop when `costly(headers)` says
so. An unknown key id costs the same scrypt as a known one (against a stand-in hash), so ids
cannot be told apart by time, and failed attempts are limited per client and per key id
(`RateLimitedError`, before any scrypt).

Tokens: every claim the policy reads is type-checked (a list where a string is expected is
refused, not passed on to a filter), and `exp` may not lie further than
`auth.max_token_lifetime` ahead.

A verified JWT is remembered the same way, for at most `JWT_CACHE_SECONDS` and never past
its `exp`: the caches belong to the `Authenticator`, so one built from a changed key config
starts empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cachetools import LRUCache, TLRUCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from federation.access.attempts import Attempts
from federation.access.policy import Policy
from federation.config.roles import ApiKeyConfig, AuthConfig, JwtKeyConfig
from federation.model.where import Compare, Variable, walk

API_KEY_PREFIX = "ak_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: the id part of a key as `assetgraph apikey create` makes it (config: ApiKeyConfig.id)
_KEY_ID = re.compile(r"^[a-z0-9]{8,32}$")
#: operators whose operand is a list: an actor attribute used with one may be a list
LIST_OPERATORS = frozenset({"_in", "_nin", "_has_keys_any", "_has_keys_all"})
#: a claim value echoed in an error message is cut to this many characters
_ECHO = 64
#: the longest a verified JWT is remembered (tokens without `exp` included)
JWT_CACHE_SECONDS = 300.0
#: verified JWTs remembered at once
JWT_CACHE_SIZE = 4096


class AuthenticationError(Exception):
    """A credential was sent and is not good: answered 401 UNAUTHENTICATED."""


class RateLimitedError(AuthenticationError):
    """Too many failed attempts from this client, or for this key id: answered 429."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _echo(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO else text[: _ECHO - 3] + "..."


# ----------------------------------------------------------------------------- API keys


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_api_key(key: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    digest = hashlib.scrypt(key.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_api_key(key: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            key.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(_unb64(digest))
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(found, _unb64(digest))


def stand_in_hash(like: str | None) -> str:
    """A stored hash with the cost parameters of `like` that no key matches: checking an
    unknown key id against it costs what checking a known one costs."""
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    if like is not None:
        parts = like.split("$")
        if len(parts) == 6 and parts[0] == "scrypt":
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    return f"scrypt${n}${r}${p}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


def new_api_key() -> tuple[str, str]:
    """(key id, the full key `ak_<id>_<secret>`)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


# ----------------------------------------------------------------------------- JWT keys


def _load_keys(config: JwtKeyConfig, base_dir: Path) -> list[tuple[str | None, Any]]:
    """(kid, key object) pairs for one configured key."""
    if config.secret is not None:
        return [(config.kid, config.secret.encode())]
    if config.public_key is not None or config.public_key_file is not None:
        pem = config.public_key or (base_dir / str(config.public_key_file)).read_text(encoding="utf-8")
        key = serialization.load_pem_public_key(pem.encode())
        _check_family(key, config.algorithm)
        return [(config.kid, key)]
    document = json.loads((base_dir / str(config.jwks_file)).read_text(encoding="utf-8"))
    out = []
    for jwk in document.get("keys", []):
        if jwk.get("alg") not in (None, config.algorithm):
            continue  # a key published for another algorithm is not used for this one
        if config.kid is not None and jwk.get("kid") != config.kid:
            continue
        key = jwt.PyJWK.from_dict({**jwk, "alg": config.algorithm}).key
        _check_family(key, config.algorithm)
        out.append((jwk.get("kid"), key))
    return out


def _check_family(key: Any, algorithm: str) -> None:
    wanted = ec.EllipticCurvePublicKey if algorithm.startswith("ES") else rsa.RSAPublicKey
    if not isinstance(key, wanted):
        raise ValueError(f"the key is not a {wanted.__name__}, which {algorithm} needs")


class _Key:
    def __init__(self, kid: str | None, algorithm: str, key: Any) -> None:
        self.kid = kid
        self.algorithm = algorithm
        self.key = key


# ----------------------------------------------------------------------------- authenticator


class Authenticator:
    def __init__(self, config: AuthConfig | None, policy: Policy, base_dir: Path = Path(".")) -> None:
        self.config = config or AuthConfig()
        self.policy = policy
        self.keys: list[_Key] = [
            _Key(kid, c.algorithm, key) for c in self.config.jwt_keys for kid, key in _load_keys(c, base_dir)
        ]
        self.api_keys: dict[str, ApiKeyConfig] = {k.id: k for k in self.config.api_keys}
        self._stand_in = stand_in_hash(self.config.api_keys[0].hash if self.config.api_keys else None)
        self._verified: LRUCache[str, dict[str, Any]] = LRUCache(1024)
        # token's SHA-256 → (actor, when to forget it: the token's exp at the latest)
        self._tokens: TLRUCache[bytes, tuple[dict[str, Any], float]] = TLRUCache(
            JWT_CACHE_SIZE, ttu=_forget_at, timer=time.time
        )
        self._lock = threading.Lock()
        limits = self.config.failed_attempts
        window = limits.window.total_seconds()
        self.client_failures = Attempts(limits.per_client, window)
        self.key_failures = Attempts(limits.per_key, window)
        #: scrypt verifications run (known and unknown key ids alike)
        self.verifications = 0
        self.list_attributes = _list_attributes(policy)

    # ------------------------------------------------------------------ entry point
    def authenticate(self, headers: Mapping[str, str], client: str | None = None) -> dict[str, Any]:
        """The actor of a request; `client` (its address) counts failed API keys."""
        kind, credential = self._credential(headers)
        if kind == "anonymous":
            return {"role": self.policy.anonymous, "via": "anonymous"}
        if kind == "api_key":
            return self._api_key(credential, client or "-")
        return self._jwt(credential)

    def costly(self, headers: Mapping[str, str]) -> bool:
        """True when authenticating these headers may run scrypt (an API key not verified
        yet): run `authenticate` off the event loop then."""
        try:
            kind, credential = self._credential(headers)
        except AuthenticationError:
            return False
        if kind != "api_key":
            return False
        with self._lock:
            return _fingerprint(credential) not in self._verified

    def _credential(self, headers: Mapping[str, str]) -> tuple[str, str]:
        authorization = headers.get("authorization")
        api_key = headers.get("x-api-key")
        if authorization is not None and api_key is not None:
            raise AuthenticationError("send either an Authorization header or X-API-Key, not both")
        if api_key is not None:
            return "api_key", api_key.strip()
        if authorization is None:
            return "anonymous", ""
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential or " " in credential:
            raise AuthenticationError("malformed Authorization header: expected `Bearer <token>`")
        if credential.startswith(API_KEY_PREFIX):
            return "api_key", credential
        return "jwt", credential

    # ------------------------------------------------------------------ API keys
    def _api_key(self, key: str, client: str) -> dict[str, Any]:
        fingerprint = _fingerprint(key)
        with self._lock:
            cached = self._verified.get(fingerprint)
        if cached is not None:
            return dict(cached)
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] + "_" != API_KEY_PREFIX or not _KEY_ID.match(parts[1]):
            self.client_failures.failed(client)
            raise AuthenticationError("invalid API key")
        key_id = parts[1]
        for attempts, whom in ((self.client_failures, "this client"), (self.key_failures, "this key id")):
            wait = attempts.retry_after(client if whom == "this client" else key_id)
            if wait is not None:
                raise RateLimitedError(
                    f"too many failed API key attempts from {whom}; retry in {int(wait) + 1}s", wait
                )
        entry = self.api_keys.get(key_id)
        # an unknown id is checked against a stand-in hash of the same cost: same time
        matched = verify_api_key(key, entry.hash if entry is not None else self._stand_in)
        with self._lock:
            self.verifications += 1
        if entry is None or not matched:
            self.client_failures.failed(client)
            self.key_failures.failed(key_id)
            raise AuthenticationError("invalid API key")
        actor = self._actor(entry.role, {**entry.attributes, "subject": f"api_key:{entry.name}"}, "api_key")
        with self._lock:
            self._verified[fingerprint] = actor
        return dict(actor)

    # ------------------------------------------------------------------ JWT
    def _jwt(self, token: str) -> dict[str, Any]:
        fingerprint = hashlib.sha256(token.encode()).digest()
        with self._lock:
            cached = self._tokens.get(fingerprint)
        if cached is not None:
            return dict(cached[0])
        claims = self._verify(token)
        actor = self._from_claims(claims)
        exp = claims.get("exp")
        forget_at = time.time() + JWT_CACHE_SECONDS
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            forget_at = min(forget_at, float(exp))
        with self._lock:
            self._tokens[fingerprint] = (actor, forget_at)
        return dict(actor)

    def _verify(self, token: str) -> dict[str, Any]:
        """The token's claims, once its signature and registered claims are checked."""
        if not self.keys:
            raise AuthenticationError("bearer tokens are not accepted: no signing key is configured")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthenticationError("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        # each key is pinned to one algorithm: `none`, or HS256 signed with an RSA public key,
        # finds no key to try
        candidates = [k for k in self.keys if k.algorithm == alg and (kid is None or k.kid in (None, kid))]
        if not candidates:
            raise AuthenticationError(f"token algorithm {_echo(alg)} is not accepted")
        options = {"require": ["exp"] if self.config.require_exp else []}
        claims: dict[str, Any] | None = None
        last: Exception | None = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[key.algorithm],
                    audience=self.config.audience,
                    issuer=self.config.issuer,
                    leeway=self.config.leeway,
                    options=options,  # type: ignore[arg-type]
                )
                break
            except jwt.InvalidSignatureError as exc:
                last = exc
            except jwt.ExpiredSignatureError:
                raise AuthenticationError("token has expired") from None
            except jwt.ImmatureSignatureError:
                raise AuthenticationError("token is not valid yet (nbf)") from None
            except jwt.InvalidAudienceError:
                raise AuthenticationError("token audience is not accepted") from None
            except jwt.InvalidIssuerError:
                raise AuthenticationError("token issuer is not accepted") from None
            except jwt.MissingRequiredClaimError as exc:
                raise AuthenticationError(f"token lacks the {exc.claim!r} claim") from None
            except jwt.InvalidTokenError as exc:
                last = exc
        if claims is None:
            message = "token signature is invalid" if isinstance(last, jwt.InvalidSignatureError) else None
            raise AuthenticationError(message or "invalid token")
        self._check_times(claims)
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        """exp, nbf and iat are numbers (PyJWT also takes numeric strings), and the token
        lives no longer than `max_token_lifetime` (plus the leeway) from now and from iat."""
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise AuthenticationError(f"token claim {name!r} must be a number of seconds since 1970")
        exp = claims.get("exp")
        if exp is None:
            return
        longest = self.config.max_token_lifetime.total_seconds() + self.config.leeway.total_seconds()
        iat = claims.get("iat")
        if exp - time.time() > longest or (iat is not None and exp - iat > longest):
            raise AuthenticationError(
                f"token lives too long: this server accepts at most {self.config.max_token_lifetime} "
                "between iat (or now) and exp"
            )

    def _from_claims(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.config.claims
        scope: Any = claims
        if spec.namespace is not None:
            scope = claims.get(spec.namespace)
            if not isinstance(scope, dict):
                raise AuthenticationError(f"token lacks the {spec.namespace!r} claims object")
        role = scope.get(spec.role)
        if not isinstance(role, str) or not role:
            raise AuthenticationError(f"token names no role (claim {spec.role!r})")
        attributes: dict[str, Any] = {}
        for name, claim in spec.attributes.items():
            value = scope.get(claim, claims.get(claim))
            attributes[name] = _claim_value(claim, value, listed=name in self.list_attributes)
        subject = claims.get(spec.subject)
        if subject is not None and (isinstance(subject, bool) or not isinstance(subject, str | int)):
            raise AuthenticationError(f"token claim {spec.subject!r} (the subject) must be a string")
        attributes["subject"] = None if subject is None else str(subject)
        return self._actor(role, attributes, "jwt")

    def _actor(self, role: str, attributes: Mapping[str, Any], via: str) -> dict[str, Any]:
        if self.policy.role(role) is None:
            raise AuthenticationError(f"the credential names role {_echo(role)}, which does not exist")
        actor: dict[str, Any] = {"role": role, "via": via}
        for name, value in attributes.items():
            if value is None:
                continue
            if name == "categories" and isinstance(value, str):
                value = [v.strip() for v in value.strip("{}").split(",") if v.strip()]
            actor[name] = value
        return actor


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


_SCALAR = (str, int, float)


def _claim_value(claim: str, value: Any, *, listed: bool) -> Any:
    """A claim the policy reads, checked: a string or number; a list of them where a filter
    compares the attribute with a list operator (`_in`). Anything else is refused: a list
    or object where a filter expects one value must not reach the SQL."""
    if value is None or (isinstance(value, _SCALAR) and not isinstance(value, bool)):
        return value
    if (
        listed
        and isinstance(value, list)
        and all(isinstance(v, _SCALAR) and not isinstance(v, bool) for v in value)
    ):
        return value
    kind = "a list of strings" if listed else "a string or a number"
    raise AuthenticationError(f"token claim {claim!r} must be {kind}, not {type(value).__name__}")


def _list_attributes(policy: Policy) -> frozenset[str]:
    """Actor attributes the roles' filters compare only with list operators (`_in`...)."""
    listed: set[str] = set()
    single: set[str] = set()
    for access in policy.roles.values():
        for name, table in access.tables.items():
            if table.filter is None:
                continue
            for _, node in walk(table.filter, name):
                if not isinstance(node, Compare):
                    continue
                operands = node.value if isinstance(node.value, list) else [node.value]
                for operand in operands:
                    if isinstance(operand, Variable):
                        (listed if node.op in LIST_OPERATORS else single).add(operand.name)
    return frozenset(listed - single)


def _forget_at(key: bytes, value: tuple[dict[str, Any], float], now: float) -> float:
    return value[1]


# ----------------------------------------------------------------------------- dev tokens


def hs256_secret(config: AuthConfig | None) -> str | None:
    for key in (config or AuthConfig()).jwt_keys:
        if key.algorithm == "HS256" and key.secret:
            return key.secret
    return None


def issue_token(
    config: AuthConfig,
    role: str,
    attributes: Mapping[str, Any],
    *,
    subject: str,
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """An HS256 token signed with the config's secret, with claims where the config reads them."""
    secret = hs256_secret(config)
    if secret is None:
        raise ValueError("the config has no HS256 secret under auth.jwt_keys")
    now = now or datetime.now(UTC)
    spec = config.claims
    inner: dict[str, Any] = {spec.role: role}
    for name, value in attributes.items():
        if value is not None and name in spec.attributes:
            inner[spec.attributes[name]] = value
    claims: dict[str, Any] = {spec.subject: subject, "iat": now, "exp": now + ttl}
    if config.issuer:
        claims["iss"] = config.issuer
    if config.audience:
        claims["aud"] = config.audience
    if spec.namespace:
        claims[spec.namespace] = inner
    else:
        claims.update(inner)
    kid = next((k.kid for k in config.jwt_keys if k.algorithm == "HS256" and k.secret == secret), None)
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid} if kid else None)
