"""Authentication over HTTP: good, bad, expired and forged credentials; API keys; the CLI's
dev tokens and keys. A bad credential is 401 UNAUTHENTICATED, never the anonymous role."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from auth_gateway import RSA_KEY, RSA_PUBLIC_PEM, SECRET, Gateway, make_config, serving, token
from cryptography.hazmat.primitives.asymmetric import ec

from federation.access.auth import hash_api_key, verify_api_key
from federation.config.settings import ConfigError, parse_config
from federation.pipeline.store import StoreReader
from federation.serving.app import create_app
from federation.serving.cli import main

QUERY = "{ assets(limit: 1) { asset_tag } }"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def unsigned(role: str) -> str:
    claims = {"sub": "x", "role": role, "iss": "assetgraph-test", "aud": "assetgraph", "exp": 4102444800}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def hs_signed_with_public_key(role: str, kid: str | None) -> str:
    """The classic confusion: an HS256 token whose HMAC key is the server's RSA public key."""
    import hashlib
    import hmac

    header = _b64({"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})})
    claims = _b64(
        {"sub": "x", "role": role, "iss": "assetgraph-test", "aud": "assetgraph", "exp": 4102444800}
    )
    signature = hmac.new(RSA_PUBLIC_PEM.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def unauthenticated(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return error["message"]


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        pytest.param(
            lambda: token("admin", key="another-secret-another-secret-0123456789"),
            "signature",
            id="wrong-signature",
        ),
        pytest.param(lambda: token("admin", expires_in=timedelta(minutes=-5)), "expired", id="expired"),
        pytest.param(lambda: token("admin", nbf=4102444800), "not valid yet", id="nbf-in-the-future"),
        pytest.param(lambda: token("admin", aud="someone-else"), "audience", id="wrong-audience"),
        pytest.param(lambda: token("admin", iss="https://evil.example"), "issuer", id="wrong-issuer"),
        pytest.param(lambda: token("admin", exp=None), "exp", id="no-exp"),
        pytest.param(lambda: unsigned("admin"), "'none' is not accepted", id="alg-none"),
        pytest.param(lambda: hs_signed_with_public_key("admin", None), "signature", id="hs-rs-confusion"),
        pytest.param(
            lambda: hs_signed_with_public_key("admin", "rs"),
            "'HS256' is not accepted",
            id="hs-rs-confusion-kid",
        ),
        pytest.param(lambda: token("superuser"), "role 'superuser'", id="unknown-role"),
        pytest.param(lambda: token(None), "names no role", id="no-role"),
        pytest.param(
            lambda: token("admin", key=ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", kid=None),
            "'ES256' is not accepted",
            id="unpinned-algorithm",
        ),
        pytest.param(lambda: "not.a.jwt", "malformed", id="garbage"),
    ],
)
def test_bad_tokens_are_unauthenticated(gateway: Gateway, authorization: Any, message: str) -> None:
    response = gateway.post(QUERY, headers={"authorization": f"Bearer {authorization()}"})
    assert message in unauthenticated(response)


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"],
)
def test_malformed_authorization_header(gateway: Gateway, header: str) -> None:
    unauthenticated(gateway.post(QUERY, headers={"authorization": header}))


def test_rs256_token_is_accepted(gateway: Gateway) -> None:
    signed = token("network_team", key=RSA_KEY, algorithm="RS256", kid="rs")
    body = gateway.post(QUERY, headers={"authorization": f"Bearer {signed}"}).json()
    assert body == {"data": {"assets": [{"asset_tag": "AT-011"}]}}


def test_no_credential_is_anonymous(gateway: Gateway) -> None:
    body = gateway.post(QUERY).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "role `anonymous`" in body["errors"][0]["message"]
    assert gateway.post("{ no_access }").json() == {
        "data": {"no_access": "this role reads nothing: send a token or an API key"}
    }


def test_hasura_claims_namespace(auth_store: Path) -> None:
    namespace = "https://hasura.io/jwt/claims"
    claims = {"namespace": namespace, "role": "x-hasura-default-role",
              "attributes": {"email": "x-hasura-user-email",
                             "department": "x-hasura-department"}}  # fmt: skip
    config = make_config(auth_store, auth={"claims": claims})
    app = create_app(config, StoreReader(auth_store / "store"))
    inner = {"x-hasura-default-role": "employee", "x-hasura-user-email": "erin@example.com"}
    signed = token(None, **{namespace: inner})
    with serving(app) as url, httpx.Client(base_url=url) as http:
        body = http.post("/graphql", json={"query": "{ people { email } }"},
                         headers={"authorization": f"Bearer {signed}"}).json()  # fmt: skip
        assert body == {"data": {"people": [{"email": "erin@example.com"}]}}
        flat = token("employee", email="erin@example.com")  # claims outside the namespace
        response = http.post("/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {flat}"})
        assert "lacks" in unauthenticated(response)


# ----------------------------------------------------------------------------- API keys


def test_api_key_hash_round_trip() -> None:
    stored = hash_api_key("ak_abc_secret")
    assert stored.startswith("scrypt$")
    assert verify_api_key("ak_abc_secret", stored)
    assert not verify_api_key("ak_abc_secreT", stored)
    assert hash_api_key("ak_abc_secret") != stored  # salted


def test_api_keys_over_http(auth_store: Path) -> None:
    key = "ak_0123456789ab_" + "s" * 40
    entry = {"name": "dashboard", "id": "0123456789ab", "hash": hash_api_key(key), "role": "network_team"}
    config = make_config(auth_store, auth={"api_keys": [entry]})
    app = create_app(config, StoreReader(auth_store / "store"))
    with serving(app) as url, httpx.Client(base_url=url) as http:
        for headers in ({"x-api-key": key}, {"authorization": f"Bearer {key}"}):
            body = http.post("/graphql", json={"query": QUERY}, headers=headers).json()
            assert body == {"data": {"assets": [{"asset_tag": "AT-011"}]}}
        for bad in (key[:-1] + "t", "ak_ffffffffffff_" + "s" * 40, "ak_nonsense"):
            response = http.post("/graphql", json={"query": QUERY}, headers={"x-api-key": bad})
            assert unauthenticated(response) == "invalid API key"


# ----------------------------------------------------------------------------- CLI


def _config_file(tmp_path: Path, **auth: Any) -> Path:
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yaml").read_text(encoding="utf-8"))
    doc = {"store": {"path": str(tmp_path / "store")}, "auth": {**raw["auth"], **auth}, "roles": raw["roles"]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_cli_token_is_signed_with_the_config_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "cli-test-secret-0123456789-0123456789"
    path = _config_file(tmp_path, jwt_keys=[{"algorithm": "HS256", "secret": secret}])
    assert main(["token", "--role", "employee", "--email", "ann@example.com", "--config", str(path)]) == 0
    issued = capsys.readouterr().out.strip()
    claims = jwt.decode(issued, secret, algorithms=["HS256"], audience="assetgraph", issuer="assetgraph-dev")
    assert claims["role"] == "employee"
    assert claims["email"] == "ann@example.com"
    assert claims["exp"] > claims["iat"]


def test_cli_token_refuses_without_hs256_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config_file(tmp_path, jwt_keys=[{"algorithm": "RS256", "public_key": RSA_PUBLIC_PEM}])
    assert main(["token", "--role", "admin", "--config", str(path)]) == 1
    assert "no HS256 secret" in capsys.readouterr().err


def test_cli_token_refuses_an_unknown_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config_file(tmp_path, jwt_keys=[{"algorithm": "HS256", "secret": SECRET}])
    assert main(["token", "--role", "root", "--config", str(path)]) == 1
    assert "unknown role 'root'" in capsys.readouterr().err


def test_cli_apikey_create(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config_file(tmp_path)
    assert main(["apikey", "create", "--role", "it_leader", "--name", "grafana", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    key = re.search(r"(ak_[a-z0-9]+_\S+)", out).group(1)  # type: ignore[union-attr]
    snippet = yaml.safe_load(out[out.index("auth:") :])
    (entry,) = snippet["auth"]["api_keys"]
    assert entry["name"] == "grafana"
    assert entry["role"] == "it_leader"
    assert key not in out[out.index("auth:") :]  # only the hash goes into config
    assert verify_api_key(key, entry["hash"])
    assert key.split("_")[1] == entry["id"]


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("roles", "problem"),
    [
        pytest.param(
            {"r": {"types": {"computers": {"columns": "*"}}}},
            "roles.r.types.computers: unknown type",
            id="type",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": ["price"]}}}},
            "roles.r.types.assets.columns[0]: unknown field 'price'",
            id="field",
        ),
        pytest.param(
            {"r": {"inherits": ["boss"]}}, "roles.r.inherits[0]: unknown role 'boss'", id="inherits"
        ),
        pytest.param(
            {"r": {"types": {"assets": {"filter": {"hostname": {"_eq": "X-Actor-Shoe-Size"}}}}}},
            "roles.r.types.assets.filter.hostname._eq: unknown actor variable 'X-Actor-Shoe-Size'",
            id="variable",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"filter": {"assigned_to": {"mail": {"_eq": "x"}}}}}}},
            "roles.r.types.assets.filter.assigned_to.mail: unknown field of people",
            id="nested-field",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"filter": {"cost": {"_like": "1%"}}}}}},
            "roles.r.types.assets.filter.cost._like: unknown operator",
            id="operator",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"actions": ["steal"]}}}},
            "roles.r.types.assets.actions[0]: unknown action 'steal'",
            id="action",
        ),
        pytest.param({"a": {"inherits": ["b"]}, "b": {"inherits": ["a"]}}, "inheritance cycle", id="cycle"),
        pytest.param(
            {"r": {"types": {"assets": {"columns": ["asset_tag", "hostname.ram_gb"]}}}},
            "roles.r.types.assets.columns[1]: 'hostname.ram_gb': a key grant needs a JSON column of assets",
            id="json-key-on-a-plain-column",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": ["attributes.ram-gb"]}}}},
            "roles.r.types.assets.columns[0]: 'attributes.ram-gb': a JSON key is letters, digits and _",
            id="json-key-name",
        ),
        pytest.param(
            {"r": {"types": {"people": {"columns": ["attributes.ram_gb"]}}}},
            "roles.r.types.people.columns[0]: 'attributes.ram_gb': a key grant needs a JSON column",
            id="json-key-on-a-type-without-json",
        ),
        pytest.param(
            {"r": {"catalog": {"columns": ["asset_tag"]}}},
            "roles.r.catalog: a catalog needs a `types.assets` grant",
            id="catalog-without-assets",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": ["asset_tag"]}}, "catalog": {"columns": ["hostname"]}}},
            "roles.r.catalog.columns[0]: the role does not read 'hostname' of assets",
            id="catalog-column-not-read",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": ["asset_tag"]}}, "catalog": {"prices": True}}},
            "roles.r.catalog.prices: the role does not read `cost` of assets",
            id="catalog-prices-without-cost",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": "*"}}, "catalog": {"columns": ["cost"]}}},
            "roles.r.catalog.columns[0]: 'cost' is a price: set `prices: true` to list it",
            id="catalog-cost-without-prices",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": "*"}}, "catalog": {"columns": ["attributes"]}}},
            "roles.r.catalog.columns[0]: 'attributes' cannot be listed in the catalog",
            id="catalog-json-column",
        ),
        pytest.param(
            {"r": {"types": {"assets": {"columns": "*"}}, "catalog": {"price": {"min": 5, "max": 1}}}},
            "roles.r.catalog.price: min 5 is above max 1",
            id="catalog-band",
        ),
    ],
)
def test_policy_problems_are_reported_with_their_path(roles: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"roles": roles})
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_json_key_grants_are_valid_config() -> None:
    config = parse_config(
        {
            "roles": {
                "r": {
                    "types": {"assets": {"columns": ["asset_tag", "attributes.ram_gb", "attributes.CPU_2"]}}
                }
            }
        }
    )
    assert config.settings.roles is not None
    assert config.settings.roles["r"].types["assets"].columns == [
        "asset_tag",
        "attributes.ram_gb",
        "attributes.CPU_2",
    ]


def test_short_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"auth": {"jwt_keys": [{"algorithm": "HS256", "secret": "hunter2"}]}})
    assert any("auth.jwt_keys[0].secret: too short" in p for p in caught.value.problems)
    assert "hunter2" not in str(caught.value)


def test_leeway_is_bounded() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"auth": {"leeway": "1h"}})
    assert any(p.startswith("auth.leeway:") for p in caught.value.problems)


def test_validate_command_reports_policy_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"roles": {"r": {"types": {"assets": {"columns": ["price"]}}}}}))
    assert main(["validate", str(path)]) == 1
    assert "roles.r.types.assets.columns[0]" in capsys.readouterr().err
