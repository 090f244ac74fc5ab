"""Manufacturer names: one canonical spelling per company.

Steps: the alias table (built-in, then `ctx.manufacturer_aliases`, then the mapping's
`values:`) is looked up with the whole name, then with legal suffixes stripped (`Inc.`,
`Corporation`, `Co., Ltd.`, `GmbH`, `LLC`, …). Names in neither are kept with the suffix
stripped; an all-caps name longer than three letters is title-cased (`ACME` → `Acme`, while
`IBM`, `AOC` stay). Firmware placeholders (`To Be Filled By O.E.M.`, `System manufacturer`,
`Not Specified`, …) become null.

HP decisions: `HP`, `HP Inc.`, `Hewlett-Packard` → `HP` (PCs and printers); `Hewlett Packard
Enterprise`/`HPE` stays `HPE` (servers, Aruba network gear), since 2015 a separate company.
VirtualBox guests report `innotek GmbH` → `VirtualBox`, like VMware guests report VMware.
"""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised
from transforms.vocabulary import NULL_ALIAS, alias_table, word_keys

_COMPANIES: dict[str, tuple[str, ...]] = {
    "Dell": (
        "dell",
        "dell inc",
        "dell computer corporation",
        "dell computer",
        "dell emc",
        "dell technologies",
        "dell inc.",
    ),
    "HP": (
        "hp",
        "hp inc",
        "hewlett packard",
        "hewlett packard company",
        "hp hewlett packard",
        "hewlett-packard",
    ),
    "HPE": ("hpe", "hewlett packard enterprise", "hewlett packard enterprise company"),
    "Lenovo": ("lenovo", "lenovo group", "lenovo group limited"),
    "IBM": ("ibm", "international business machines"),
    "Apple": ("apple", "apple inc", "apple computer"),
    "Microsoft": ("microsoft", "microsoft corporation", "microsoft corp"),
    "Cisco": ("cisco", "cisco systems", "cisco systems inc", "cisco meraki", "meraki"),
    "VMware": ("vmware", "vmware inc"),
    "VirtualBox": ("innotek", "innotek gmbh", "virtualbox", "oracle virtualbox"),
    "QEMU": ("qemu",),
    "Intel": (
        "intel",
        "intel corporation",
        "intel(r) corporation",
        "intel r corporation",
        "genuineintel",
    ),
    "AMD": ("amd", "advanced micro devices", "authenticamd"),
    "Supermicro": ("supermicro", "super micro", "super micro computer", "super micro computer inc"),
    "ASUS": ("asus", "asustek", "asustek computer", "asustek computer inc"),
    "Acer": ("acer", "acer inc"),
    "Samsung": ("samsung", "samsung electronics", "samsung electronics co ltd"),
    "Juniper": ("juniper", "juniper networks"),
    "Arista": ("arista", "arista networks"),
    "Fortinet": ("fortinet",),
    "Ubiquiti": ("ubiquiti", "ubiquiti networks", "ubnt"),
    "Oracle": ("oracle", "oracle corporation", "oracle america"),
    "Sun Microsystems": ("sun microsystems", "sun"),
    "Toshiba": ("toshiba", "toshiba corporation", "dynabook"),
    "Google": ("google", "google llc"),
    "Xiaomi": ("xiaomi",),
    "Fujitsu": (
        "fujitsu",
        "fujitsu siemens",
        "fujitsu technology solutions",
        "fujitsu client computing",
    ),
    "Gigabyte": ("gigabyte", "gigabyte technology"),
    "MSI": ("msi", "micro star international", "micro-star international"),
    "LG": ("lg", "lg electronics"),
    "Huawei": ("huawei", "huawei technologies"),
    "Palo Alto Networks": ("palo alto networks", "palo alto"),
    "Aruba": ("aruba", "aruba networks"),
    "Netgear": ("netgear",),
    "TP-Link": ("tp link", "tplink"),
    "D-Link": ("d link", "dlink"),
    "Red Hat": ("red hat", "redhat"),
    "Amazon": ("amazon", "amazon ec2", "amazon web services", "aws"),
    "Logitech": ("logitech",),
    "BenQ": ("benq",),
    "ViewSonic": ("viewsonic",),
    "Philips": ("philips",),
    "Zebra": ("zebra", "zebra technologies"),
    "Poly": ("poly", "plantronics", "polycom"),
    "Jabra": ("jabra", "gn audio"),
    "NetApp": ("netapp",),
    "Motorola": ("motorola", "motorola mobility"),
    "OnePlus": ("oneplus",),
    "Panasonic": ("panasonic",),
    "Sony": ("sony",),
}
BUILTIN_MANUFACTURER_ALIASES: dict[str, str] = {
    alias: name for name, aliases in _COMPANIES.items() for alias in aliases
}
#: names firmware reports when the vendor filled nothing in (compared as `word_key`s)
PLACEHOLDER_MANUFACTURERS = frozenset(
    {
        "to be filled by o.e.m.",
        "to be filled by oem",
        "system manufacturer",
        "not specified",
        "default string",
        "oem",
        "unknown",
        "undefined",
        "manufacturer",
        "no enclosure",
        "no dimm",
        "not available",
        "invalid",
        "o.e.m.",
    }
)
_PLACEHOLDER_PATTERN = r"^(?:manufacturer\s?\d+|oem define\s?\d*|0+)$"
_SUFFIX = (
    r"(?:,?\s+(?:inc\.?|incorporated|corporation|corp\.?|co\.?,?\s*ltd\.?|ltd\.?|limited"
    r"|gmbh|llc|l\.l\.c\.|ag|s\.a\.|b\.v\.|bv|plc|co\.?|s\.r\.l\.|srl|pty\.?\s*ltd\.?))+\.?$"
)


def manufacturer(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    table = alias_table((), BUILTIN_MANUFACTURER_ALIASES, ctx.manufacturer_aliases, mapping.values)
    text = text_view(values).str.replace(r"\s+", " ", regex=True)
    keys = word_keys(text)
    placeholder = keys.isin(PLACEHOLDER_MANUFACTURERS) | keys.str.match(_PLACEHOLDER_PATTERN).fillna(
        False
    ).astype(bool)
    stripped = text.str.replace(_SUFFIX, "", regex=True, case=False).str.strip(" ,")
    found = keys.map(table)
    found = found.where(found.notna(), word_keys(stripped).map(table))
    all_caps = (stripped == stripped.str.upper()) & (stripped.str.len() > 3)
    all_caps &= stripped.str.contains(r"[A-Z]", regex=True).fillna(False).astype(bool)
    kept = stripped.where(~all_caps.fillna(False).astype(bool), stripped.str.title())
    out = found.where(found.notna(), kept)
    out = out.where(~placeholder & (out != NULL_ALIAS) & (out != ""))
    return Normalised.ok(to_object(out.astype("str")))
