"""The demo's identity provider, license portal and ITSM: Okta, Microsoft 365 and ServiceNow,
simulated locally, with a receiver for the gateway's webhooks.

The estate's people become Okta users (the estate's leavers are DEPROVISIONED) and Microsoft
365 users holding seats of four SKUs; leavers keep some seats, as they do in real tenants
until someone reclaims them. ServiceNow starts with no tickets: the gateway opens them
(config.yaml's `tickets:`, through the `itsm` source). `start_simulator` serves them all on
127.0.0.1 at `demo.vendor_port` (once per process; port 0 takes any free port), where
config.yaml's `okta`, `m365` and `itsm` sources reach them like the real services, and its
`demo` webhook subscription delivers to the receiver (receiver.py). A port another program
holds is refused: the sources would otherwise read whatever answers there.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from federation.demo.estate import BASE_DATE, Estate
from federation.demo.receiver import WebhookReceiver
from federation.demo.servicenow import ServiceNow
from federation.demo.vendor_server import Vendor, VendorServer
from federation.demo.vendors import MicrosoftGraph, Okta

log = logging.getLogger("assetgraph.demo")

#: the demo's made-up credentials (config.yaml reads them with ${ENV:-default})
OKTA_TOKEN = "demo-okta-token"
M365_TENANT = "demo-tenant"
M365_CLIENT_ID = "demo-client"
M365_CLIENT_SECRET = "demo-secret"
ITSM_USER = "assetgraph"
ITSM_PASSWORD = "demo-itsm-password"
#: the demo subscription's signing secret (config.yaml: ${ASSETGRAPH_WEBHOOK_SECRET:-…})
WEBHOOK_SECRET_ENV = "ASSETGRAPH_WEBHOOK_SECRET"
DEMO_WEBHOOK_SECRET = "whsec_ZGVtby1vbmx5IHdlYmhvb2sga2V5LCBub3QgZm9yIHVzZQ=="

#: part number, share of people holding it, spare seats bought beyond those held
SKUS = (
    ("SPE_E3", 0.70, 12),
    ("SPE_E5", 0.20, 3),
    ("POWER_BI_PRO", 0.25, -2),  # over-assigned: more held than bought
    ("VISIOCLIENT", 0.08, 0),
)
APPS = (("0oa1slack", "slack", "Slack", 0.8), ("0oa2zoom", "zoom", "Zoom", 0.5))

#: port asked for (0: any) → (running simulator, the estate it serves)
_servers: dict[int, tuple[VendorServer, object]] = {}
_lock = threading.Lock()


class VendorPortTaken(Exception):
    """The demo's vendor port is held by another program (or another assetgraph process)."""

    def __init__(self, port: int, reason: str) -> None:
        self.port = port
        super().__init__(
            f"demo.vendor_port: 127.0.0.1:{port} is taken ({reason}), so the demo's okta and m365 "
            "sources would read whatever answers there. Stop the program that holds it, or pick a "
            f"free port: set demo.vendor_port and ASSETGRAPH_DEMO_VENDORS=http://127.0.0.1:<port>"
        )


def _id(prefix: str, text: str, length: int = 17) -> str:
    return prefix + uuid.uuid5(uuid.NAMESPACE_URL, text).hex[:length]


