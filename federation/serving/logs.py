"""Log lines: when, how bad, from where, and which request or source they concern.

`logging.format` in config.yaml (or `--log-format`) picks one of two shapes:

- `text`: `2026-11-01T09:30:00.123Z WARNING assetgraph.sync [source=finance] source finance
  failed: …` — for people;
- `json`: one object per line, `{"timestamp": "2026-11-01T09:30:00.123Z", "level":
  "WARNING", "logger": "assetgraph.sync", "message": "…", "source": "finance"}`, with
  `request_id` for lines written while answering a request (the X-Request-Id the client got)
  and `exc_info` for a traceback — for log collectors.

uvicorn's own lines (startup, access) go through the same handler. Lines are written through
the command's rich console, so a line logged while a progress display is drawn appears above
it instead of tearing it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

from pythonjsonlogger.json import JsonFormatter
from rich.console import Console

from federation.pipeline.log_context import SOURCE

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

#: the id of the request being answered (set by the app's RequestIdMiddleware)
REQUEST_ID: ContextVar[str | None] = ContextVar("assetgraph_request_id", default=None)
#: loggers whose level follows the configured one (the rest of the world stays at WARNING)
OUR_LOGGERS = ("assetgraph", "uvicorn", "uvicorn.error", "uvicorn.access")


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Context(logging.Filter):
    """Adds `request_id` and `source` to every record (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        if getattr(record, "source", None) is None:
            record.source = SOURCE.get()
        return True


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = "".join(
            f" [{name}={value}]"
            for name in ("request_id", "source")
            if (value := getattr(record, name, None)) is not None
        )
        line = f"{_timestamp(record)} {record.levelname} {record.name}{context}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonLineFormatter(JsonFormatter):
    """python-json-logger, with a UTC timestamp first and no null context fields."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}{request_id}{source}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
        )

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:  # type: ignore[type-arg]
        log_data["timestamp"] = _timestamp(record)
        super().add_fields(log_data, record, message_dict)
        for key in ("request_id", "source"):
            if log_data.get(key) is None:
                log_data.pop(key, None)


class ConsoleHandler(logging.Handler):
    """Writes each line through a rich Console: verbatim (no markup, no wrapping), and in
    step with whatever live display that console is drawing."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.out(self.format(record), highlight=False)
        except Exception:
            self.handleError(record)


def configure_logging(
    fmt: LogFormat = "text", level: str = "info", *, console: Console | None = None
) -> None:
    """Send every log line to stderr (through `console`) in the chosen format."""
    handler = ConsoleHandler(console or Console(stderr=True))
    handler.addFilter(_Context())
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, ConsoleHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level.upper())
        logger.handlers.clear()  # uvicorn's own handlers would print each line a second time
        logger.propagate = True
