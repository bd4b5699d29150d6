"""The store as the rest of the app sees it: one writer thread, one reader per thread.

``Store.writer`` takes every write (see :mod:`desktop.store.writer`); ``Store.reader()``
gives the calling thread its own read-only connection, so the GUI thread reads while the
writer commits (WAL) and never waits on a lock held by the network side.

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
from desktop.store.database import check_integrity, connect, open_database
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
        self._backups = backups
        self.events = EventHub()
        self.writer = StoreWriter(database, self.events)
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._open = False

    def open(self) -> None:
        """Create/migrate the database and start the writer; raises StoreError in plain words."""
        open_database(self.path, self._backups)
        self.writer.start()
        self._open = True

    def check_integrity(self) -> None:
        """Read every page looking for damage (slow: call it off the GUI thread)."""
        check_integrity(self.path, self._backups)

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (created on first use)."""
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            conn = connect(self.path, check_same_thread=False)
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

    def close(self) -> None:
        self.writer.stop()
        with self._lock:
            readers = list(self._readers)
            self._readers = weakref.WeakSet()
        for reader in readers:
            reader.close()
        self._local = threading.local()
        self._open = False
