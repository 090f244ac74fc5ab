"""A local HTTP server that speaks vendor APIs, for the demo and for the connector tests.

One `ThreadingHTTPServer` on 127.0.0.1 mounts each `Vendor` under its own prefix
(`http://127.0.0.1:PORT/okta/api/v1/users`). A vendor answers in its own wire format: auth
checks, paging, headers. Faults can be queued per vendor — a status (429 and 503 carry
`Retry-After: 1`), a slow answer, a body that is not JSON — to show how the gateway copes.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    """One request as the vendor sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    #: the mounted URL of the vendor (for next-page links)
    base: str
    #: the request body as sent
    body: bytes = b""

    @property
    def json(self) -> Any:
        """The body as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, body: Any) -> Reply:
    return Reply(status, body)


class Vendor:
    """One vendor's API. Subclasses set `name` and implement `answer`."""

    name = "vendor"

    def answer(self, call: Call) -> Reply:
        raise NotImplementedError


@dataclass
class Fault:
    #: an HTTP status, `slow` (answer after `delay` seconds) or `garbage` (not JSON)
    kind: int | str
    #: only requests whose path contains this
    path: str | None = None
    times: float = 1
    delay: float = 2.0
    #: only requests of this method (GET, POST…)
    method: str | None = None


class VendorServer:
    def __init__(self, vendors: list[Vendor], host: str = "127.0.0.1", port: int = 0) -> None:
        self.vendors = {v.name: v for v in vendors}
        self.faults: dict[str, list[Fault]] = {}
        self.calls: list[tuple[str, Call]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body leave in one write (no Nagle delay)

            def do_GET(self) -> None:
                owner._handle(self, "GET")

            def do_POST(self) -> None:
                owner._handle(self, "POST")

            def do_PATCH(self) -> None:
                owner._handle(self, "PATCH")

            def do_PUT(self) -> None:
                owner._handle(self, "PUT")

            def do_DELETE(self) -> None:
                owner._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def base(self, vendor: str) -> str:
        return f"{self.url}/{vendor}"

    def start(self) -> VendorServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="vendor-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def fail(
        self,
        vendor: str,
        kind: int | str,
        *,
        path: str | None = None,
        times: float = 1,
        delay: float = 2.0,
        method: str | None = None,
    ) -> None:
        """Queue a fault for the vendor's next matching requests (`times=float('inf')`: for ever)."""
        with self._lock:
            self.faults.setdefault(vendor, []).append(Fault(kind, path, times, delay, method))

    def heal(self, vendor: str | None = None) -> None:
        with self._lock:
            if vendor is None:
                self.faults.clear()
            else:
                self.faults.pop(vendor, None)

    def calls_to(self, vendor: str) -> list[Call]:
        return [c for v, c in self.calls if v == vendor]

    # ------------------------------------------------------------------------- dispatch
    def _fault(self, vendor: str, path: str, method: str) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(vendor, []):
                if (
                    fault.times > 0
                    and (fault.path is None or fault.path in path)
                    and (fault.method is None or fault.method == method)
                ):
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        name, _, rest = parts.path.lstrip("/").partition("/")
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        vendor = self.vendors.get(name)
        if vendor is None:
            self._send(handler, Reply(404, {"error": f"no vendor {name!r}"}))
            return
        call = Call(
            method,
            "/" + rest,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
            parse_qs(raw.decode("utf-8", "replace")),
            self.base(name),
            raw,
        )
        with self._lock:
            self.calls.append((name, call))
        fault = self._fault(name, call.path, method)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None and fault.kind == "garbage":
            self._send(
                handler,
                Reply(200, b"<html><body>Service maintenance</body></html>", {"Content-Type": "text/html"}),
            )
            return
        elif fault is not None:
            status = int(fault.kind)
            headers = {"Retry-After": "1"} if status in (429, 503) else {}
            self._send(handler, Reply(status, {"error": f"injected {status}"}, headers))
            return
        try:
            reply = vendor.answer(call)
        except Exception as exc:  # a bug in a simulator is a 500, not a hung client
            reply = Reply(500, {"error": f"{type(exc).__name__}: {exc}"})
        self._send(handler, reply)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        body = reply.body
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        if reply.status == 204:
            data = b""
        try:
            handler.send_response(reply.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            pass


def page_of(items: list[Any], start: int, size: int) -> tuple[list[Any], int | None]:
    """One page and the start of the next (None at the end)."""
    chunk = items[start : start + size]
    nxt = start + size
    return chunk, (nxt if nxt < len(items) else None)
