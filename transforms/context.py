"""What a normaliser may know beyond the column it reads: currency and vocabularies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from federation.model import DEFAULT_CATEGORIES, TABLES


def _frozen(mapping: Mapping[str, object] | None = None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class TransformContext:
    """Settings shared by every normaliser of one sync (built from config.yaml by the caller).

    `rates`: 1 unit of a currency = `rate` units of `base_currency` (the base itself needs no
    entry). The alias tables map a source word to a unified value; they are merged over the
    built-in tables and matched case-insensitively after trimming.
    """

    base_currency: str = "USD"
    rates: Mapping[str, float] = field(default_factory=_frozen)
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    category_aliases: Mapping[str, str] = field(default_factory=_frozen)
    status_aliases: Mapping[str, str] = field(default_factory=_frozen)
    manufacturer_aliases: Mapping[str, str] = field(default_factory=_frozen)
    #: entity → its identity rules as configured (an entity not named: the model's defaults);
    #: a bad value of a field in them quarantines the row unless its `on_invalid` says otherwise
    identity: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=_frozen)

    def identity_fields(self, entity: str) -> frozenset[str]:
        """Every field some identity rule of `entity` reads."""
        rules = self.identity.get(entity)
        if rules is None:
            rules = TABLES[entity].identity if entity in TABLES else ()
        return frozenset(f for rule in rules for f in rule)

    def rate(self, currency: str) -> float | None:
        """Units of the base currency per unit of `currency`, or None when unknown."""
        code = currency.strip().upper()
        if code == self.base_currency.upper():
            return 1.0
        for key, value in self.rates.items():
            if key.strip().upper() == code:
                return float(value)
        return None
