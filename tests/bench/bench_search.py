"""Search speed on a big data folder: prints numbers, asserts nothing.

    python -m tests.bench.bench_search --data-dir DIR [--runs 5]

Times ``queries.search`` (newest 200 by time) for 1-, 2- and 3-letter prefixes, whole
words and a miss, next to the old plan (newest by FTS rowid, snippets for every row
sorted) on the same connection, so one run shows both.  Seed a folder with
``tests.bench.bench_gui --messages 1000000 --conversations 20000 --data-dir DIR``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Final

from desktop.config import Paths
from desktop.store import queries
from desktop.store.database import connect, open_database

QUERIES: Final = ("k", "a", "ki", "re", "kit", "pri", "kitchen", "kitchen repair", "#12345", "zzz")


def _by_rowid(conn: sqlite3.Connection, text: str, limit: int) -> int:
    """The plan before version 3: newest by insertion order."""
    query = queries.fts_query(text)
    rows = conn.execute(
        """
        SELECT m.id, snippet(messages_fts, 0, '[', ']', '…', 10), k.e164
        FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
        JOIN conversations c ON c.id = m.conversation_id JOIN contacts k ON k.id = c.contact_id
        WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT ?
        """,
        (query, limit),
    ).fetchall()
    return len(rows)


def _time(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    paths = Paths(args.data_dir)
    started = time.perf_counter()
    open_database(paths.database, paths.backups)  # runs any pending migration
    print(f"open (and migrate) {(time.perf_counter() - started) * 1000:9.0f} ms")
    conn = connect(paths.database)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'").fetchone()[0]
    count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    print(f"{count:,} messages; {' '.join(sql.split())}")
    print(f"{'query':16s} {'by time ms':>11s} {'by rowid ms':>12s} {'hits':>5s}")
    for text in QUERIES:
        hits = len(queries.search(conn, text, limit=args.limit))
        ours = _time(lambda t=text: queries.search(conn, t, limit=args.limit), args.runs)
        old = _time(lambda t=text: _by_rowid(conn, t, args.limit), args.runs)
        print(f"{text!r:16s} {ours:11.1f} {old:12.1f} {hits:5d}")
    conn.close()


if __name__ == "__main__":
    main()
