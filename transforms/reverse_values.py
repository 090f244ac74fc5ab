"""One unified value back into a source's raw value, per normaliser (the inverses
transforms/reverse.py composes).

Values come as GraphQL gives them: text, ISO dates and timestamps, numbers, a JSON object
(or its text) for `attributes`, lists for MAC and IP addresses. Decisions:

* **Words** (`asset_status`, `category`, `employment_status`, `manufacturer`, `country`,
  `publisher`, `software_product`): the source's word is the first of these that reads back
  as the value: the mapping's `values:` keys in config order, then the config's aliases
  (`vocabularies.status_aliases`, `category_aliases`, `manufacturer_aliases`) in config
  order, then the unified value itself. So a ServiceNow `install_status` mapped with `values:
  {"1": in_use, "6": in_stock, ...}` gets `1` for `in_use`; a source without `values:` gets
  the unified word (`in_use` reads back as in_use everywhere) — unless the record holds a
  word now (an update): then the built-in word most like it (a code for a code, the same
  case), so a ServiceNow `install_status` of `1` gets `3` for in_repair. A closed vocabulary (status,
  category, employment status) refuses a value none of them reads back as; an open one
  (manufacturer, …) writes the value as given.
* **Lookups**: the first key of the table (config order) whose target reads back as the value.
* **Dates**: with `format:` the text strftime gives (timestamps in UTC), with `format: excel`
  the serial number, else a `datetime.date` / UTC `datetime.datetime` the connector binds or
  renders in its own wire format.
* **Money**: the base-currency amount divided by the source currency's rate, in cents of
  that currency; of the two neighbouring cent amounts, the one whose conversion reads back as
  the value, else the nearest (the read-back after the write shows what the source stored).
  Without conversion (rate 1) the amount is written as given.
* **Address lists**: joined by `, ` (every separator the readers split on works).
* **attributes** over `columns:`: each key to the column it is read from (`ram_gb` ←
  `RAM GB`); keys left out empty their column (a `_set` replaces the object whole).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from connectors.fields import FieldMapping
from federation.model import ASSET_STATUSES, EMPLOYMENT_STATUSES
from transforms.attributes import attribute_key
from transforms.context import TransformContext
from transforms.dates import EXCEL_EPOCH
from transforms.inputs import apply_lookup
from transforms.registry import TRANSFORMS
from transforms.statuses import BUILTIN_EMPLOYMENT_ALIASES, BUILTIN_STATUS_ALIASES, VENDOR_STATUS_WORDS

#: normalisers whose values are words of a vocabulary, and the config aliases they read
WORDS: dict[str, Callable[[TransformContext], Mapping[str, str]]] = {
    "asset_status": lambda ctx: ctx.status_aliases,
    "category": lambda ctx: ctx.category_aliases,
    "employment_status": lambda ctx: {},
    "manufacturer": lambda ctx: ctx.manufacturer_aliases,
    "publisher": lambda ctx: ctx.manufacturer_aliases,
    "country": lambda ctx: {},
    "software_product": lambda ctx: {},
}
#: text normalisers written back as given (they read back as the value for every value
#: they produce: upper-case text stays upper case, a canonical MAC stays canonical)
PLAIN = frozenset({"text", "upper", "lower", "serial", "asset_tag", "hostname", "email", "person_key"})
#: every normaliser with an inverse; others make the field read-only
INVERTIBLE = frozenset(
    {*WORDS, *PLAIN, "int", "number", "boolean", "date", "timestamp", "install_date", "money"}
    | {"mac_list", "ip_list", "json"}
)


def closed_vocabulary(name: str, ctx: TransformContext) -> tuple[str, ...] | None:
    return {
        "asset_status": ASSET_STATUSES,
        "category": tuple(ctx.categories),
        "employment_status": EMPLOYMENT_STATUSES,
    }.get(name)


def forward(cells: list[Any], mapping: FieldMapping, name: str, ctx: TransformContext) -> list[Any]:
    """What the read path makes of these raw cells (lookup, then normaliser), or None."""
    return forward_with_errors(cells, mapping, name, ctx)[0]


def forward_with_errors(
    cells: list[Any], mapping: FieldMapping, name: str, ctx: TransformContext
) -> tuple[list[Any], list[str | None]]:
    """(values, the read path's reason per cell where it cannot read it). A normaliser over a
    short column costs ~15 ms whatever its length: cells read before are remembered (the
    read path is pure per cell), per mapping and context (by identity, held by the memo)."""
    if not all(isinstance(c, _KEYABLE) for c in cells):
        return _forward(cells, mapping, name, ctx)
    key = (id(mapping), id(ctx), name, tuple((type(c).__name__, c) for c in cells))
    with _MEMO_LOCK:
        found = _MEMO.get(key)
        if found is not None and found[0] is mapping and found[1] is ctx:
            _MEMO.move_to_end(key)
            return copy.deepcopy(found[2])
    out = _forward(cells, mapping, name, ctx)
    with _MEMO_LOCK:
        _MEMO[key] = (mapping, ctx, copy.deepcopy(out))
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return out


#: cells the memo keys on: hashable, told apart by type (1, 1.0 and True are not merged)
_KEYABLE = (str, int, float, bool, Decimal, dt.date, type(None))
_MEMO: OrderedDict[tuple[Any, ...], tuple[Any, Any, tuple[list[Any], list[str | None]]]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 4096


def _forward(
    cells: list[Any], mapping: FieldMapping, name: str, ctx: TransformContext
) -> tuple[list[Any], list[str | None]]:
    values = pd.Series(cells, dtype=object)
    lookup_errors = None
    if mapping.lookup is not None:
        values, lookup_errors = apply_lookup(values, mapping.lookup)
    result = TRANSFORMS[name](values, mapping, ctx)
    errors = (
        result.errors if lookup_errors is None else lookup_errors.where(lookup_errors.notna(), result.errors)
    )
    return (
        [None if _missing(v) else v for v in result.values.tolist()],
        [None if _missing(e) else str(e) for e in errors.tolist()],
    )


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def first_reading_back(
    candidates: list[Any], value: Any, mapping: FieldMapping, name: str, ctx: TransformContext
) -> Any | None:
    """The first candidate the read path turns into `value` (None: none does)."""
    unique = list(dict.fromkeys(c for c in candidates if c is not None))
    if not unique:
        return None
    for candidate, back in zip(unique, forward(unique, mapping, name, ctx), strict=True):
        if back == value:
            return candidate
    return None


#: the built-in words each vocabulary reads (a source without `values:` uses one of them)
BUILTIN_WORDS: dict[str, Mapping[str, str]] = {
    "asset_status": BUILTIN_STATUS_ALIASES,
    "employment_status": BUILTIN_EMPLOYMENT_ALIASES,
}


def _vendor_word(name: str, value: str, current: Any) -> list[str]:
    """The word of the tool whose vocabulary the record's current word belongs to (Snipe-IT's
    `Ready to Deploy` → its `Deployed` for in_use), as that tool spells it."""
    if name != "asset_status":
        return []
    held = str(current).strip().casefold()
    for words in VENDOR_STATUS_WORDS:
        if held in {w.casefold() for w in words.values()} and value in words:
            return [words[value]]
    return []


def _shape(word: Any) -> tuple[bool, str, bool]:
    """What a source's words look like: codes or words, their case, `_` or spaces."""
    text = str(word).strip()
    case = (
        "upper"
        if text.isupper()
        else "lower"
        if text.islower()
        else "title"
        if text[:1].isupper()
        else "mixed"
    )
    return text.isdigit(), case, "_" in text


