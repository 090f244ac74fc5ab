"""The `assetgraph` command: serve, sync, validate, token, apikey create.

Exit codes: 0 success, 1 a user error explained on stderr (bad config, a source that
cannot be synced), 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from federation.config.settings import CONFIG_ENV, Config, ConfigError, load_config

err = Console(stderr=True)
out = Console()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assetgraph", description="A GraphQL gateway over your IT asset sources."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help=f"config file (default: ${CONFIG_ENV}, else ./config.yaml)")

    serve = sub.add_parser(
        "serve",
        help="serve GraphQL (at once from a published snapshot, else after the first sync); "
        "sync in the background on schedule",
    )
    with_config(serve)
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
    serve.add_argument("--log-level", default="info")

    sync = sub.add_parser("sync", help="sync sources once, publish, and exit")
    with_config(sync)
    sync.add_argument("sources", nargs="*", metavar="SOURCE", help="default: every source")

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
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(getattr(args, "config_file", None) or args.config)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        return 1
    if args.command == "validate":
        return _validate(config)
    if args.command == "token":
        return _token(config, args)
    if args.command == "apikey":
        return _apikey_create(config, args)
    if args.command == "sync":
        return _sync(config, args.sources)
    return _serve(config, args.host, args.port, args.log_level, args.workers)


def _validate(config: Config) -> int:
    out.print(
        f"{config.path}: ok — {len(config.sources)} sources "
        f"({', '.join(f'{s.name} [{s.kind}]' for s in config.sources) or 'none'})",
        highlight=False,
    )
    return 0


def _known_role(config: Config, role: str) -> bool:
    from federation.access.policy import compile_policy

    auth = config.settings.auth
    policy = compile_policy(config.settings.roles, anonymous=auth.anonymous_role if auth else "anonymous")
    if policy.role(role) is None:
        err.print(
            f"error: unknown role {role!r}; expected one of {', '.join(sorted(policy.roles))}",
            highlight=False,
        )
        return False
    return True


def _token(config: Config, args: argparse.Namespace) -> int:
    from connectors.base import parse_duration
    from federation.access.auth import hs256_secret, issue_token

    auth = config.settings.auth
    if auth is None or hs256_secret(auth) is None:
        err.print(
            "error: the config has no HS256 secret (auth.jwt_keys with algorithm: HS256); "
            "tokens for RS256/ES256 keys come from your identity provider",
            highlight=False,
        )
        return 1
    if not _known_role(config, args.role):
        return 1
    try:
        ttl = parse_duration(args.ttl)
    except ValueError as exc:
        err.print(f"error: --ttl: {exc}", highlight=False)
        return 2
    categories = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    attributes = {"email": args.email, "department": args.department, "categories": categories}
    subject = args.subject or args.email or f"dev-{args.role}"
    print(issue_token(auth, args.role, attributes, subject=subject, ttl=ttl))
    return 0


def _apikey_create(config: Config, args: argparse.Namespace) -> int:
    import yaml

    from federation.access.auth import hash_api_key, new_api_key

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


def _sync(config: Config, names: list[str]) -> int:
    from federation.pipeline.scheduler import prepare_demo
    from federation.pipeline.store import SyncLock
    from federation.pipeline.sync import Syncer

    known = {s.name for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        err.print(
            f"error: unknown source {', '.join(unknown)}; expected one of {', '.join(sorted(known))}",
            highlight=False,
        )
        return 1
    lock = SyncLock(config.resolve(config.settings.store.path))
    if not lock.acquire():
        holder = lock.path.read_text(encoding="utf-8").strip() or "?"
        err.print(
            f"error: another assetgraph process (pid {holder}) holds {lock.path} and syncs on its "
            "schedule; stop it or wait for it",
            highlight=False,
        )
        return 1
    try:
        prepare_demo(config)
        syncer = Syncer(config)
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as bar:
                tasks: dict[str, int] = {}

                def progress(source: str, entity: str | None, seen: int) -> None:
                    label = f"{source}.{entity}" if entity else source
                    if label not in tasks:
                        tasks[label] = bar.add_task(label)
                    bar.update(tasks[label], description=f"{label}: {seen:,} records read")

                report = syncer.run(names or None, progress)
        finally:
            syncer.close()
    finally:
        lock.release()
    table = Table("source", "status", "records", "quarantined", "seconds", "error")
    for r in report.sources:
        table.add_row(
            r.source,
            "[green]ok[/]" if r.ok else "[red]failed[/]",
            f"{r.records:,}",
            f"{r.quarantined:,}",
            f"{r.seconds:.2f}",
            r.error or ("incremental: " + ", ".join(r.incremental) if r.incremental else ""),
        )
    out.print(table)
    if report.reconcile:
        counts = ", ".join(f"{n:,} {e}" for e, n in report.reconcile.entities.items())
        out.print(
            f"published {report.snapshot_id}: {counts}; "
            f"{report.reconcile.conflicts:,} conflicting values, "
            f"{report.reconcile.ambiguities:,} ambiguous matches",
            highlight=False,
        )
    return 1 if report.failed else 0


def _serve(config: Config, host: str, port: int, log_level: str, workers: int) -> int:
    """uvicorn on a socket bound here (so `--port 0` can say which port it got): the app in
    this process, or `workers` processes sharing the socket, the published snapshot and, in
    prometheus_client's multiprocess mode, their metrics."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from federation.pipeline.metrics import MULTIPROC_ENV
    from federation.serving.process import LOG_LEVEL_ENV, configure_logging

    # our access log records every request; uvicorn's own line per request is off
    settings: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": False}
    metrics_dir: str | None = None
    if workers == 1:
        from federation.serving.app import serving_app

        configure_logging(log_level)
        server = uvicorn.Config(serving_app(config), lifespan="on", **settings)
    else:
        assert config.path is not None
        os.environ[CONFIG_ENV] = str(config.path.resolve())
        os.environ[LOG_LEVEL_ENV] = log_level
        if not os.environ.get(MULTIPROC_ENV):
            metrics_dir = tempfile.mkdtemp(prefix="assetgraph-metrics-")
            os.environ[MULTIPROC_ENV] = metrics_dir
        server = uvicorn.Config(
            "federation.serving.app:worker_app", factory=True, workers=workers, lifespan="on", **settings
        )
    sock = server.bind_socket()
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"assetgraph: GraphiQL at http://{shown}:{bound}/graphql", flush=True)
    try:
        if workers == 1:
            uvicorn.Server(server).run(sockets=[sock])
        else:
            Multiprocess(server, sockets=[sock]).run()
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the Ctrl-C
        pass
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
