"""A loopback ServiceNow for the ticket tests: the vendor (federation/demo/servicenow.py) on
its own HTTP server, and the `kind: servicenow` source that reaches it (reading nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from federation.demo.servicenow import ServiceNow
from federation.demo.vendor_server import VendorServer

USER, PASSWORD = "itsm-bot", "sn-pass-3321"


@contextmanager
def loopback_servicenow() -> Iterator[tuple[ServiceNow, VendorServer]]:
    vendor = ServiceNow(USER, PASSWORD, {"sc_request": [], "incident": []})
    server = VendorServer([vendor]).start()
    try:
        yield vendor, server
    finally:
        server.stop()


def itsm_source(server: VendorServer) -> dict[str, Any]:
    """The source `itsm`, retried briefly (the tickets' queue does the rest)."""
    return {"name": "itsm", "kind": "servicenow", "base_url": server.base("servicenow"),
            "auth": {"username": USER, "password": PASSWORD},
            "retry": {"max_tries": 2, "backoff_base": 0.01, "backoff_max": 0.05, "max_wait": 1},
            "entities": {"assets": None, "people": None, "locations": None}}  # fmt: skip
