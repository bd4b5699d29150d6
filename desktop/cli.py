"""The command line (part of the contract in DESIGN.md): the app's options, ``export``,
``doctor``, and the front desk's ``config`` and ``contacts`` files (run by
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


def parse(argv: Sequence[str]) -> AppArgs | ExportArgs | DoctorArgs | FrontDeskArgs:
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
    from desktop.store.export import export

    paths = Paths(args.data_dir or default_data_dir(demo=args.demo))
    try:
        if args.output is None:
            count = export(paths.database, paths.media, sys.stdout, args.format)
        else:
            partial = args.output.with_name(args.output.name + ".part")
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = export(paths.database, paths.media, out, args.format)
            partial.replace(args.output)
    except StoreError as exc:
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
