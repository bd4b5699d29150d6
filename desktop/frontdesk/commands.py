"""``twoway config import|export`` and ``twoway contacts import|export`` (DESIGN.md contract).

Messages are plain words on standard error (the import report of ``contacts import`` on
standard output); data goes to standard output or ``--output``, written to a ``.part``
file first so a failed export never leaves half a file.  Exit status: 0 done, 1 refused
(a bad file, nothing readable, no data yet), 2 usage (argparse).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from desktop.cli import FrontDeskArgs
from desktop.config import EnvironmentOverrides, Paths, SettingsFile, default_data_dir
from desktop.domain.frontdesk_setup import SetupFileError, default_setup, dump_setup
from desktop.frontdesk.setup_file import SetupHolder, local_time_zone, setup_path

if TYPE_CHECKING:
    from desktop.frontdesk.service import ContactsPreview, FrontDesk


def run(args: FrontDeskArgs) -> int:
    paths = Paths(args.data_dir or default_data_dir(demo=args.demo))
    name = f"twoway {args.topic} {args.action}"
    try:
        if args.topic == "config":
            return _config(args, paths, name)
        return _contacts(args, paths, name)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{name}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


def _write(output: Path | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    partial = output.with_name(output.name + ".part")
    partial.write_text(text, encoding="utf-8", newline="")
    os.replace(partial, output)


# -- config --------------------------------------------------------------------------------


def _config(args: FrontDeskArgs, paths: Paths, name: str) -> int:
    path = setup_path(paths.data_dir)
    if args.action == "export":
        if path.exists():
            text = SetupHolder.open(path).export_text()
        else:
            text = dump_setup(default_setup(local_time_zone()))
        _write(args.output, text)
        if args.output is not None:
            print(f"Wrote the front-desk setup to {args.output}.", file=sys.stderr)
        return 0
    assert args.file is not None
    data = args.file.read_bytes()
    paths.create()
    try:
        setup = SetupHolder.open(path).import_text(data)
    except SetupFileError as exc:
        print(f"{name}: {args.file} was not imported; nothing changed. {exc}", file=sys.stderr)
        return 1
    print(
        f"Imported {len(setup.quick_replies)} quick replies, business hours in "
        f"{setup.business_hours.time_zone} and {len(setup.auto_replies.keywords)} keyword "
        "replies. A Twoway that is running uses them from its next start.",
        file=sys.stderr,
    )
    return 0


# -- contacts ------------------------------------------------------------------------------


def _contacts(args: FrontDeskArgs, paths: Paths, name: str) -> int:
    from desktop.frontdesk.contacts_csv import UnreadableFile
    from desktop.frontdesk.service import FrontDesk
    from desktop.store.database import StoreError
    from desktop.store.service import Store

    if args.action == "export" and not paths.database.exists():
        print(f"{name}: there is no Twoway data in {paths.data_dir} yet.", file=sys.stderr)
        return 1
    data = args.file.read_bytes() if args.file is not None else b""  # fail before creating
    paths.create()
    try:
        env_number = EnvironmentOverrides.from_environ().phone_number
    except ValueError:
        env_number = None
    our_number = env_number or SettingsFile(paths.settings).load().phone_number
    store = Store(paths.database, paths.backups)
    try:
        store.open()
    except StoreError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    try:
        desk = FrontDesk(
            store, SetupHolder.open(setup_path(paths.data_dir)), our_number=lambda: our_number
        )
        if args.action == "export":
            buffer = io.StringIO(newline="")
            count = desk.export_contacts(buffer)
            _write(args.output, buffer.getvalue())
            print(f"Exported {count} contacts.", file=sys.stderr)
            return 0
        try:
            preview = desk.preview_contacts_data(data)
        except UnreadableFile as exc:
            print(f"{name}: {args.file} was not imported. {exc}", file=sys.stderr)
            return 1
        return _import(desk, preview, sys.stdout)
    finally:
        store.close()


def _import(desk: FrontDesk, preview: ContactsPreview, out: TextIO) -> int:
    for bad in preview.bad_rows:
        print(f"Line {bad.line} not imported: {bad.reason}", file=out)
    if not preview.preview.readable:
        print("No contacts could be read from the file; nothing was imported.", file=out)
        return 1
    counts = desk.import_contacts(preview).result(timeout=60)
    merged = counts.merged + preview.preview.duplicates_in_file
    unreadable = len(preview.bad_rows)
    tail = f"; {unreadable} rows could not be read." if unreadable else "."
    print(f"Added {counts.added} contacts, merged {merged} into existing ones{tail}", file=out)
    return 0