def _in_style(candidates: list[Any], current: Any) -> list[Any]:
    """`candidates` ordered by how much they look like `current` (the word the record holds
    now: a ServiceNow code `1` asks for a code, Snipe-IT's `Ready to Deploy` for words in
    title case), re-cased like it; the order given breaks ties."""
    digits, case, underscore = _shape(current)

    def score(candidate: Any) -> int:
        d, _, u = _shape(candidate)
        return 4 * (d == digits) + (u == underscore)

    def recased(candidate: Any) -> str:
        text = str(candidate)
        if text.isdigit():
            return text
        return {"upper": text.upper(), "lower": text.lower(), "title": text[:1].upper() + text[1:]}.get(
            case, text
        )

    ranked = sorted(range(len(candidates)), key=lambda i: (-score(candidates[i]), i))
    return [recased(candidates[i]) for i in ranked]


def word(
    value: str, mapping: FieldMapping, name: str, ctx: TransformContext, field: str, current: Any = None
) -> str:
    """A vocabulary's word for a unified value (see the module's decisions). `current`: the
    word the record holds now; without `values:` in the mapping, the built-in word most like
    it is chosen, so a source keeps its own vocabulary (ServiceNow's codes, Snipe-IT's words)."""
    allowed = closed_vocabulary(name, ctx)
    if allowed is not None and value not in allowed:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(allowed)}")
    local = [k for k, v in (mapping.values or {}).items() if v == value]
    aliases = [k for k, v in WORDS[name](ctx).items() if v == value]
    candidates = [*local, *aliases, value]
    if not local and not _missing(current) and str(current).strip():
        builtin = [k for k, v in BUILTIN_WORDS.get(name, {}).items() if v == value]
        candidates = [*_vendor_word(name, value, current), *_in_style([*aliases, *builtin, value], current)]
    found = first_reading_back(candidates, value, mapping, name, ctx)
    if found is not None:
        return str(found)
    if allowed is not None:
        raise ValueError(
            f"{field}: the source's vocabulary has no word that reads back as {value!r}; add one "
            "under this field's `values:` (source word: unified value) in config.yaml"
        )
    return value


