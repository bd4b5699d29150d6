"""Real backups: a daily copy made with SQLite's backup API, a few days kept, restorable.

A backup is made only from a database that passed SQLite's page check in this session
(copying a damaged file would only copy the damage), into ``backups/daily-YYYY-MM-DD.sqlite3``
through a ``.part`` file, checked, then renamed: a crash or a full disk never leaves a
half backup that looks whole.  The copies made before schema upgrades
(``twoway-…-before-v….sqlite3``, see :mod:`desktop.store.database`) are offered too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

DAILY_PREFIX: Final = "daily-"
KEEP_DAILY: Final = 3
SQLITE_HEADER: Final = b"SQLite format 3\x00"
#: Files that belong to a database: the main file, its write-ahead log, its shared memory.
COMPANIONS: Final = ("", "-wal", "-shm")


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    made_at: float  # seconds since the epoch (the file's modification time)

    @property
    def label(self) -> str:
        """When it was made, in the user's local time: "27 Nov 2026, 10:40"."""
        return time.strftime("%d %b %Y, %H:%M", time.localtime(self.made_at))

    @property
    def daily(self) -> bool:
        return self.path.name.startswith(DAILY_PREFIX)


def looks_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


def list_backups(folder: Path) -> list[Backup]:
    """Every restorable copy in ``folder``, newest first."""
    found: list[Backup] = []
    try:
        candidates = [p for p in folder.iterdir() if p.suffix == ".sqlite3"]
    except OSError:
        return []
    for path in candidates:
        if not looks_like_sqlite(path):
            continue
        with contextlib.suppress(OSError):
            found.append(Backup(path, path.stat().st_mtime))
    return sorted(found, key=lambda b: (b.made_at, b.path.name), reverse=True)


def newest(folder: Path) -> Backup | None:
    backups = list_backups(folder)
    return backups[0] if backups else None


def _open_copy(path: Path) -> sqlite3.Connection:
    """A backup is never written while we read it: ``immutable`` needs no -wal or -shm."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)


def _copy_checked(source: sqlite3.Connection, target: Path) -> None:
    """Copy ``source`` into ``target`` with the backup API, check it, then make it durable."""
    target.unlink(missing_ok=True)
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(dest)
        # The copy is a rollback-journal file until it is opened as the live database.
        dest.execute("PRAGMA journal_mode = DELETE")
        verdict = dest.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check ({verdict})")
    finally:
        dest.close()
    with target.open("rb") as handle:
        os.fsync(handle.fileno())


def back_up_daily(
    database: Path,
    folder: Path,
    *,
    now: float | None = None,
    keep: int = KEEP_DAILY,
) -> Path | None:
    """Make today's copy unless it exists; keep the newest ``keep`` daily copies.

    Returns the new file, or None when today's copy was already there.  Raises OSError or
    sqlite3.Error when it cannot (a full disk): the caller logs it; the next start retries.
    """
    moment = time.time() if now is None else now
    name = f"{DAILY_PREFIX}{time.strftime('%Y-%m-%d', time.localtime(moment))}.sqlite3"
    final = folder / name
    if final.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        _copy_checked(source, part)
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    if now is not None:
        os.utime(final, (moment, moment))
    daily = sorted(folder.glob(f"{DAILY_PREFIX}*.sqlite3"), reverse=True)
    for stale in daily[keep:]:
        stale.unlink(missing_ok=True)
    logger.info("Made today's backup of the database: %s", final.name)
    return final


def aside_folder(database: Path, now: float | None = None) -> Path:
    """Where a damaged or replaced database is kept: ``<data>/damaged/<date-time>/``."""
    stamp = time.strftime("%Y-%m-%d-%H%M%S", time.localtime(time.time() if now is None else now))
    root = database.parent / "damaged"
    target, n = root / stamp, 1
    while target.exists():
        n += 1
        target = root / f"{stamp}-{n}"
    return target


def keep_aside(database: Path, folder: Path, *, move: bool) -> list[Path]:
    """Put the database and its -wal/-shm into ``folder`` unchanged (renamed, or copied
    byte for byte and fsynced).  Returns the files kept; raises OSError when it cannot."""
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[Path] = []
    for suffix in COMPANIONS:
        source = database.with_name(database.name + suffix)
        if not source.exists():
            continue
        target = folder / source.name
        if move:
            os.replace(source, target)
        else:
            shutil.copyfile(source, target)
            with target.open("rb") as handle:
                os.fsync(handle.fileno())
        kept.append(target)
    return kept


def restore(backup: Path, database: Path) -> Path | None:
    """Put ``backup`` in place of ``database``; the files it replaces are kept aside.

    Returns the folder the old files went to (None when there were none).  The backup
    is copied and checked before anything is moved, so a bad backup changes nothing.
    """
    part = database.with_name(f".{database.name}.restore.part")
    source = _open_copy(backup)
    try:
        _copy_checked(source, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    aside: Path | None = None
    if any(database.with_name(database.name + s).exists() for s in COMPANIONS):
        aside = aside_folder(database)
        keep_aside(database, aside, move=True)
    os.replace(part, database)
    logger.info("Restored the database from %s", backup.name)
    return aside
