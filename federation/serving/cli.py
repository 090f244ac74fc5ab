"""The `assetgraph` command: serve, sync, validate, token, apikey create.

Exit codes: 0 success, 1 a user error explained on stderr (bad config, a source that
cannot be synced), 2 usage.

Text that comes from outside (config values, error messages, source names) is printed as
rich `Text`, never as markup (`[sql]` stays `[sql]`), and long lines are not cut or folded
into the table: each problem is one line a terminal may wrap.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

import uvicorn
import yaml
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from uvicorn.supervisors import Multiprocess

from connectors.base import parse_duration
from connectors.registry import connector_class
from federation.access.auth import hash_api_key, hs256_secret, issue_token, new_api_key
from federation.access.inference import inference_warnings
from federation.access.policy import compile_policy
from federation.config.invalid_values import invalid_value_report
from federation.config.settings import CONFIG_ENV, Config, ConfigError, load_config
from federation.demo import VendorPortTaken, prepare_demo
from federation.pipeline.metrics import MULTIPROC_ENV
from federation.pipeline.on_demand import SyncRequestError, request_sync
from federation.pipeline.store import StoreReader
from federation.pipeline.sync import SyncReport
from federation.serving.app import create_metrics_app, serving_app
from federation.serving.http import ClipArguments
from federation.serving.logs import LOG_FORMATS, configure_logging
from federation.serving.process import LOG_LEVEL_ENV
from federation.workflow.store import WorkflowStoreError, open_workflow_store
from transforms.reverse import writable_fields

err = Console(stderr=True)
out = Console()


def _error(message: str) -> None:
    """`error: <message>` on stderr, verbatim."""
    err.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True, highlight=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assetgraph", description="A GraphQL gateway over your IT asset sources."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help=f"config file (default: ${CONFIG_ENV}, else ./config.yaml)")

    def with_logging(p: argparse.ArgumentParser) -> None:
        p.add_argument("--log-format", choices=LOG_FORMATS, help="text or json (default: logging.format)")
        p.add_argument(
            "--log-level",
            choices=("debug", "info", "warning", "error"),
            help="the gateway's lines at this level and above (default: logging.level)",
        )

    serve = sub.add_parser(
        "serve",
        help="serve GraphQL (at once from a published snapshot, else after the first sync); "
        "sync in the background on schedule",
    )
    with_config(serve)
    with_logging(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=int, default=8000, help="0 picks a free port (printed on the first line)"
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="serving processes sharing the published snapshot (one of them syncs); default 1",
    )

    sync = sub.add_parser(
        "sync",
        help="sync sources once, publish, and exit (asks a running server to, if there is one)",
    )
    with_config(sync)
    with_logging(sync)
    sync.add_argument("sources", nargs="*", metavar="SOURCE", help="default: every source")
    sync.add_argument(
        "--accept",
        action="append",
        default=[],
        metavar="SOURCE",
        help="read SOURCE again and publish it even if its guard objects (repeatable)",
    )
    sync.add_argument(
        "--timeout",
        help="how long to wait for a running server's sync (default: sync.request_timeout)",
    )

    validate = sub.add_parser("validate", help="check a config without starting anything")
    with_config(validate)
    validate.add_argument("config_file", nargs="?", metavar="CONFIG", help="same as --config")

    token = sub.add_parser("token", help="print a signed development token (the config's HS256 secret)")
    with_config(token)
    token.add_argument("--role", required=True)
    token.add_argument("--email")
    token.add_argument("--department")
    token.add_argument("--categories", help="comma-separated, e.g. network,server")
    token.add_argument("--subject", help="the `sub` claim (default: the email, else dev-<role>)")
    token.add_argument("--ttl", default="8h", help="lifetime, e.g. 15m, 8h (default 8h)")

    apikey = sub.add_parser("apikey", help="API keys for service accounts")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True)
    create = apikey_sub.add_parser("create", help="make a key; prints it once with its config entry")
    with_config(create)
    create.add_argument("--role", required=True)
    create.add_argument("--name", help="the account's name in the access log (default: <role>-key)")
    create.add_argument("--email", help="attribute for row filters that read X-Actor-Email")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(console=err)  # until the config says otherwise
    try:
        config = load_config(getattr(args, "config_file", None) or args.config)
    except ConfigError as exc:
        _error(str(exc))
        return 1
    if hasattr(args, "log_format"):
        logs = config.settings.logging
        configure_logging(args.log_format or logs.format, args.log_level or logs.level, console=err)
    if args.command == "validate":
        return _validate(config)
    if args.command == "token":
        return _token(config, args)
    if args.command == "apikey":
        return _apikey_create(config, args)
    if args.command == "sync":
        return _sync(config, args.sources, args.accept, args.timeout)
    return _serve(config, args.host, args.port, args.log_level or config.settings.logging.level, args.workers)


def _validate(config: Config) -> int:
    kinds = ", ".join(f"{s.name} [{s.kind}]" for s in config.sources) or "none"
    out.print(Text(f"{config.path}: ok — {len(config.sources)} sources ({kinds})"), soft_wrap=True)
    invalid = invalid_value_report(config)
    for line in invalid.lines:
        out.print(Text(line), soft_wrap=True, highlight=False)
    for warning in [*invalid.warnings, *_inference_warnings(config)]:
        err.print(Text("warning: ", style="bold yellow") + Text(warning), soft_wrap=True)
    for line in _read_only_fields(config):
        out.print(Text(line), soft_wrap=True)
    return 0


def _read_only_fields(config: Config) -> list[str]:
    """Per source whose connector writes: the mapped fields it cannot write back, and why."""
    lines: list[str] = []
    for source in config.sources:
        if not connector_class(source.kind).writable:
            continue
        for entity, stream in source.entities.items():
            if getattr(stream, "query", None) is not None and getattr(stream, "write_table", None) is None:
                lines.append(f"{source.name}.{entity}: read-only (read through a query: name `write_table:`)")
                continue
            for field, reason in writable_fields(stream, entity).items():
                if reason is not None:
                    lines.append(f"{source.name}.{entity}.{field}: read-only: {reason}")
    return lines


def _inference_warnings(config: Config) -> list[str]:
    """What each role can compute from what it reads (federation/access/inference.py)."""
    auth = config.settings.auth
    policy = compile_policy(config.settings.roles, anonymous=auth.anonymous_role if auth else "anonymous")
    return inference_warnings(config, policy)


def _known_role(config: Config, role: str) -> bool:
    auth = config.settings.auth
    policy = compile_policy(config.settings.roles, anonymous=auth.anonymous_role if auth else "anonymous")
    if policy.role(role) is None:
        _error(f"unknown role {role!r}; expected one of {', '.join(sorted(policy.roles))}")
        return False
    return True


def _token(config: Config, args: argparse.Namespace) -> int:
    auth = config.settings.auth
    if auth is None or hs256_secret(auth) is None:
        _error(
            "the config has no HS256 secret (auth.jwt_keys with algorithm: HS256); "
            "tokens for RS256/ES256 keys come from your identity provider"
        )
        return 1
    if not _known_role(config, args.role):
        return 1
    try:
        ttl = parse_duration(args.ttl)
    except ValueError as exc:
        _error(f"--ttl: {exc}")
        return 2
    if ttl > auth.max_token_lifetime:
        err.print(
            f"error: --ttl: longer than auth.max_token_lifetime ({auth.max_token_lifetime}): "
            "the gateway would refuse the token",
            highlight=False,
        )
        return 2
    categories = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    attributes = {"email": args.email, "department": args.department, "categories": categories}
    subject = args.subject or args.email or f"dev-{args.role}"
    print(issue_token(auth, args.role, attributes, subject=subject, ttl=ttl))
    return 0


def _apikey_create(config: Config, args: argparse.Namespace) -> int:
    if not _known_role(config, args.role):
        return 1
    key_id, key = new_api_key()
    entry: dict[str, object] = {
        "name": args.name or f"{args.role}-key",
        "id": key_id,
        "hash": hash_api_key(key),
        "role": args.role,
    }
    if args.email:
        entry["attributes"] = {"email": args.email}
    snippet = yaml.safe_dump({"auth": {"api_keys": [entry]}}, sort_keys=False).rstrip()
    print(f"API key (shown once; store it now): {key}")
    print()
    print("Add this entry to config.yaml (under auth.api_keys):")
    print(snippet)
    return 0


def _sync(config: Config, names: list[str], accept: list[str], timeout: str | None) -> int:
    try:
        wait = parse_duration(timeout) if timeout else None
    except ValueError as exc:
        _error(f"--timeout: {exc}")
        return 2
    try:
        prepare_demo(config)
    except VendorPortTaken as exc:
        _error(str(exc))
        return 1
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(source: str, entity: str | None, seen: int) -> None:
            label = f"{source}.{entity}" if entity else source
            if label not in tasks:
                tasks[label] = bar.add_task(label)
            bar.update(tasks[label], description=f"{label}: {seen:,} records read")

        def queued(holder: str) -> None:
            bar.add_task(f"asked the running assetgraph ({holder}) to sync; waiting for it")

        try:
            report = request_sync(
                config, names or None, accept=accept, timeout=wait, progress=progress, on_queued=queued
            )
        except SyncRequestError as exc:
            _error(str(exc))
            return 1
    _print_report(report)
    return 1 if report.failed else 0


_STATUS_STYLE = {"ok": "green", "held": "yellow", "failed": "red"}
#: how long uvicorn's supervisor waits for a worker to start (and for one to answer a ping
#: before it replaces it): start-up builds every role's schema, seconds on a loaded machine
WORKER_START_SECONDS = 60


def _print_report(report: SyncReport) -> None:
    """The table of sources (narrow enough for 80 columns), then each failure in full."""
    table = Table("source", "status", "records", "quarantined", "seconds", "read")
    for r in report.sources:
        table.add_row(
            Text(r.source),
            Text(r.status, style=_STATUS_STYLE.get(r.status, "")),
            f"{r.records:,}",
            f"{r.quarantined:,}",
            f"{r.seconds:.2f}",
            "" if not r.ok else Text("incremental: " + ", ".join(r.incremental)) if r.incremental else "full",
        )
    out.print(table)
    for r in report.failed:
        _error(f"source {r.source} {'is held' if r.status == 'held' else 'failed'}: {r.error}")
    noted = [f"{r.source} {r.noted:,}" for r in report.sources if r.noted]
    if noted:
        out.print(
            Text(
                f"values that could not be read, left out of their records ({', '.join(noted)}): "
                "GraphQL `quality` and `quality_summary` list them"
            ),
            soft_wrap=True,
        )
    if report.reconcile:
        counts = ", ".join(f"{n:,} {e}" for e, n in report.reconcile.entities.items())
        by = f" by the running server (pid {report.served_by})" if report.served_by else ""
        out.print(
            Text(
                f"published {report.snapshot_id}{by}: {counts}; "
                f"{report.reconcile.conflicts:,} conflicting values, "
                f"{report.reconcile.ambiguities:,} ambiguous matches; "
                + (
                    "merged what changed since the last publish"
                    if report.reconcile.incremental
                    else f"merged every record ({report.reconcile.merged_all_because})"
                )
            ),
            soft_wrap=True,
        )


def _serve(config: Config, host: str, port: int, log_level: str, workers: int) -> int:
    """uvicorn on a socket bound here (so `--port 0` can say which port it got): the app in
    this process, or `workers` processes sharing the socket, the published snapshot and, in
    prometheus_client's multiprocess mode, their metrics. Each serving process answers from
    the published snapshot at once and syncs in the background (`serving_app`)."""
    for warning in _inference_warnings(config):
        logging.getLogger("assetgraph.policy").warning("%s", warning)
    try:  # the gateway's own store, brought to this code's schema (refused if newer)
        open_workflow_store(config).close()
    except WorkflowStoreError as exc:
        _error(str(exc))
        return 1
    prepare_demo(config)
    logging.getLogger("uvicorn.access").addFilter(ClipArguments())
    # our access log records every request; uvicorn's own line per request is off, and its
    # other lines go through configure_logging's handler and format (log_config=None)
    settings: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "log_config": None,
    }
    metrics_dir: str | None = None
    if workers == 1:
        server = uvicorn.Config(serving_app(config), lifespan="on", **settings)
    else:
        assert config.path is not None
        os.environ[CONFIG_ENV] = str(config.path.resolve())
        os.environ[LOG_LEVEL_ENV] = log_level
        if not os.environ.get(MULTIPROC_ENV):
            metrics_dir = tempfile.mkdtemp(prefix="assetgraph-metrics-")
            os.environ[MULTIPROC_ENV] = metrics_dir
        # the supervisor's default of 5 s would kill a starting worker and restart it, again
        # and again, on a loaded machine
        server = uvicorn.Config(
            "federation.serving.app:worker_app",
            factory=True,
            workers=workers,
            lifespan="on",
            timeout_worker_healthcheck=WORKER_START_SECONDS,
            **settings,
        )
    sock = server.bind_socket()
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"assetgraph: GraphiQL at http://{shown}:{bound}/graphql", flush=True)
    metrics_server = _metrics_server(config, StoreReader(config.resolve(config.settings.store.path)))
    sys.setswitchinterval(0.001)  # the loop takes the GIL back within 1 ms of a parsing thread
    try:
        if workers == 1:
            uvicorn.Server(server).run(sockets=[sock])
        else:
            Multiprocess(server, sockets=[sock]).run()
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the Ctrl-C
        pass
    finally:
        sock.close()
        if metrics_server is not None:
            metrics_server.should_exit = True
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _metrics_server(config: Config, reader: Any) -> Any:
    """`server.metrics.port`: /metrics alone on its own port, in a thread (None if unset)."""
    settings = config.settings.server.metrics
    if settings.port is None:
        return None
    app = create_metrics_app(settings, reader)
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, lifespan="off")
    )
    threading.Thread(target=server.run, name="metrics", daemon=True).start()
    out.print(Text(f"assetgraph: metrics at http://{settings.host}:{settings.port}/metrics"), soft_wrap=True)
    return server


if __name__ == "__main__":
    sys.exit(main())
