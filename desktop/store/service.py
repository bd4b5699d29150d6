"""The store as the rest of the app sees it: one writer thread, one reader per thread.

``Store.writer`` takes every write (see :mod:`desktop.store.writer`); ``Store.reader()``
gives the calling thread its own read-only connection, so the GUI thread reads while the
writer commits (WAL) and never waits on a lock held by the network side.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from desktop.domain.events import EventHub
from desktop.store.database import check_integrity, connect, open_database
from desktop.store.writer import StoreWriter

logger = logging.getLogger(__name__)


class Store:
    def __init__(self, database: Path, backups: Path) -> None:
        self.path = database
        self._backups = backups
        self.events = EventHub()
        self.writer = StoreWriter(database, self.events)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
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
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        self.writer.stop()
        with self._lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            # A connection whose thread already finished is closed with that thread.
            with contextlib.suppress(sqlite3.ProgrammingError):
                conn.close()
        self._local = threading.local()
        self._open = False
