"""The command line (part of the contract in DESIGN.md): the app's options, ``export``,
``doctor``, ``repair``, and the front desk's ``config`` and ``contacts`` files (run by
:mod:`desktop.frontdesk.commands`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from desktop import APP_NAME, __version__


class AppArgs(NamedTuple):
    demo: bool
    data_dir: Path | None
    port: int
    public_url: str | None
    no_tunnel: bool
    minimized: bool
    smoke_test: bool
    verbose: bool


class ExportArgs(NamedTuple):
    data_dir: Path | None
    demo: bool
    format: str
    output: Path | None


class FrontDeskArgs(NamedTuple):
    """``config import FILE`` / ``config export [--output FILE]``, the same for ``contacts``."""

    topic: str  # "config" | "contacts"
    action: str  # "import" | "export"
    file: Path | None
    output: Path | None
    data_dir: Path | None
    demo: bool


_FRONT_DESK_HELP = {
    "config": (
        "the front-desk setup (quick replies, business hours, auto-replies) as JSON",
        "a setup file written by 'config export'",
    ),
    "contacts": (
        "contacts as CSV with the header name,number,note",
        "a CSV file with a header line naming the columns name,number,note",
    ),
}


def _front_desk_parser(topic: str) -> argparse.ArgumentParser:
    what, file_help = _FRONT_DESK_HELP[topic]
    parser = argparse.ArgumentParser(
        prog=f"twoway {topic}", description=f"Import or export {what}."
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="import|export")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, metavar="DIR", help="the data folder to use")
    common.add_argument("--demo", action="store_true", help="use the demo's data folder")
    importing = actions.add_parser("import", parents=[common], help=f"read {file_help}")
    importing.add_argument("file", type=Path, metavar="FILE")
    exporting = actions.add_parser("export", parents=[common], help=f"write {what}")
    exporting.add_argument(
        "--output", type=Path, metavar="FILE", help="write here instead of standard output"
    )
    return parser


class DoctorArgs(NamedTuple):
    data_dir: Path | None
    json: bool


class RepairArgs(NamedTuple):
    data_dir: Path | None


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("the port must be between 0 and 65535")
    return value


def _public_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a web address; expected something like https://example.com"
        )
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError("the public URL must not have a query or fragment")
    return text.strip().rstrip("/")


def _app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoway",
        description=f"{APP_NAME}: text your customers from your desktop through your Twilio "
        "number.",
        epilog="Run 'twoway export --help' to export conversations, 'twoway doctor' to check "
        "whether texting works, 'twoway config --help' and 'twoway contacts --help' for the "
        "front-desk setup and contacts.",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try Twoway with a built-in Twilio simulator (no account needed)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep messages and settings in DIR instead of the default folder",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="N",
        help="webhook listener port on 127.0.0.1 (0 = any free port)",
    )
    parser.add_argument(
        "--public-url",
        type=_public_url,
        metavar="URL",
        help="an existing HTTPS address that forwards to the listener (instead of ngrok)",
    )
    parser.add_argument(
        "--no-tunnel",
        action="store_true",
        help="no inbound webhooks: check Twilio for new messages periodically",
    )
    parser.add_argument("--minimized", action="store_true", help="start hidden in the tray")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the data folder and build the main window, then exit",
    )
    parser.add_argument("--verbose", action="store_true", help="log more detail")
    return parser


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoway export",
        description="Write every conversation and message to a file (or standard output).",
    )
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="the data folder to read")
    parser.add_argument("--demo", action="store_true", help="export the demo's data folder")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write here instead of standard output"
    )
    return parser


def _doctor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoway doctor",
        description="Can I text yet? Check the Twilio sign-in, the number, where its texts "
        "go, US registration and whether Twilio reaches Twoway. Exit status 0 when ready, "
        "1 when something blocks.",
    )
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="the data folder to check")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _repair_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoway repair",
        description="Rebuild a damaged message database from what is still readable and "
        "Twilio's message log; the damaged file is kept aside unchanged.",
    )
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="the data folder to repair")
    return parser


def parse(argv: Sequence[str]) -> AppArgs | ExportArgs | DoctorArgs | RepairArgs | FrontDeskArgs:
    args = list(argv)
    if args and args[0] == "export":
        ns = _export_parser().parse_args(args[1:])
        return ExportArgs(ns.data_dir, ns.demo, ns.format, ns.output)
    if args and args[0] == "doctor":
        ns = _doctor_parser().parse_args(args[1:])
        return DoctorArgs(ns.data_dir, ns.json)
    if args and args[0] in _FRONT_DESK_HELP:
        ns = _front_desk_parser(args[0]).parse_args(args[1:])
        return FrontDeskArgs(
            args[0],
            ns.action,
            getattr(ns, "file", None),
            getattr(ns, "output", None),
            ns.data_dir,
            ns.demo,
        )
    if args and args[0] == "repair":
        ns = _repair_parser().parse_args(args[1:])
        return RepairArgs(ns.data_dir)
    ns = _app_parser().parse_args(args)
    if ns.public_url and ns.no_tunnel:
        _app_parser().error("--public-url and --no-tunnel cannot be used together")
    return AppArgs(
        ns.demo,
        ns.data_dir,
        ns.port,
        ns.public_url,
        ns.no_tunnel,
        ns.minimized,
        ns.smoke_test,
        ns.verbose,
    )


def run_export(args: ExportArgs) -> int:
    from desktop.config import Paths, default_data_dir
    from desktop.store.database import StoreError
    from desktop.store.export import DatabaseDamaged, export

    paths = Paths(args.data_dir or default_data_dir(demo=args.demo))
    output = args.output
    partial = None if output is None else output.with_name(output.name + ".part")
    try:
        if partial is None or output is None:
            count = export(paths.database, paths.media, sys.stdout, args.format)
        else:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = export(paths.database, paths.media, out, args.format)
            partial.replace(output)
    except DatabaseDamaged as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        print(
            f"twoway export: the message database in {paths.data_dir} is damaged "
            f"({exc.health.detail or 'SQLite cannot read part of it'}), so nothing was "
            "exported. Run 'twoway repair' first: it keeps the damaged file unchanged and "
            "rebuilds the database from every readable message plus Twilio's message log. "
            "Then export again.",
            file=sys.stderr,
        )
        return 1
    except StoreError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        print(f"twoway export: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"twoway export: cannot write the export: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"Exported {count} messages.", file=sys.stderr)
    return 0


def run_doctor(args: DoctorArgs) -> int:
    from desktop.readiness.doctor import run_doctor as doctor

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a console that cannot show “quotes”
    return doctor(args.data_dir, args.json)


def _phase(line: str) -> None:
    """Progress on standard error: the steps, not every batch of rows."""
    if line.endswith("…"):
        print(line, file=sys.stderr, flush=True)


def run_repair(args: RepairArgs) -> int:
    """``twoway repair``: exit 0 when rebuilt (or nothing was damaged), 1 when it cannot."""
    from desktop import recovery
    from desktop.config import EnvironmentOverrides, Paths, default_data_dir
    from desktop.domain.store_health import HealthKind
    from desktop.logs import setup_logging
    from desktop.store import backups
    from desktop.store.health import quick_check
    from desktop.store.repair import RepairImpossible

    paths = Paths(args.data_dir or default_data_dir())
    database = paths.database
    setup_logging(paths.log_file if paths.data_dir.is_dir() else None, console=False)
    try:
        environment = EnvironmentOverrides.from_environ()
    except ValueError as exc:
        print(f"twoway repair: {exc}", file=sys.stderr)
        return 1
    if not database.exists() and backups.newest(paths.backups) is None:
        print(f"twoway repair: there is no message database in {paths.data_dir}.", file=sys.stderr)
        return 1
    if database.exists() and database.stat().st_size > 0:
        health = quick_check(database, paths.backups)
        if health.kind is HealthKind.OK:
            print(f"The message database in {paths.data_dir} is not damaged; nothing was changed.")
            return 0
    credentials, why_not = recovery.stored_credentials(encrypted_file=paths.encrypted_secrets)
    try:
        outcome = recovery.repair(
            database,
            paths.backups,
            credentials=credentials,
            api_base_url=environment.api_base_url,
            skipped=why_not,
            progress=_phase,
        )
    except RepairImpossible as exc:
        print(f"twoway repair: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"twoway repair: could not write in {paths.data_dir} ({exc.strerror}). Free some "
            "space or check the folder's permissions, then try again.",
            file=sys.stderr,
        )
        return 1
    print("\n".join(outcome.lines()))
    return 0
