from __future__ import annotations

import pytest

from federation.model import TABLES
from transforms.registry import DEFAULT_TRANSFORMS, TRANSFORMS, compatible, output_type

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
    name = DEFAULT_TRANSFORMS[entity].get(field, "text")
    assert name in TRANSFORMS
    assert compatible(name, output_type(entity, field))


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
