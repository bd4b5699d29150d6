"""Finding out how the database is doing, and telling everyone who needs to know.

- :func:`probe` is the quick look before opening (no page is read beyond the schema): is
  there a file, is it empty, is it SQLite at all, may we write it, is someone else
  holding it.  It runs before the first paint, so it must stay cheap.
- :func:`quick_check` is SQLite's ``PRAGMA quick_check`` (reads every page: ~0.1 s per
  100k messages), run after the window is up, off the GUI thread.
- :class:`HealthMonitor` holds the current :class:`StoreHealth` and hears about every
  error the store's connections meet (:func:`kind_of` sorts them), so damage found by the
  writer or by a read in the window is known at once, and writes stop.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from desktop.domain.store_health import HealthKind, StoreHealth
from desktop.store import backups as backups_module

logger = logging.getLogger(__name__)

LOCK_PROBE_TIMEOUT_S: Final = 2.0

# SQLite's primary result codes (the low byte of ``sqlite_errorcode``).
_SQLITE_PERM: Final = 3
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_IOERR: Final = 10
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_NOTADB: Final = 26

_READ_ONLY_ERRNOS: Final = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def kind_of(exc: BaseException) -> HealthKind | None:
    """What an error says about the database (None: nothing about the database itself)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc).lower()
        if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text:
            return HealthKind.DAMAGED
        if primary == _SQLITE_FULL or "disk is full" in text:
            return HealthKind.DISK_FULL
        if primary in (_SQLITE_READONLY, _SQLITE_PERM) or "readonly" in text:
            return HealthKind.READ_ONLY
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text:
            return HealthKind.LOCKED
        if primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN):
            return HealthKind.UNAVAILABLE
        return None
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return HealthKind.DISK_FULL
        if exc.errno in _READ_ONLY_ERRNOS:
            return HealthKind.READ_ONLY
        return HealthKind.UNAVAILABLE
    return None


def health_of(kind: HealthKind, path: Path, backups: Path | None, detail: str = "") -> StoreHealth:
    newest = backups_module.newest(backups) if backups is not None else None
    return StoreHealth(
        kind,
        detail,
        str(path),
        str(newest.path) if newest else "",
        newest.label if newest else "",
    )


def health_for(exc: BaseException, path: Path, backups: Path | None) -> StoreHealth | None:
    kind = kind_of(exc)
    if kind is None:
        return None
    return health_of(kind, path, backups, _describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc)


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in backups_module.COMPANIONS]


def probe(path: Path, backups: Path | None) -> StoreHealth | None:
    """The quick look before opening; None when the database may be opened (or created).

    A missing database is created on first use unless a backup exists (then the user
    chooses); a 0-byte file is never silently replaced by an empty database.
    """
    wal = path.with_name(path.name + "-wal")
    try:
        exists = path.exists()
        size = path.stat().st_size if exists else 0
        wal_size = wal.stat().st_size if wal.exists() else 0
    except OSError as exc:
        return health_for(exc, path, backups)
    if not exists:
        if backups is not None and backups_module.newest(backups) is not None:
            return health_of(HealthKind.MISSING, path, backups)
        return _check_folder(path, backups)
    if size == 0 and wal_size == 0:
        return health_of(HealthKind.EMPTY_FILE, path, backups, "the file is 0 bytes long")
    if size > 0:
        try:
            with path.open("rb") as handle:
                header = handle.read(100)
        except OSError as exc:
            return health_for(exc, path, backups)
        if not header.startswith(backups_module.SQLITE_HEADER):
            return health_of(
                HealthKind.DAMAGED, path, backups, "the file does not start like a database"
            )
    for companion in _companions(path):
        if not companion.exists():
            continue
        try:
            os.close(os.open(companion, os.O_RDWR))
        except OSError as exc:
            return health_for(exc, path, backups)
    folder_problem = _check_folder(path, backups)
    if folder_problem is not None:
        return folder_problem
    return _probe_sqlite(path, backups)


def _check_folder(path: Path, backups: Path | None) -> StoreHealth | None:
    """SQLite creates and deletes its -wal and -shm files next to the database."""
    folder = path.parent
    if not folder.exists():
        return None  # created on open
    try:
        fd, name = tempfile.mkstemp(prefix=".twoway-probe-", dir=folder)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return None  # a full disk is reported when a write fails, and retried
        return health_for(exc, path, backups)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def _probe_sqlite(path: Path, backups: Path | None) -> StoreHealth | None:
    """Read the schema and take the write lock for a moment (then let it go)."""
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",
            uri=True,
            timeout=LOCK_PROBE_TIMEOUT_S,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        return health_for(exc, path, backups)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA user_version").fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        found = health_for(exc, path, backups)
        if found is None or found.kind is HealthKind.DISK_FULL:
            return None
        return found
    finally:
        conn.close()
    return None


