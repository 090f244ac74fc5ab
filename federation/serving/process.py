"""What a serving process sets up before its app: logging, and the environment through which
`assetgraph serve --workers N` tells its worker processes what to serve.

Kept apart from the app so that the parent of the workers, which only supervises them, does
not import the GraphQL stack.
"""

from __future__ import annotations

import logging

#: the log level of `serve`, for its worker processes (the config comes in ASSETGRAPH_CONFIG)
LOG_LEVEL_ENV = "ASSETGRAPH_LOG_LEVEL"


def configure_logging(level: str) -> None:
    """Our loggers at `level` on stderr; the access log's JSON lines bare (one object a line)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("assetgraph").setLevel(level.upper())
    access = logging.getLogger("assetgraph.access")
    if not access.handlers:
        lines = logging.StreamHandler()
        lines.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(lines)
        access.propagate = False
