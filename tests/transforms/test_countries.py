from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("US", "US", id="US"),
        pytest.param("us", "US", id="lower-code"),
        pytest.param("USA", "US", id="alpha-3"),
        pytest.param("United States", "US", id="name"),
        pytest.param("United States of America", "US", id="long-name"),
        pytest.param("U.S.A.", "US", id="dotted"),
        pytest.param("GB", "GB", id="GB"),
        pytest.param("UK", "GB", id="UK"),
        pytest.param("United Kingdom", "GB", id="united-kingdom"),
        pytest.param("DE", "DE", id="DE"),
        pytest.param("Germany", "DE", id="germany"),
        pytest.param("Deutschland", "DE", id="deutschland"),
        pytest.param("France", "FR", id="france"),
        pytest.param("The Netherlands", "NL", id="netherlands"),
        pytest.param("Ireland", "IE", id="ireland"),
        pytest.param("CA", "CA", id="snipe-locations-CA"),
        pytest.param("Canada", "CA", id="canada"),
        pytest.param("India", "IN", id="india"),
        pytest.param("Singapore", "SG", id="singapore"),
        pytest.param("Japan", "JP", id="japan"),
        pytest.param("Australia", "AU", id="australia"),
        pytest.param("España", "ES", id="espana"),
        pytest.param("Italy", "IT", id="italy"),
        pytest.param("Polska", "PL", id="polska"),
        pytest.param("Sweden", "SE", id="sweden"),
        pytest.param("Schweiz", "CH", id="schweiz"),
        pytest.param("Brasil", "BR", id="brasil"),
        pytest.param("México", "MX", id="mexico"),
        pytest.param("Atlantis", "Atlantis", id="unknown-kept"),
        pytest.param("  new   zealand ", "NZ", id="spaces"),
        pytest.param("", None, id="empty"),
    ],
)
def test_country(one, value, expected):
    assert one("country", value) == (expected, None)
