"""`kind: snipeit`: Snipe-IT hardware, users, licenses and license seats.

    - name: snipeit
      kind: snipeit
      base_url: https://snipeit.example.com
      auth: {token: ${SNIPEIT_TOKEN}}        # a personal API token: `Authorization: Bearer …`

Lists are `{total, rows}` paged by `limit`/`offset`. Costs come formatted in the
instance's locale (`"1.599,62"`), dates as `{date, formatted}` objects: the mappings name
their `date` leaf (`purchase_date.date`), plain text that the date transform reads and
deduplicates (it reads whole `{date, formatted}` objects too, for a mapping naming one).
Reads are sorted by `id`, which stays put while records change during a read (sorted by
`updated_at`, a record edited mid-read moves to the end and pushes another past an offset
already read). Snipe-IT cannot filter by change time, so later syncs keep
only rows changed at or after the cursor (client side).
Seats (`/api/v1/licenses/{id}/seats`) become license assignments to their user's email;
free seats are skipped. Snipe-IT licenses have no SKU, so the name stands in for it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from connectors.http.connector import HttpConnector
from connectors.http.preset import PresetConfig

_BY_ID = {"sort": "id", "order": "asc"}


class SnipeItConfig(PresetConfig):
    kind: Literal["snipeit"]
    defaults: ClassVar[dict[str, Any]] = {
        "auth": {"type": "bearer"},
        "paginator": {"type": "offset", "limit": 500, "total_path": "total"},
        "entities": {
            "assets": {
                "path": "/api/v1/hardware",
                "records": "rows",
                "params": _BY_ID,
                "id": "id",
                "cursor": "updated_at.datetime",
                "fields": {
                    "asset_tag": "asset_tag",
                    "serial_number": "serial",
                    "name": "name",
                    "model": "model.name",
                    "category": "category.name",
                    "manufacturer": "manufacturer.name",
                    "status": "status_label.name",
                    "location": "location.name",
                    "assigned_to": {"columns": ["assigned_to.email", "assigned_to.username"]},
                    "purchase_date": "purchase_date.date",
                    "warranty_end": "warranty_expires.date",
                    "cost": {"column": "purchase_cost", "currency": "USD"},
                },
            },
            "people": {
                "path": "/api/v1/users",
                "records": "rows",
                "params": _BY_ID,
                "id": "id",
                "cursor": "updated_at.datetime",
                "fields": {
                    "email": "email",
                    "username": "username",
                    "name": "name",
                    "department": "department.name",
                },
            },
            "licenses": {
                "path": "/api/v1/licenses",
                "records": "rows",
                "params": _BY_ID,
                "id": "id",
                "cursor": "updated_at.datetime",
                "fields": {
                    "vendor": "manufacturer.name",
                    "product": "name",
                    "sku": "name",  # Snipe-IT has no SKU: the license's name is its key
                    "seats_purchased": "seats",
                    "cost_per_seat": {"column": "purchase_cost", "currency": "USD"},
                    "renewal_date": "expiration_date.date",
                },
            },
            "license_assignments": {
                "path": "/api/v1/licenses/{id}/seats",
                "records": "rows",
                "for_each": {"path": "/api/v1/licenses", "records": "rows"},
                "skip_without": ["assigned_user.id"],  # a free seat is no assignment
                "id": ["parent.id", "id"],
                "fields": {
                    "license": "parent.name",
                    "person": {"columns": ["assigned_user.email", "assigned_user.username"]},
                },
            },
        },
    }


class SnipeItConnector(HttpConnector):
    kind = "snipeit"
    config_model = SnipeItConfig