def _stamp(days: float) -> str:
    return (BASE_DATE - pd.Timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def okta_users(estate: Estate) -> list[dict[str, Any]]:
    rng = np.random.default_rng([estate.seed, 90])
    users = []
    for row in estate.people.itertuples():
        updated = float(rng.uniform(1, 400))
        users.append(
            {
                "id": _id("00u", row.email),
                "status": "ACTIVE" if row.active else "DEPROVISIONED",
                "created": _stamp(updated + 300),
                "lastLogin": _stamp(updated / 2) if row.active else None,
                "lastUpdated": _stamp(updated),
                "statusChanged": _stamp(updated),
                "type": {"id": "oty1demo"},
                "profile": {
                    "firstName": row.first,
                    "lastName": row.last,
                    "login": row.email,
                    "email": row.email,
                    "department": row.department,
                },
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            }
        )
    return users


def app_members(estate: Estate) -> dict[str, list[tuple[int, float]]]:
    """Okta app id → its users: (position among the estate's people, days since assigned)."""
    rng = np.random.default_rng([estate.seed, 92])
    out: dict[str, list[tuple[int, float]]] = {}
    for app_id, _, _, share in APPS:
        out[app_id] = [
            (i, float(rng.uniform(10, 600))) for i in range(len(estate.people)) if rng.random() < share
        ]
    return out


def okta_apps(estate: Estate) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    emails = estate.people["email"].tolist()
    assigned = app_members(estate)
    apps, members = [], {}
    for app_id, name, label, _ in APPS:
        apps.append(
            {
                "id": app_id,
                "name": name,
                "label": label,
                "status": "ACTIVE",
                "signOnMode": "SAML_2_0",
                "created": _stamp(900),
            }
        )
        members[app_id] = [
            {
                "id": _id("00u", emails[i]),
                "scope": "USER",
                "status": "PROVISIONED",
                "created": _stamp(days),
                "credentials": {"userName": emails[i]},
                "profile": {"email": emails[i]},
            }
            for i, days in assigned[app_id]
        ]
    return apps, members


def sku_holders(estate: Estate) -> dict[str, np.ndarray]:
    """SKU part number → who holds a seat of it (a mask over the estate's people)."""
    rng = np.random.default_rng([estate.seed, 91])
    out = {}
    for part, share, _ in SKUS:
        holders = rng.random(len(estate.people)) < share
        holders[1] = True  # José Ñúñez left and still holds every SKU
        out[part] = holders
    return out


def m365(estate: Estate) -> MicrosoftGraph:
    people = estate.people
    users = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "m365:" + row.email)),
            "displayName": row.name,
            "mail": row.email,
            "userPrincipalName": f"{row.username}@example.onmicrosoft.com",
            "department": row.department,
            "accountEnabled": bool(row.active),
        }
        for row in people.itertuples()
    ]
    details: dict[str, list[dict[str, Any]]] = {u["id"]: [] for u in users}
    skus = []
    seats = sku_holders(estate)
    for part, _, spare in SKUS:
        sku_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "sku:" + part))
        holders = seats[part]
        for user, holds in zip(users, holders, strict=True):
            if holds:
                details[user["id"]].append(
                    {
                        "id": f"{sku_id}-{user['id'][:8]}",
                        "skuId": sku_id,
                        "skuPartNumber": part,
                        "servicePlans": [
                            {"servicePlanName": part, "provisioningStatus": "Success", "appliesTo": "User"}
                        ],
                    }
                )
        used = int(holders.sum())
        skus.append(
            {
                "accountName": "Example Corp",
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": used,
                "id": f"{M365_TENANT}_{sku_id}",
                "skuId": sku_id,
                "skuPartNumber": part,
                "servicePlans": [],
                "prepaidUnits": {
                    "enabled": max(0, used + spare),
                    "lockedOut": 0,
                    "suspended": 0,
                    "warning": 0,
                },
            }
        )
    return MicrosoftGraph(M365_TENANT, M365_CLIENT_ID, M365_CLIENT_SECRET, skus, users, details, page_size=50)


def vendors(estate: Estate) -> list[Vendor]:
    """The demo's Okta and Microsoft 365, built from one estate; its ServiceNow (no tickets
    yet) and webhook receiver."""
    apps, members = okta_apps(estate)
    itsm = ServiceNow(ITSM_USER, ITSM_PASSWORD, {"sc_request": [], "incident": []})
    receiver = WebhookReceiver(os.environ.get(WEBHOOK_SECRET_ENV) or DEMO_WEBHOOK_SECRET)
    return [Okta(OKTA_TOKEN, okta_users(estate), apps, members), m365(estate), itsm, receiver]


def simulator(estate: Estate, port: int = 0) -> VendorServer:
    return VendorServer(vendors(estate), port=port)


def _port(server: VendorServer) -> int:
    return int(server.httpd.server_address[1])


def start_simulator(make: Callable[[], Estate], port: int, estate_key: object = None) -> str:
    """Serve the demo's Okta and Microsoft 365 at 127.0.0.1:`port` (0: any free port), once per
    process; a later call for another estate (`estate_key`: seed and size) swaps the data it
    serves. Returns the URL. Raises VendorPortTaken when another program holds the port."""
    with _lock:
        # this process's simulator on that port, whether it was asked for by number or as 0
        mine = [k for k, (srv, _) in _servers.items() if k == port or (port and _port(srv) == port)]
        key = mine[0] if mine else None
        if key is None:
            try:
                server = simulator(make(), port).start()
            except OSError as exc:
                raise VendorPortTaken(port, exc.strerror or str(exc)) from None
            _servers[port] = (server, estate_key)
            log.info("demo vendor simulator (okta, msgraph, servicenow, receiver) at %s", server.url)
            return server.url
        server, served = _servers[key]
        if served != estate_key:
            server.vendors = {v.name: v for v in vendors(make())}  # requests see old or new
            _servers[key] = (server, estate_key)
        return server.url


def stop_simulators() -> None:
    """Stop this process's simulators (their ports are free again for another process)."""
    with _lock:
        for server, _ in _servers.values():
            server.stop()
        _servers.clear()


__all__ = [
    "APPS",
    "VendorPortTaken",
    "app_members",
    "m365",
    "okta_apps",
    "okta_users",
    "simulator",
    "sku_holders",
    "start_simulator",
    "stop_simulators",
    "vendors",
]
