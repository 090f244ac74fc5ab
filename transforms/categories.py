"""Asset categories: the source's words → one of the configured categories.

Plurals are understood (`Laptops`, `Switches`, `Docking Stations`): a word not in the table
is tried again without a trailing `es`/`s`. Built-in aliases whose target is not among the
configured categories are left out, so a trimmed category list makes those words unknown
(a row error) instead of mapping to a category that does not exist. A configured category
beats a built-in alias of the same word: with `printer` among `vocabularies.categories`,
`Printers` is a printer, not a peripheral (`category_aliases` and a mapping's `values:`
still win over both).
"""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view
from transforms.context import TransformContext
from transforms.result import Normalised
from transforms.vocabulary import alias_table, translate, word_key, word_keys

_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "laptop": (
        "notebook",
        "macbook",
        "macbook pro",
        "macbook air",
        "ultrabook",
        "chromebook",
        "thinkpad",
        "portable",
        "laptop computer",
        "mobile workstation",
    ),
    "desktop": (
        "workstation",
        "pc",
        "tower",
        "all in one",
        "aio",
        "imac",
        "mac mini",
        "mac studio",
        "mac pro",
        "thin client",
        "desktop computer",
        "desktop pc",
        "computer",
        "mini pc",
    ),
    "server": (
        "rack server",
        "blade",
        "blade server",
        "hypervisor",
        "esxi host",
        "physical server",
        "bare metal",
        "host server",
    ),
    "network": (
        "switch",
        "router",
        "firewall",
        "access point",
        "ap",
        "wap",
        "wireless access point",
        "wlc",
        "wireless controller",
        "wireless lan controller",
        "load balancer",
        "gateway",
        "network device",
        "networking",
        "network equipment",
        "modem",
        "patch panel",
    ),
    "phone": (
        "mobile phone",
        "smartphone",
        "smart phone",
        "mobile",
        "cell phone",
        "cellphone",
        "iphone",
        "android",
        "android phone",
        "desk phone",
        "ip phone",
        "voip phone",
        "handset",
        "telephone",
    ),
    "tablet": ("ipad", "android tablet", "tab"),
    "monitor": ("display", "screen", "lcd", "led monitor", "external monitor"),
    "peripheral": (
        "keyboard",
        "mouse",
        "mice",
        "docking station",
        "dock",
        "headset",
        "webcam",
        "camera",
        "scanner",
        "speaker",
        "accessory",
        "accessories",
        "printer",
        "adapter",
        "charger",
    ),
    "virtual_machine": (
        "vm",
        "virtual machine",
        "virtual server",
        "guest",
        "vps",
        "instance",
        "cloud instance",
        "ec2 instance",
    ),
    "other": ("misc", "miscellaneous", "unknown category"),
}
BUILTIN_CATEGORY_ALIASES: dict[str, str] = {
    word: category for category, words in _CATEGORY_WORDS.items() for word in words
}


def category(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    configured = {word_key(c) for c in ctx.categories}
    builtin = {
        w: c
        for w, c in BUILTIN_CATEGORY_ALIASES.items()
        if c in ctx.categories and word_key(w) not in configured
    }
    table = alias_table(ctx.categories, builtin, ctx.category_aliases, mapping.values)
    text = text_view(values)
    keys = word_keys(text)
    known = keys.isin(table.keys())
    singular = keys.str.replace(r"(ch|sh|x|ss)es$", r"\1", regex=True)
    singular = singular.where(singular != keys, keys.str.replace(r"([^s])s$", r"\1", regex=True))
    keys = keys.where(known | ~singular.isin(table.keys()), singular)
    message = (
        "unknown category '{value}'; expected one of "
        + ", ".join(ctx.categories)
        + " or an alias: add it under vocabularies.category_aliases in config.yaml"
        " (or `values:` on this field's mapping)"
    )
    return translate(text, table, ctx.categories, message, keys=keys)
