"""Opening the SQLite database safely: pragmas, migrations, backups, plain-language errors.

One connection per thread (sqlite3 connections are not shared), WAL so readers never
wait for the writer, ``synchronous=FULL`` so a commit survives a power cut, and foreign
keys on.  Migrations run one version at a time, each in its own transaction, after a
backup copy of the old file; a database written by a newer Twoway is refused untouched.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from pathlib import Path
from typing import Final

from desktop.store.schema import MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS: Final = 10_000
KEEP_BACKUPS: Final = 5


class StoreError(RuntimeError):
    """A problem with the database that the user can understand; ``str()`` says what to do."""


class DatabaseTooNew(StoreError):
    pass


class DatabaseMissing(StoreError):
    pass


def connect(
    path: Path, *, read_only: bool = False, check_same_thread: bool = True
) -> sqlite3.Connection:
    """Open one connection for the calling thread, in autocommit mode (explicit BEGINs).

    ``check_same_thread=False`` only lets another thread *close* it at shutdown.
    """
    if read_only:
        if not path.exists():
            raise DatabaseMissing(f"There is no Twoway data in {path.parent} yet.")
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=check_same_thread,
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=check_same_thread,
        )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("SQLite refused WAL mode (got %s)", mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -16000")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise explain(exc, path) from exc
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def open_database(path: Path, backups: Path) -> None:
    """Create or upgrade the database at ``path``; raise :class:`StoreError` when impossible.

    The integrity check is not done here (it reads every page: ~0.1 s per 100k messages);
    :func:`check_integrity` runs after the window is up, off the GUI thread.
    """
    conn = connect(path)
    try:
        if 0 < schema_version(conn) < SCHEMA_VERSION:
            _require_intact(conn, path, backups)  # never migrate (or back up) a damaged file
        migrate(conn, path, backups)
    except sqlite3.DatabaseError as exc:
        raise explain(exc, path) from exc
    finally:
        conn.close()


def check_integrity(path: Path, backups: Path) -> None:
    """Raise :class:`StoreError` when SQLite finds damage (``PRAGMA quick_check``)."""
    conn = connect(path, read_only=True)
    try:
        _require_intact(conn, path, backups)
    except sqlite3.DatabaseError as exc:
        raise explain(exc, path) from exc
    finally:
        conn.close()


def _require_intact(conn: sqlite3.Connection, path: Path, backups: Path) -> None:
    quick = conn.execute("PRAGMA quick_check").fetchone()[0]
    if quick != "ok":
        raise StoreError(
            f"The message database at {path} is damaged ({quick}). Restore a copy from "
            f"{backups} or move the file away to start fresh."
        )


def migrate(conn: sqlite3.Connection, path: Path, backups: Path) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns the version found on disk."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"This data was written by a newer version of Twoway (schema {found}; this "
            f"version knows {SCHEMA_VERSION}). Update Twoway to open it; nothing was changed."
        )
    if found == SCHEMA_VERSION:
        return found
    if found > 0:
        backup(conn, backups, f"before-v{SCHEMA_VERSION}-from-v{found}")
    for version in range(found, SCHEMA_VERSION):
        logger.info("Migrating the database from version %d to %d", version, version + 1)
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\n"
                "COMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return found


def backup(conn: sqlite3.Connection, backups: Path, label: str) -> Path:
    """Copy the live database (consistently, with the backup API) into ``backups``."""
    backups.mkdir(parents=True, exist_ok=True)
    target = backups / f"twoway-{time.strftime('%Y%m%d-%H%M%S')}-{label}.sqlite3"
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    logger.info("Backed up the database to %s", target.name)
    old = sorted(backups.glob("twoway-*.sqlite3"))
    for stale in old[:-KEEP_BACKUPS]:
        stale.unlink(missing_ok=True)
    return target


def explain(exc: BaseException, path: Path) -> StoreError:
    """Turn a sqlite3/OS error into a message the user can act on."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc).lower()
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in text:
        return StoreError(f"The disk holding {path.parent} is full. Free some space and retry.")
    if "locked" in text or "busy" in text:
        return StoreError(
            "The message database is busy in another program. Close other "
            "copies of Twoway and try again."
        )
    if (
        "readonly" in text
        or "read-only" in text
        or "permission" in text
        or (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM))
    ):
        return StoreError(f"Twoway is not allowed to write to {path}. Check its permissions.")
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"{path} is not a readable Twoway database (it may be damaged). "
            "Move it away to start fresh; backups are in the backups folder."
        )
    return StoreError(f"The message database failed: {exc}")
