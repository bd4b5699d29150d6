"""Benchmark: write-ahead log bytes per inbound text, and how big the WAL file gets.

Prints measured numbers; it is not a test (nothing here asserts a size).

    python -m tests.bench.bench_wal [--texts 300] [--history 5000]

Each text is one webhook's commit (``writes.insert_message`` through the store's writer,
one at a time, as texts arrive in real life), into a database that already holds
``--history`` messages.  Two settings are compared:

- before: SQLite's defaults (checkpoint every 1,000 pages, the WAL never shrinks, no
  checkpoint when idle);
- after: Twoway's (:data:`desktop.store.database.WAL_AUTOCHECKPOINT`,
  :data:`desktop.store.database.JOURNAL_SIZE_LIMIT`, the writer's idle checkpoint).

"Written per text" counts the WAL frames each commit appends (checkpoints off while
counting); "largest" and "at rest" are the WAL file's size on disk.
"""

from __future__ import annotations

import argparse
import functools
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from desktop.domain.models import Direction, NewMessage, Source
from desktop.store import writer as writer_module
from desktop.store import writes
from desktop.store.service import Store
from desktop.store.writer import Tx


def _text(i: int) -> NewMessage:
    return NewMessage(
        sid="SM" + secrets.token_hex(16),
        direction=Direction.INBOUND,
        from_number=f"+1971555{i % 200:04d}",
        to_number="+15035550100",
        body=f"Hi, this is text {i}: can I move my appointment to Thursday afternoon?",
        status="received",
        created_at_ms=int(time.time() * 1000) + i,
        source=Source.WEBHOOK,
    )


def _insert_all(tx: Tx, messages: list[NewMessage]) -> None:
    for message in messages:
        writes.insert_message(tx, message)


def _store(folder: Path, history: int, on_connect: Callable[[sqlite3.Connection], None]) -> Store:
    store = Store(folder / "twoway.sqlite3", folder / "backups")
    store.writer.on_connect = on_connect
    store.open()
    for start in range(0, history, 500):
        chunk = [_text(i) for i in range(start, min(start + 500, history))]
        store.writer.call(functools.partial(_insert_all, messages=chunk))
    return store


def _wal(store: Store) -> Path:
    return store.path.with_name(store.path.name + "-wal")


def _empty_wal(store: Store) -> None:
    other = sqlite3.connect(store.path)
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other.close()


def written_per_text(texts: int, history: int) -> float:
    with tempfile.TemporaryDirectory() as folder:

        def no_checkpoints(conn: sqlite3.Connection) -> None:
            conn.execute("PRAGMA wal_autocheckpoint = 0")

        store = _store(Path(folder), history, no_checkpoints)
        _empty_wal(store)
        start = _wal(store).stat().st_size
        for i in range(texts):
            message = _text(history + i)
            store.writer.call(functools.partial(writes.insert_message, msg=message))
        grown = _wal(store).stat().st_size - start
        store.close()
        return grown / texts


def file_sizes(texts: int, history: int, *, defaults: bool) -> tuple[int, int]:
    """(largest WAL seen, WAL 3 s after the last text)."""
    saved = writer_module.IDLE_CHECKPOINT_S

    def sqlite_defaults(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_autocheckpoint = 1000")
        conn.execute("PRAGMA journal_size_limit = -1")

    if defaults:
        writer_module.IDLE_CHECKPOINT_S = 1e9  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = _store(Path(folder), history, sqlite_defaults if defaults else lambda c: None)
            _empty_wal(store)  # measure the texts, not the history loaded in bulk
            largest = 0
            for i in range(texts):
                message = _text(history + i)
                store.writer.call(functools.partial(writes.insert_message, msg=message))
                largest = max(largest, _wal(store).stat().st_size)
            time.sleep(3.0)
            rest = _wal(store).stat().st_size
            store.close()
            return largest, rest
    finally:
        writer_module.IDLE_CHECKPOINT_S = saved  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--history", type=int, default=5000)
    args = parser.parse_args()
    per_text = written_per_text(args.texts, args.history)
    print(f"WAL written per text: {per_text / 1024:.1f} KB ({per_text / 4120:.1f} pages)")
    for label, defaults in (("before (SQLite defaults)", True), ("after (Twoway)", False)):
        largest, rest = file_sizes(args.texts, args.history, defaults=defaults)
        print(
            f"{label}: WAL file largest {largest / 1024:,.0f} KB, "
            f"at rest {rest / 1024:,.0f} KB after {args.texts} texts"
        )


if __name__ == "__main__":
    main()
