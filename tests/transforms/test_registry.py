from __future__ import annotations

import pytest

from federation.model import TABLES
from transforms.registry import TRANSFORMS, compatible, default_transform, output_type

REQUIRED = [
    "text", "upper", "lower", "int", "number", "boolean", "date", "timestamp", "money", "serial",
    "asset_tag", "hostname", "mac_list", "ip_list", "manufacturer", "asset_status", "category",
    "employment_status", "email", "person_key", "country", "json",
]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED)
def test_required_names_registered(name):
    assert callable(TRANSFORMS[name])


@pytest.mark.parametrize(
    ("entity", "field"),
    [(e, f) for e, t in TABLES.items() for f in t.mapped_fields],
)
def test_every_mapped_field_has_a_fitting_default(entity, field):
    name = default_transform(entity, field)
    assert name in TRANSFORMS
    assert compatible(name, output_type(entity, field))


@pytest.mark.parametrize(
    ("entity", "field", "expected"),
    [
        pytest.param("assets", "serial_number", "serial", id="named-by-the-model"),
        pytest.param("assets", "assigned_to", "person_key", id="reference"),
        pytest.param("people", "username", "person_key", id="hidden-key"),
        pytest.param("assets", "purchase_date", "date", id="date-by-type"),
        pytest.param("assets", "last_seen", "timestamp", id="timestamp-by-type"),
        pytest.param("licenses", "seats_purchased", "int", id="int-by-type"),
        pytest.param("assets", "os", "text", id="text-by-type"),
        pytest.param("assets", "attributes", "json", id="json-by-type"),
    ],
)
def test_default_normalisers(entity, field, expected):
    assert default_transform(entity, field) == expected


@pytest.mark.parametrize(
    ("entity", "field", "expected"),
    [
        ("assets", "cost", "numeric"),
        ("assets", "purchase_date", "date"),
        ("assets", "last_seen", "timestamptz"),
        ("assets", "mac_addresses", "string_list"),
        ("assets", "attributes", "jsonb"),
        ("assets", "assigned_to", "string"),
        ("people", "username", "string"),
    ],
)
def test_output_type(entity, field, expected):
    assert output_type(entity, field) == expected


def test_output_type_unknown_field():
    with pytest.raises(KeyError):
        output_type("assets", "nope")
