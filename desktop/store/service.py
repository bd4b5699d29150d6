"""The store as the rest of the app sees it: one writer thread, one reader per thread.

``Store.writer`` takes every write (see :mod:`desktop.store.writer`); ``Store.reader()``
gives the calling thread its own read-only connection, so the GUI thread reads while the
writer commits (WAL) and never waits on a lock held by the network side.

``Store.health`` is how the database is doing (:mod:`desktop.store.health`): set by the
look before opening, by SQLite's page check (:meth:`Store.check_health`) and by every
database error a reader or the writer meets.  ``open``/``close`` may be called again
(a repair or a restore closes the store, replaces the file and opens it again).

A reader belongs to its thread: it is held only by that thread's local storage, so it is
closed when the thread ends (or by :meth:`Store.release_reader`), and the store keeps
nothing but weak references for closing the rest at shutdown.  Threads are long-lived
(see :mod:`desktop.workers`), so the number of open connections stays flat.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import weakref
from pathlib import Path

from desktop.domain.events import EventHub
from desktop.domain.store_health import HealthKind, StoreHealth
from desktop.store import backups as backups_module
from desktop.store.database import (
    DatabaseTooNew,
    StoreError,
    StoreUnavailable,
    connect,
    open_database,
)
from desktop.store.health import HealthMonitor, ReportingConnection, health_of, probe, quick_check
from desktop.store.writer import StoreWriter

logger = logging.getLogger(__name__)


class _Reader:
    """Owns one thread's connection; closing it when dropped is what ends its descriptors."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        # A connection whose thread already finished may refuse; it closes when dropped.
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.conn.close()

    def __del__(self) -> None:
        self.close()


class Store:
    def __init__(self, database: Path, backups: Path) -> None:
        self.path = database
        self.backups = backups
        self.events = EventHub()
        self.health = HealthMonitor(database, backups)
        self.writer = StoreWriter(database, self.events, self.health)
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._open = False
        #: Closed so that the file can be replaced: no reader may open it meanwhile.
        self._replacing = False

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self) -> None:
        """Look at the file, create/migrate it and start the writer.

        Raises :class:`StoreUnavailable` (with the health: damaged, read-only, locked,
        missing, empty…) or another :class:`StoreError`, in plain words.
        """
        if self._open:
            return
        found = probe(self.path, self.backups)
        if found is not None:
            self.health.set(found)
            raise StoreUnavailable(found)
        try:
            open_database(self.path, self.backups)
        except StoreUnavailable as exc:
            self.health.set(exc.health)
            raise
        except DatabaseTooNew as exc:
            health = StoreHealth(HealthKind.TOO_NEW, str(exc), str(self.path))
            self.health.set(health)
            raise StoreUnavailable(health) from exc
        self.health.reset()
        self._replacing = False
        if self.writer.stopped:
            self.writer = StoreWriter(self.path, self.events, self.health)
        try:
            self.writer.start()
        except (sqlite3.Error, OSError, StoreError) as exc:
            from desktop.store.database import explain

            error = explain(exc, self.path, self.backups)
            if isinstance(error, StoreUnavailable):
                self.health.set(error.health)
            raise error from exc
        self._open = True

    def check_health(self) -> StoreHealth:
        """SQLite's page check (slow: call it off the GUI thread); publishes the result."""
        found = quick_check(self.path, self.backups)
        current = self.health.current
        if current.kind is HealthKind.DAMAGED and found.ok:
            return current  # damage met by a query stays known, whatever the check says
        self.health.set(found)
        return found

    def back_up_daily(self) -> Path | None:
        """Today's backup, only from a database checked intact this session."""
        if self.health.current.kind is not HealthKind.OK:
            return None
        try:
            return backups_module.back_up_daily(self.path, self.backups)
        except (OSError, sqlite3.Error) as exc:
            logger.warning("Could not make today's backup of the database: %s", exc)
            return None

    def mark_unusable(self, exc: BaseException) -> StoreHealth:
        """An error outside the store's own connections (e.g. building the window)."""
        found = self.health.report(exc)
        if found is not None:
            return found
        health = health_of(HealthKind.UNAVAILABLE, self.path, self.backups, str(exc))
        self.health.set(health)
        return health

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (created on first use)."""
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            health = self.health.current
            if not self._open and not health.ok:
                raise StoreUnavailable(health)
            if self._replacing:
                raise StoreError("The message database is being repaired.")
            conn = connect(
                self.path, check_same_thread=False, create=False, factory=ReportingConnection
            )
            assert isinstance(conn, ReportingConnection)
            conn.monitor = self.health
            conn.execute("PRAGMA query_only = ON")
            reader = _Reader(conn)
            self._local.reader = reader
            with self._lock:
                self._readers.add(reader)
        return reader.conn

    def release_reader(self) -> None:
        """Close the calling thread's connection now (a worker thread that is ending)."""
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is not None:
            self._local.reader = None
            reader.close()

    def open_readers(self) -> int:
        """How many reader connections are open (for the soak benchmark and tests)."""
        with self._lock:
            return len(self._readers)

    def close(self, *, for_replacement: bool = False) -> None:
        """Stop the writer and close every reader.  ``for_replacement``: a repair or a
        restore is about to replace the file, so no reader may open it until :meth:`open`."""
        self._open = False
        self._replacing = for_replacement
        self.writer.stop()
        with self._lock:
            readers = list(self._readers)
            self._readers = weakref.WeakSet()
            self._local = threading.local()
        for reader in readers:
            reader.close()
