"""The `assetgraph` command: serve, sync, validate.

Exit codes: 0 success, 1 a user error explained on stderr (bad config, a source that
cannot be synced), 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from federation.config import CONFIG_ENV, Config, ConfigError, load_config

err = Console(stderr=True)
out = Console()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assetgraph", description="A GraphQL gateway over your IT asset sources."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help=f"config file (default: ${CONFIG_ENV}, else ./config.yaml)")

    serve = sub.add_parser("serve", help="sync, then serve GraphQL; resync on schedule")
    with_config(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")

    sync = sub.add_parser("sync", help="sync sources once, publish, and exit")
    with_config(sync)
    sync.add_argument("sources", nargs="*", metavar="SOURCE", help="default: every source")

    validate = sub.add_parser("validate", help="check a config without starting anything")
    with_config(validate)
    validate.add_argument("config_file", nargs="?", metavar="CONFIG", help="same as --config")
    return parser


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
    if args.command == "sync":
        return _sync(config, args.sources)
    return _serve(config, args.host, args.port, args.log_level)


def _validate(config: Config) -> int:
    out.print(
        f"{config.path}: ok — {len(config.sources)} sources "
        f"({', '.join(f'{s.name} [{s.kind}]' for s in config.sources) or 'none'})",
        highlight=False,
    )
    return 0


def _sync(config: Config, names: list[str]) -> int:
    from federation.scheduler import prepare_demo
    from federation.store import SyncLock
    from federation.sync import Syncer

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


def _serve(config: Config, host: str, port: int, log_level: str) -> int:
    import uvicorn

    from federation.app import create_app
    from federation.scheduler import SyncScheduler
    from federation.store import StoreReader

    logging.getLogger("assetgraph").setLevel(log_level.upper())
    scheduler = SyncScheduler(config)
    scheduler.start()
    reader = StoreReader(config.resolve(config.settings.store.path))
    app = create_app(config, reader)
    out.print(f"assetgraph: GraphiQL at http://{host}:{port}/graphql", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        scheduler.stop()
        scheduler.join(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