def quick_check(path: Path, backups: Path | None) -> StoreHealth:
    """SQLite's page check on the database (slow: never on the GUI thread)."""
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0, isolation_level=None
        )
    except sqlite3.Error as exc:
        return health_for(exc, path, backups) or health_of(
            HealthKind.UNAVAILABLE, path, backups, str(exc)
        )
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)")]
    except sqlite3.Error as exc:
        return health_for(exc, path, backups) or health_of(
            HealthKind.UNAVAILABLE, path, backups, str(exc)
        )
    finally:
        conn.close()
    if rows == ["ok"]:
        return health_of(HealthKind.OK, path, backups)
    return health_of(HealthKind.DAMAGED, path, backups, _first_problem(rows))


def _first_problem(rows: list[str]) -> str:
    """SQLite's first complaint, one line: the details box is not a log."""
    lines = [
        line.strip()
        for row in rows
        for line in row.splitlines()
        if line.strip() and not line.startswith("***")
    ]
    if not lines:
        return "damaged"
    more = f" (and {len(lines) - 1} more problems)" if len(lines) > 1 else ""
    return lines[0][:200] + more


Listener = Callable[[StoreHealth], object]


class HealthMonitor:
    """The store's current health; thread-safe.  Damage is sticky until the store reopens."""

    def __init__(self, path: Path, backups: Path | None) -> None:
        self._path = path
        self._backups = backups
        self._current = StoreHealth(path=str(path))
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    @property
    def current(self) -> StoreHealth:
        with self._lock:
            return self._current

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def set(self, health: StoreHealth) -> None:
        with self._lock:
            if health == self._current:
                return
            self._current = health
            listeners = list(self._listeners)
        if not health.ok:
            logger.error("Database: %s (%s)", health.headline, health.detail or health.kind)
        for listener in listeners:
            try:
                listener(health)
            except Exception:
                logger.exception("A store health listener failed")

    def reset(self, health: StoreHealth | None = None) -> None:
        """A fresh start (reopened, repaired, restored)."""
        self.set(health or StoreHealth(path=str(self._path)))

    def report(self, exc: BaseException) -> StoreHealth | None:
        """An error met on one of the store's connections; returns the new health if it
        says something about the database."""
        found = health_for(exc, self._path, self._backups)
        if found is None:
            return None
        with self._lock:
            current = self._current
        if current.kind is HealthKind.DAMAGED:
            return current  # damage stays shown until a repair, whatever comes after
        if found.kind is HealthKind.LOCKED:
            return None  # a busy moment while open: the busy timeout already waited
        self.set(found)
        return found

    def commit_succeeded(self) -> None:
        """A write reached the disk: a full disk has space again."""
        with self._lock:
            passing = self._current.kind in (HealthKind.DISK_FULL, HealthKind.UNAVAILABLE)
        if passing:
            logger.info("Database: writes succeed again")
            self.set(StoreHealth(path=str(self._path)))


class ReportingCursor(sqlite3.Cursor):
    """Tells the store's :class:`HealthMonitor` about database errors, then re-raises."""

    def _report(self, exc: sqlite3.Error) -> None:
        monitor = getattr(self.connection, "monitor", None)
        if monitor is not None:
            monitor.report(exc)

    def execute(self, sql: str, parameters: Any = (), /) -> ReportingCursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            self._report(exc)
            raise

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> ReportingCursor:
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.DatabaseError as exc:
            self._report(exc)
            raise

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            self._report(exc)
            raise

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(size if size is not None else self.arraysize)
        except sqlite3.DatabaseError as exc:
            self._report(exc)
            raise

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            self._report(exc)
            raise

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            self._report(exc)
            raise


class ReportingConnection(sqlite3.Connection):
    """A connection whose queries report damage to ``monitor`` (set after connecting)."""

    monitor: HealthMonitor | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> ReportingCursor:
        return self.cursor(ReportingCursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> ReportingCursor:
        return self.cursor(ReportingCursor).executemany(sql, parameters)
