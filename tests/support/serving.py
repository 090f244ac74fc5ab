"""Serve an ASGI app with uvicorn on a free port of 127.0.0.1, in a thread, for HTTP tests;
serve a config's gateway once every source has been synced."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from federation.config.settings import Config
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import Syncer
from federation.serving.app import create_app


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run `app` until the block ends; yield its base URL once /healthz answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        # a loaded machine: building every role's schema at start-up can take a while
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def synced_and_served(config: Config) -> Iterator[httpx.Client]:
    """Sync every source of `config` once, then serve its gateway until the block ends;
    yield an HTTP client whose base URL is the gateway's."""
    syncer = Syncer(config)
    try:
        syncer.run(None)
    finally:
        syncer.close()
    app = create_app(config, StoreReader(config.resolve(config.settings.store.path)))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield http
