"""File → Export conversations…: the ``twoway export`` file, with the pictures copied next
to it and progress reported as it goes.

The file is exactly what :func:`desktop.store.export.export` writes (the contract's
shape), except that each media ``file`` names the copy in ``<name>-pictures/`` beside the
export instead of the data folder, so the export can be moved or mailed as a whole.  It
is written to ``<name>.part`` and renamed at the end: a failed or stopped export leaves
no half file.  Blocking: run it on a worker thread.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

from desktop.store.database import connect
from desktop.store.export import export

logger = logging.getLogger(__name__)

#: ``progress(done, total, what)``: ``what`` is "conversations", "messages" or "pictures".
Progress = Callable[[int, int, str], None]


class ExportStopped(Exception):
    """The user pressed Stop; nothing was left behind."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    messages: int
    pictures: int
    pictures_dir: Path | None
    missing_pictures: int = 0


def pictures_dir_for(output: Path) -> Path:
    return output.with_name(f"{output.stem}-pictures")


class _Counting:
    """A text stream that counts export units as they are written, and can be stopped.

    JSON: :func:`export` writes "\\n" or ",\\n" on its own before each conversation (a
    conversation's JSON never contains a bare newline), so those writes count
    conversations.  CSV: the csv module writes one row per call, so writes count messages
    (the header is the first).
    """

    def __init__(self, out: TextIO, fmt: str, on_unit: Callable[[], None], stop: threading.Event):
        self._out = out
        self._json = fmt == "json"
        self._on_unit = on_unit
        self._stop = stop
        self._header_seen = False

    def write(self, text: str) -> int:
        if self._stop.is_set():
            raise ExportStopped
        if self._json:
            if text in ("\n", ",\n"):
                self._on_unit()
        elif self._header_seen:
            self._on_unit()
        else:
            self._header_seen = True
        return self._out.write(text)


def _totals(database: Path) -> tuple[int, int]:
    """(conversations with messages, messages)."""
    conn = connect(database, read_only=True)
    try:
        row = conn.execute(
            "SELECT COUNT(DISTINCT conversation_id), COUNT(*) FROM messages"
        ).fetchone()
        return int(row[0]), int(row[1])
    finally:
        conn.close()


def _picture_files(database: Path) -> list[str]:
    conn = connect(database, read_only=True)
    try:
        rows = conn.execute("SELECT DISTINCT file FROM media WHERE file IS NOT NULL AND file != ''")
        return [str(r[0]) for r in rows]
    except sqlite3.DatabaseError:
        return []
    finally:
        conn.close()


def export_conversations(
    database: Path,
    media_dir: Path,
    output: Path,
    fmt: str = "json",
    *,
    copy_pictures: bool = True,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> ExportResult:
    """Write the export to ``output`` (and the pictures beside it); raises
    :class:`ExportStopped`, :class:`desktop.store.export.DatabaseDamaged`, ``OSError``."""
    stop = stop or threading.Event()
    report = progress or (lambda _done, _total, _what: None)
    conversations, messages = _totals(database)
    total, what = (conversations, "conversations") if fmt == "json" else (messages, "messages")
    done = 0

    def unit() -> None:
        nonlocal done
        done += 1
        report(min(done, total), total, what)

    pictures = pictures_dir_for(output) if copy_pictures else None
    partial = output.with_name(output.name + ".part")
    report(0, total, what)
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            stream = cast(TextIO, _Counting(handle, fmt, unit, stop))
            count = export(database, pictures or media_dir, stream, fmt)
        copied = missing = 0
        if pictures is not None:
            files = _picture_files(database)
            for index, name in enumerate(files):
                if stop.is_set():
                    raise ExportStopped
                source = media_dir / name
                target = pictures / name
                report(index, len(files), "pictures")
                if not source.is_file():
                    missing += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                copied += 1
            report(len(files), len(files), "pictures")
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if pictures is not None and not copied:
        shutil.rmtree(pictures, ignore_errors=True)
    return ExportResult(output, count, copied, pictures if copied else None, missing)
