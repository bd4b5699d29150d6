"""SQLite's memory in the app stays bounded however many threads read: each reading thread
keeps its own connection and page cache, and the caches share one process-wide cap."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from pathlib import Path

import pytest

from desktop.store import database
from desktop.store.service import Store


def _sqlite_memory_used() -> int:
    lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


def test_page_caches_of_many_reading_threads_stay_under_one_cap(tmp_path: Path) -> None:
    try:
        before = _sqlite_memory_used()
    except OSError:
        pytest.skip("SQLite is linked statically; its heap cannot be read")
    store = Store(tmp_path / "twoway.sqlite3", tmp_path / "backups")
    store.open()
    try:
        body = "appointment tomorrow please confirm " * 40  # ~1.4 KB a text
        db = database.connect(store.path)
        try:
            db.execute("CREATE TABLE filler (body TEXT)")
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO filler VALUES (?)", ((body + str(i),) for i in range(25_000))
            )
            db.execute("COMMIT")
        finally:
            db.close()
        # Six threads (the GUI, sync, team, outbox, media, a server thread) each read the
        # whole ~35 MB file through their own connection, and keep it open.
        scanned = threading.Barrier(7)
        done = threading.Event()

        def read() -> None:
            store.reader().execute("SELECT sum(length(body)) FROM filler").fetchone()
            scanned.wait()
            done.wait()
            store.release_reader()

        threads = [threading.Thread(target=read) for _ in range(6)]
        for thread in threads:
            thread.start()
        scanned.wait(timeout=60)
        held = _sqlite_memory_used() - before
        done.set()
        for thread in threads:
            thread.join()
    finally:
        store.close()
    print(f"SQLite heap with six warm readers: {held / 2**20:.1f} MB")
    # Each connection alone may cache 16 MB; together they stay near the shared cap.
    assert held <= database.SOFT_HEAP_LIMIT + 4 * 2**20
