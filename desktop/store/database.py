"""Opening the SQLite database safely: pragmas, migrations, backups, plain-language errors.

One connection per thread (sqlite3 connections are not shared), WAL so readers never
wait for the writer, ``synchronous=FULL`` so a commit survives a power cut, and foreign
keys on.  Migrations run one version at a time, each in its own transaction, after a
backup copy of the old file; a database written by a newer Twoway is refused untouched.

The write-ahead log is kept small: one inbound text commits ~13 pages (~54 KB of WAL;
the FTS index is half of it), so the default checkpoint every 1,000 pages let the WAL
grow to 4 MB and stay that size for good.  A checkpoint every :data:`WAL_AUTOCHECKPOINT`
pages, a truncation to :data:`JOURNAL_SIZE_LIMIT` after each, and the writer's
checkpoint when idle (see :mod:`desktop.store.writer`) keep it at most ~1 MB, and empty
at rest: a full disk that got some space back does not lose it to the log again.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Final

from desktop.domain.store_health import HealthKind, StoreHealth
from desktop.store.health import health_for, health_of
from desktop.store.schema import MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS: Final = 10_000
KEEP_BACKUPS: Final = 5
#: Checkpoint after this many WAL pages (SQLite's default is 1,000: 4 MB).
WAL_AUTOCHECKPOINT: Final = 256
#: After a checkpoint, the WAL file is cut back to this size (default: never).
JOURNAL_SIZE_LIMIT: Final = 1024 * 1024
#: Page cache per connection (KiB, SQLite's negative form)…
CACHE_SIZE_KIB: Final = 16_000
#: …and for all of them together: SQLite's heap in this process (it is process-wide).
#: Each thread that reads keeps its own connection and page cache; without a shared cap
#: the caches of a week's worth of workers and server threads add up (measured over a
#: simulated week of webhooks: resident memory +29 MB with no cap, +21.4 MB at 12 MB,
#: +16.3 MB at 8 MB; search and older pages of 1,000,000 messages as fast at 8 MB).
#: SQLite evicts clean cached pages first when it is reached; nothing fails.
SOFT_HEAP_LIMIT: Final = 8 * 1024 * 1024


class StoreError(RuntimeError):
    """A problem with the database that the user can understand; ``str()`` says what to do."""


class DatabaseTooNew(StoreError):
    pass


class DatabaseMissing(StoreError):
    pass


class StoreUnavailable(StoreError):
    """The database cannot be used as it is; ``health`` says why and what can be done."""

    def __init__(self, health: StoreHealth) -> None:
        super().__init__(health.message)
        self.health = health


def connect(
    path: Path,
    *,
    read_only: bool = False,
    check_same_thread: bool = True,
    create: bool = True,
    factory: type[sqlite3.Connection] = sqlite3.Connection,
) -> sqlite3.Connection:
    """Open one connection for the calling thread, in autocommit mode (explicit BEGINs).

    ``check_same_thread=False`` only lets another thread *close* it at shutdown;
    ``create=False`` never makes a new file (a reader must not create an empty database
    where one went missing).
    """
    if read_only:
        if not path.exists():
            raise DatabaseMissing(f"There is no Twoway data in {path.parent} yet.")
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=check_same_thread,
            factory=factory,
        )
    else:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                path if create else f"{path.resolve().as_uri()}?mode=rw",
                uri=not create,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=check_same_thread,
                factory=factory,
            )
        except sqlite3.Error as exc:
            raise explain(exc, path) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("SQLite refused WAL mode (got %s)", mode)
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
            conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        conn.execute("PRAGMA synchronous = FULL")
        # A garbled page then raises "malformed" instead of yielding garbage or no rows,
        # so damage is seen where it is met (the store's health listens for it).
        conn.execute("PRAGMA cell_size_check = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA cache_size = -{CACHE_SIZE_KIB}")
        conn.execute(f"PRAGMA soft_heap_limit = {SOFT_HEAP_LIMIT}")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise explain(exc, path) from exc
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def open_database(path: Path, backups: Path) -> None:
    """Create or upgrade the database at ``path``; raise :class:`StoreError` when impossible.

    The page check is not done here (it reads every page: ~0.1 s per 100k messages);
    :func:`desktop.store.health.quick_check` runs after the window is up, off the GUI
    thread.
    """
    conn = connect(path)
    try:
        if 0 < schema_version(conn) < SCHEMA_VERSION:
            _require_intact(conn, path, backups)  # never migrate (or back up) a damaged file
        migrate(conn, path, backups)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise explain(exc, path, backups) from exc
    finally:
        conn.close()


def _require_intact(conn: sqlite3.Connection, path: Path, backups: Path) -> None:
    quick = conn.execute("PRAGMA quick_check").fetchone()[0]
    if quick != "ok":
        raise StoreUnavailable(health_of(HealthKind.DAMAGED, path, backups, str(quick)))


def migrate(conn: sqlite3.Connection, path: Path, backups: Path, *, back_up: bool = True) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns the version found on disk.

    ``back_up=False``: the caller has a copy already (a repair rebuilding from scratch).
    """
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"This data was written by a newer version of Twoway (schema {found}; this "
            f"version knows {SCHEMA_VERSION}). Update Twoway to open it; nothing was changed."
        )
    if found == SCHEMA_VERSION:
        return found
    if found > 0 and back_up:
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
    part = target.with_name(f".{target.name}.part")  # never a half copy that looks whole
    dest = sqlite3.connect(part)
    try:
        conn.backup(dest)
        dest.close()
        os.replace(part, target)
    except BaseException:
        dest.close()
        part.unlink(missing_ok=True)
        raise
    logger.info("Backed up the database to %s", target.name)
    old = sorted(backups.glob("twoway-*.sqlite3"))
    for stale in old[:-KEEP_BACKUPS]:
        stale.unlink(missing_ok=True)
    return target


def explain(exc: BaseException, path: Path, backups: Path | None = None) -> StoreError:
    """Turn a sqlite3/OS error into a message the user can act on."""
    if isinstance(exc, StoreError):
        return exc
    health = health_for(exc, path, backups if backups is not None else path.parent / "backups")
    if health is not None:
        return StoreUnavailable(health)
    return StoreError(f"The message database failed: {exc}")
