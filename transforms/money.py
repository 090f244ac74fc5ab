"""Amounts of money, converted to the base currency.

Reading an amount (`$12.58`, `1,299.00`, `€1.599,62`, `1 599,62`, `EUR 12.50`, `(12.50)`):
a currency symbol or ISO code may stand before or after the number; parentheses or a
minus sign make it negative; spaces and apostrophes between digits group thousands.

Which of `.` and `,` is the decimal separator, when `mapping.decimal` is None, is decided
per value:

* both appear → the last one is the decimal separator (`1.599,62`, `1,599.62`);
* one of them appears several times → it groups thousands (`1,234,567`, `1.234.567`);
* one of them appears once before exactly three digits → it groups thousands (`1,299` →
  1299, `1.599` → 1599): money is written with two decimals (or none) far more often than
  with three, and US exports write `1,299` for a laptop; `0.125` stays a fraction;
* one of them appears once before one, two or four-plus digits → it is the decimal separator.
  Set `decimal: "."` or `decimal: ","` on the mapping to take the guess away.

Thousands groups must have three digits (`1,23,4.5` is an error), and with `mapping.decimal`
set a value using the other convention is an error rather than a wrong number.

The currency of a row is `mapping.currency`, else its `currency_column` cell, else the symbol
or code in the value (`$` USD, `€` EUR, `£` GBP, `¥` JPY, `₹` INR, `C$` CAD, `A$` AUD, any
three-letter code), else the base currency. Amounts are converted with `ctx.rates` and, when
converted, rounded to cents (so the same price seen by two sources compares equal); the source
currency per row is returned in `Normalised.extra["currency"]` (the mapping engine writes it
to `<field>_currency`, e.g. `cost_currency`).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised, first_error, no_errors, reasons

SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "R$": "BRL",
    "FR.": "CHF",
}
_SYMBOL = r"[A-Z]{1,2}\$|\$|€|£|¥|₹|₩|₽|FR\."
_AMOUNT = (
    rf"^(?P<open>\()?\s*(?P<sign1>[-+])?\s*(?P<cur1>{_SYMBOL}|[A-Z]{{3}})?\s*(?P<sign2>[-+])?\s*"
    rf"(?P<num>\d(?:[\d.,' ]*\d)?)\s*(?P<cur2>{_SYMBOL}|[A-Z]{{3}})?\s*(?P<close>\))?$"
)
_POINT_DECIMAL = r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$"
_COMMA_DECIMAL = r"^(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$"


def money(
    values: pd.Series,
    mapping: FieldMapping,
    ctx: TransformContext,
    currencies: pd.Series | None = None,
) -> Normalised:
    """`currencies`: the `currency_column` cells, passed by the mapping engine."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        amounts = values.astype("float64").where(np.isfinite(values.astype("float64")))
        written = pd.Series(np.nan, index=values.index, dtype="str")
        read_error = no_errors(values.index)
    else:
        # numbers among text (JSON, Excel): amounts as they are; separators are guessed in text only
        numeric = values.map(_is_number).astype(bool)
        if numeric.any():
            text_only = values.where(~numeric, None)
            amounts, written, read_error = _read_amounts(text_only, mapping.decimal)
            as_numbers = pd.to_numeric(values.where(numeric, np.nan), errors="coerce").astype("float64")
            amounts = amounts.where(~numeric, as_numbers.where(np.isfinite(as_numbers)))
        else:
            amounts, written, read_error = _read_amounts(values, mapping.decimal)
    currency = _currencies(values.index, mapping, ctx, currencies, written)
    currency = currency.where(amounts.notna())
    codes = currency.dropna().unique()
    rates = {code: ctx.rate(code) for code in codes}
    rate = currency.map(rates).astype("float64")
    unknown = currency.notna() & rate.isna()
    rate_error = reasons(
        unknown,
        "no rate for currency " + currency.astype(object).astype(str) + "; add it under currency.rates",
    )
    converted = (amounts * rate).where(~unknown)
    converted = converted.where(rate == 1.0, converted.round(2))  # cents after a conversion
    source_currency = to_object(currency.where(~unknown))
    return Normalised(converted, first_error(read_error, rate_error), {"currency": source_currency})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _read_amounts(values: pd.Series, decimal: str | None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(amount in its own currency, currency written in the value, read errors)."""
    original = text_view(values)
    text = original.str.upper().str.replace("\u00a0", " ").str.replace("\u202f", " ")
    parts = text.str.extract(_AMOUNT)
    shape_ok = parts["num"].notna() & (parts["open"].isna() == parts["close"].isna())
    shape_ok &= ~(parts["sign1"].notna() & parts["sign2"].notna())
    negative = parts["open"].notna() | (parts["sign1"] == "-") | (parts["sign2"] == "-")
    number = parts["num"].str.replace(r"[ ']", "", regex=True)
    dots = number.str.count(r"\.").fillna(0)
    commas = number.str.count(",").fillna(0)
    if decimal is None:
        last_comma = number.str.rfind(",").fillna(-1)
        last_dot = number.str.rfind(".").fillna(-1)
        lone_group = number.str.match(r"^[1-9]\d{0,2}[.,]\d{3}$").fillna(False).astype(bool)
        single_comma = (commas == 1) & (dots == 0)
        single_dot = (dots == 1) & (commas == 0)
        comma_decimal = np.select(
            [(dots > 0) & (commas > 0), single_comma, single_dot],
            [last_comma > last_dot, ~lone_group, lone_group],
            default=dots > 1,
        )
        comma_decimal = pd.Series(comma_decimal, index=values.index)
    else:
        comma_decimal = pd.Series(decimal == ",", index=values.index)
    valid = number.str.match(_COMMA_DECIMAL).where(comma_decimal, number.str.match(_POINT_DECIMAL))
    valid = valid.fillna(False).astype(bool) & shape_ok
    canonical = number.str.replace(",", "", regex=False).where(
        ~comma_decimal,
        number.str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
    )
    amounts = pd.to_numeric(canonical.where(valid).astype(object), errors="coerce")
    amounts = amounts.astype("float64").where(valid)
    amounts = amounts.where(~negative, -amounts)
    convention = "" if decimal is None else f" with decimal separator '{decimal}'"
    bad = original.notna() & amounts.isna()
    message = "cannot read '" + original.astype(object).astype(str) + f"' as an amount{convention}"
    written = parts["cur1"].where(parts["cur1"].notna(), parts["cur2"])
    written = written.map(lambda c: SYMBOLS.get(c, c), na_action="ignore").astype("str")
    return amounts, written, reasons(bad, message)


def _currencies(
    index: pd.Index,
    mapping: FieldMapping,
    ctx: TransformContext,
    currencies: pd.Series | None,
    written: pd.Series,
) -> pd.Series:
    if mapping.currency:
        return pd.Series(mapping.currency.strip().upper(), index=index, dtype="str")
    chosen = pd.Series(np.nan, index=index, dtype="str")
    if currencies is not None:
        column = text_view(currencies).str.upper()
        chosen = column.map(lambda c: SYMBOLS.get(c, c), na_action="ignore").astype("str")
    chosen = chosen.where(chosen.notna(), written)
    return chosen.fillna(ctx.base_currency.upper()).astype("str")
