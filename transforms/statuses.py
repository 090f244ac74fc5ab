"""Lifecycle words: asset status and employment status.

Asset status vocabulary decisions (the words of Snipe-IT, ServiceNow, NetBox and GLPI):

* Snipe-IT: `Ready to Deploy` and a bare `Deployable` → in_stock (nobody holds the asset);
  `Deployed` (a deployable asset checked out) → in_use; `Pending`, `Pending Diagnostics`,
  `Undeployable`, `Broken` → in_repair; `Archived` → retired; `Lost`/`Stolen` → lost.
* ServiceNow `install_status`: 1 installed → in_use, 2 on order → ordered, 3 in maintenance
  → in_repair, 4 pending install → in_stock, 5 pending repair → in_repair, 6 in stock,
  7 retired, 8 stolen/missing → lost, 9 in transit → ordered, 10 consumed → disposed,
  11 build → in_stock, 100 absent/missing → lost.
* NetBox: active → in_use, offline → in_stock (owned, not in service, not known broken),
  planned → ordered, staged → in_stock, failed → in_repair, inventory → in_stock,
  decommissioning → retired.
* Disposal words (disposed, scrapped, sold, donated, recycled, destroyed) → disposed.

Employment status: anything not recognised is `unknown`, never an error. Okta's
`SUSPENDED` counts as terminated (access removed: recover the assets); `STAGED` is unknown.
"""

from __future__ import annotations

import pandas as pd

from connectors.fields import FieldMapping
from federation.model import ASSET_STATUSES, EMPLOYMENT_STATUSES
from transforms.cells import text_view, to_object
from transforms.context import TransformContext
from transforms.result import Normalised
from transforms.vocabulary import NULL_ALIAS, alias_table, translate, word_keys

_ASSET_WORDS: dict[str, tuple[str, ...]] = {
    "ordered": (
        "on order",
        "order",
        "2",
        "planned",
        "requested",
        "purchased",
        "in transit",
        "9",
        "pending delivery",
        "procurement",
        "commande",
    ),
    "in_stock": (
        "in stock",
        "instock",
        "stock",
        "6",
        "ready to deploy",
        "ready",
        "deployable",
        "available",
        "spare",
        "inventory",
        "staged",
        "offline",
        "unassigned",
        "in storage",
        "storage",
        "new",
        "pending install",
        "4",
        "build",
        "11",
        "en stock",
        "reserve",
    ),
    "in_use": (
        "in use",
        "inuse",
        "use",
        "deployed",
        "active",
        "1",
        "installed",
        "assigned",
        "checked out",
        "operational",
        "in production",
        "production",
        "live",
        "online",
        "in service",
        "en service",
        "utilise",
        "en utilisation",
    ),
    "in_repair": (
        "in repair",
        "repair",
        "pending",
        "pending diagnostics",
        "undeployable",
        "broken",
        "failed",
        "3",
        "in maintenance",
        "maintenance",
        "pending repair",
        "5",
        "out for repair",
        "under repair",
        "rma",
        "faulty",
        "defective",
        "damaged",
        "en reparation",
        "en panne",
    ),
    "retired": (
        "retired",
        "archived",
        "7",
        "decommissioning",
        "decommissioned",
        "eol",
        "end of life",
        "out of service",
        "obsolete",
        "hors service",
        "inactive",
    ),
    "lost": ("lost", "stolen", "missing", "8", "100", "absent", "lost or stolen", "lost/stolen"),
    "disposed": (
        "disposed",
        "disposal",
        "scrapped",
        "scrap",
        "sold",
        "donated",
        "recycled",
        "destroyed",
        "written off",
        "write off",
        "consumed",
        "10",
        "rebut",
    ),
}
BUILTIN_STATUS_ALIASES: dict[str, str] = {
    word: status for status, words in _ASSET_WORDS.items() for word in words
}

#: each tool's own word for each status, as it spells it: a write back to a source that uses
#: one of these vocabularies gets that tool's word (transforms/reverse_values.py)
VENDOR_STATUS_WORDS: tuple[dict[str, str], ...] = (
    # ServiceNow install_status
    {"in_use": "1", "ordered": "2", "in_repair": "3", "in_stock": "6", "retired": "7", "lost": "8",
     "disposed": "10"},
    # Snipe-IT status labels
    {"in_use": "Deployed", "in_stock": "Ready to Deploy", "in_repair": "Out for Repair",
     "retired": "Archived", "lost": "Lost/Stolen"},
    # NetBox device status
    {"in_use": "active", "in_stock": "inventory", "ordered": "planned", "in_repair": "failed",
     "retired": "decommissioning"},
)  # fmt: skip

_EMPLOYMENT_WORDS: dict[str, tuple[str, ...]] = {
    "active": (
        "active",
        "enabled",
        "true",
        "1",
        "yes",
        "y",
        "employed",
        "current",
        "provisioned",
        "recovery",
        "locked out",
        "password expired",
        "activated",
    ),
    "terminated": (
        "terminated",
        "deprovisioned",
        "suspended",
        "disabled",
        "inactive",
        "left",
        "leaver",
        "false",
        "0",
        "no",
        "n",
        "deactivated",
        "deleted",
        "former",
        "separated",
        "resigned",
        "offboarded",
        "archived",
    ),
}
BUILTIN_EMPLOYMENT_ALIASES: dict[str, str] = {
    word: status for status, words in _EMPLOYMENT_WORDS.items() for word in words
}


def asset_status(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    table = alias_table(ASSET_STATUSES, BUILTIN_STATUS_ALIASES, ctx.status_aliases, mapping.values)
    message = (
        "unknown status '{value}'; expected one of "
        + ", ".join(ASSET_STATUSES)
        + " or an alias: add it under vocabularies.status_aliases in config.yaml"
        " (or `values:` on this field's mapping)"
    )
    return translate(values, table, ASSET_STATUSES, message)


def employment_status(values: pd.Series, mapping: FieldMapping, ctx: TransformContext) -> Normalised:
    table = alias_table(EMPLOYMENT_STATUSES, BUILTIN_EMPLOYMENT_ALIASES, mapping.values)
    text = text_view(values)
    found = word_keys(text).map(table)
    out = found.where(found.isin(EMPLOYMENT_STATUSES), "unknown").astype("str")
    out = out.where(text.notna() & (found != NULL_ALIAS))
    return Normalised.ok(to_object(out))
