from __future__ import annotations

import pandas as pd
import pytest

from transforms.context import TransformContext


@pytest.mark.parametrize(
    ("value", "amount", "currency"),
    [
        pytest.param("$12.58", 12.58, "USD", id="snipe-license-cost"),
        pytest.param("12.58", 12.58, "USD", id="plain"),
        pytest.param("2266.13", 2266.13, "USD", id="snipe-asset-cost"),
        pytest.param("1,299.00", 1299.0, "USD", id="us-thousands"),
        pytest.param("1,234,567.89", 1234567.89, "USD", id="us-two-groups"),
        pytest.param("1.599,62", 1599.62 * 1.0, "USD", id="decimal-comma-no-symbol"),
        pytest.param("€1.599,62", 1759.58, "EUR", id="euro-decimal-comma"),
        pytest.param("1 599,62", 1599.62, "USD", id="space-grouped"),
        pytest.param("1\u00a0599,62 €", 1759.58, "EUR", id="nbsp-grouped-euro-after"),
        pytest.param("1'599.50", 1599.5, "USD", id="swiss-apostrophe"),
        pytest.param("EUR 12.50", 12.5 * 1.10, "EUR", id="iso-code-before"),
        pytest.param("12.50 EUR", 12.5 * 1.10, "EUR", id="iso-code-after"),
        pytest.param("eur 12,50", 12.5 * 1.10, "EUR", id="lower-code-comma"),
        pytest.param("£1,000.00", 1250.0, "GBP", id="pound"),
        pytest.param("¥1500", 1500 * 0.0067, "JPY", id="yen"),
        pytest.param("(12.50)", -12.5, "USD", id="accounting-negative"),
        pytest.param("($3.00)", -3.0, "USD", id="accounting-negative-symbol"),
        pytest.param("-$5", -5.0, "USD", id="minus-before-symbol"),
        pytest.param("$-5", -5.0, "USD", id="minus-after-symbol"),
        pytest.param("US$ 5", 5.0, "USD", id="us-dollar-prefix"),
        pytest.param(73.96, 73.96, "USD", id="float"),
        pytest.param(5000, 5000.0, "USD", id="int"),
        pytest.param("5000.00", 5000.0, "USD", id="components-sample"),
        pytest.param("1,234,567", 1234567.0, "USD", id="repeated-comma-is-grouping"),
        pytest.param("1.234.567", 1234567.0, "USD", id="repeated-dot-is-grouping"),
    ],
)
def test_amounts(apply, value, amount, currency):
    result = apply("money", [value])
    assert result.errors.iloc[0] is None
    assert result.values.iloc[0] == pytest.approx(amount)
    assert result.extra["currency"].iloc[0] == currency


@pytest.mark.parametrize(
    ("value", "decimal", "amount"),
    [
        # a single separator is decimal when guessing, whatever follows it
        pytest.param("1,299", None, 1299.0, id="guess-single-comma-3-digits-groups-thousands"),
        pytest.param("0,125", None, 0.125, id="guess-zero-then-3-digits-is-decimal"),
        pytest.param("12,5", None, 12.5, id="guess-single-comma-1-digit-is-decimal"),
        pytest.param("1.599", None, 1599.0, id="guess-single-dot-3-digits-groups-thousands"),
        pytest.param("1.5", None, 1.5, id="guess-single-dot-1-digit-is-decimal"),
        pytest.param("12,5", None, 12.5, id="guess-single-comma"),
        pytest.param("0,500", None, 0.5, id="guess-leading-zero"),
        pytest.param("1.599,62", None, 1599.62, id="guess-both-last-is-decimal"),
        pytest.param("1,599.62", None, 1599.62, id="guess-both-last-is-decimal-us"),
        # the mapping says which convention the source uses
        pytest.param("1,299", ".", 1299.0, id="point-decimal-comma-groups"),
        pytest.param("1.599", ",", 1599.0, id="comma-decimal-dot-groups"),
        pytest.param("1.599,62", ",", 1599.62, id="comma-decimal"),
        pytest.param("12,5", ",", 12.5, id="comma-decimal-simple"),
        pytest.param("12.5", ".", 12.5, id="point-decimal-simple"),
    ],
)
def test_separator_rule(apply, value, decimal, amount):
    result = apply("money", [value], decimal=decimal)
    assert result.errors.iloc[0] is None
    assert result.values.iloc[0] == pytest.approx(amount)


@pytest.mark.parametrize(
    ("value", "decimal", "message"),
    [
        pytest.param("abc", None, "cannot read 'abc' as an amount", id="word"),
        pytest.param("$", None, "cannot read '$' as an amount", id="symbol-only"),
        pytest.param("1,23,4.5", None, "cannot read '1,23,4.5' as an amount", id="bad-groups"),
        pytest.param("(12.50", None, "cannot read '(12.50' as an amount", id="unclosed"),
        pytest.param("12.5.6,7", None, "cannot read '12.5.6,7' as an amount", id="mess"),
        pytest.param(
            "1.599,62",
            ".",
            "cannot read '1.599,62' as an amount with decimal separator '.'",
            id="wrong-convention",
        ),
        pytest.param(
            "12.50 CHF",
            None,
            "no rate for currency CHF; add it under currency.rates",
            id="unknown-currency",
        ),
    ],
)
def test_errors(apply, value, decimal, message):
    result = apply("money", [value], decimal=decimal)
    assert result.errors.iloc[0] == message
    assert pd.isna(result.values.iloc[0])
    assert result.extra["currency"].iloc[0] is None


def test_empty_is_null_without_currency(apply):
    result = apply("money", ["", None, "-"])
    assert result.values.isna().all()
    assert result.errors.tolist() == [None, None, None]
    assert result.extra["currency"].tolist() == [None, None, None]


def test_mapping_currency_wins_over_symbol(apply):
    result = apply("money", ["$10", "10"], currency="eur")
    assert result.values.tolist() == pytest.approx([11.0, 11.0])
    assert result.extra["currency"].tolist() == ["EUR", "EUR"]


def test_currency_column_then_symbol_then_base(ctx):
    from connectors.fields import FieldMapping
    from transforms.money import money

    values = pd.Series(["10", "10", "£10", "10"])
    currencies = pd.Series(["eur", None, "", "€"])
    result = money(values, FieldMapping(column="c", currency_column="cur"), ctx, currencies)
    assert result.values.tolist() == pytest.approx([11.0, 10.0, 12.5, 11.0])
    assert result.extra["currency"].tolist() == ["EUR", "USD", "GBP", "EUR"]


def test_other_base_currency(apply):
    ctx = TransformContext(base_currency="EUR", rates={"USD": 0.9})
    result = apply("money", ["$10", "€10", "10"], context=ctx)
    assert result.values.tolist() == pytest.approx([9.0, 10.0, 10.0])
    assert result.extra["currency"].tolist() == ["USD", "EUR", "EUR"]


def test_dtype(apply):
    assert apply("money", ["1", None]).values.dtype == "float64"


def test_numbers_among_text_are_taken_as_numbers(apply):
    """JSON and Excel give floats in an object column: 1.599 is one and a half, not 1599."""
    result = apply("money", [1.599, 2.125, "N/A", 12, "1.599,62 €"], currency="USD")
    values = result.values.tolist()
    assert values[:2] == [1.599, 2.125]
    assert pd.isna(values[2])
    assert values[3] == 12.0
    assert result.errors.isna().all()
    assert apply("money", [1.599, "1.599"]).values.tolist() == [1.599, 1599.0]