def lookup_key(value: Any, mapping: FieldMapping, name: str, ctx: TransformContext, field: str) -> str:
    assert mapping.lookup is not None
    keys = [k for k, target in mapping.lookup.table.items() if target is not None]
    found = first_reading_back(keys, value, mapping, name, ctx)
    if found is None:
        raise ValueError(
            f"{field}: no key of this field's lookup table reads back as {value!r}; "
            f"its keys: {', '.join(mapping.lookup.table)}"
        )
    return str(found)


def as_text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{field}: expected text, got {type(value).__name__}")
    return str(value)


def as_number(value: Any, field: str, *, whole: bool = False) -> int | float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)
        if not number.is_finite():
            raise ValueError
    except (ValueError, InvalidOperation, TypeError):
        what = "a whole number" if whole else "a number"
        raise ValueError(f"{field}: expected {what}, got {value!r}") from None
    if whole:
        if number != number.to_integral_value():
            raise ValueError(f"{field}: expected a whole number, got {value!r}")
        return int(number)
    return float(number)


def as_boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"{field}: expected true or false, got {value!r}")


def as_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"{field}: expected an ISO date like 2024-01-15, got {value!r}") from None


def as_timestamp(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            stamp = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{field}: expected an ISO timestamp like 2024-01-15T10:00:00Z, got {value!r}"
            ) from None
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def date_cell(value: Any, mapping: FieldMapping, field: str, *, with_time: bool) -> Any:
    stamp: dt.date = as_timestamp(value, field) if with_time else as_date(value, field)
    if mapping.format == "excel":
        naive = stamp.replace(tzinfo=None) if isinstance(stamp, dt.datetime) else stamp
        delta = np.datetime64(naive, "us") - EXCEL_EPOCH
        days = delta / np.timedelta64(1, "D")
        return int(days) if float(days).is_integer() else float(days)
    if mapping.format:
        return stamp.strftime(mapping.format)
    return stamp


def money_amount(value: Any, rate: float, field: str) -> float:
    """The source-currency amount whose conversion reads back as `value` (base currency)."""
    amount = as_number(value, field)
    if rate == 1.0:
        return amount
    exact = Decimal(str(amount)) / Decimal(str(rate))
    cents = Decimal("0.01")
    candidates = [exact.quantize(cents, ROUND_FLOOR), exact.quantize(cents, ROUND_CEILING)]
    target = round(amount, 2)
    for candidate in candidates:
        if round(float(candidate) * rate, 2) == target:
            return float(candidate)
    return float(min(candidates, key=lambda c: abs(float(c) * rate - amount)))


def address_text(value: Any, field: str) -> str | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ValueError(f"{field}: expected a list of addresses, got {value!r}")
    text = ", ".join(v.strip() for v in items if v.strip())
    return text or None


def json_object(value: Any, field: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{field}: not valid JSON ({exc})") from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{field}: expected a JSON object, got {type(value).__name__}")
    return value


def attribute_cells(obj: dict[str, Any] | None, columns: list[str], field: str) -> dict[str, Any]:
    """attributes → {column: value}; every column of the mapping, keys left out empty."""
    by_key = {attribute_key(c): c for c in columns}
    unknown = [k for k in (obj or {}) if k not in by_key]
    if unknown:
        raise ValueError(
            f"{field}: {', '.join(map(repr, unknown))} is not a key this source holds; "
            f"expected {', '.join(by_key)}"
        )
    out: dict[str, Any] = dict.fromkeys(columns)
    for key, cell in (obj or {}).items():
        if isinstance(cell, dict | list):
            cell = json.dumps(cell, sort_keys=True, ensure_ascii=False)
        out[by_key[key]] = cell
    return out
