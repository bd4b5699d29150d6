"""Search lists the newest messages first by when they were sent, whatever the order they
were stored in, and short prefixes use the index's ready-made prefix lists."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop.domain import status
from desktop.domain.models import Direction, NewMessage, Source
from desktop.store import database, queries, schema, writes
from desktop.store.database import open_database
from desktop.store.service import Store
from desktop.store.writer import Tx

BASE = 1_700_000_000_000


def _message(serial: int, body: str) -> NewMessage:
    return NewMessage(
        sid=f"SM{serial:032x}",
        direction=Direction.INBOUND,
        from_number=f"+1503555{serial % 7:04d}",
        to_number="+15035550100",
        body=body,
        status="received",
        created_at_ms=BASE + serial * 60_000,
        source=Source.BACKFILL,
    )


def _insert_newest_first(store: Store, count: int, body: str) -> None:
    def job(tx: Tx) -> None:
        for serial in reversed(range(count)):  # what a first backfill does: newest first
            writes.insert_message(tx, _message(serial, f"{body} number {serial}"))

    store.writer.call(job)


def test_newest_100_are_the_newest_by_time_after_a_newest_first_backfill(store: Store) -> None:
    _insert_newest_first(store, 150, "kitchen sink")

    hits = queries.search(store.reader(), "kitchen", limit=100)

    times = [h.created_at for h in hits]
    assert times == [BASE + s * 60_000 for s in reversed(range(50, 150))]
    assert hits[0].snippet.startswith("[kitchen] sink")


def test_many_matches_are_also_newest_by_time(store: Store) -> None:
    count = queries._MANY_MATCHES + 300  # past the probe: the time-index plan
    _insert_newest_first(store, count, "ki")

    hits = queries.search(store.reader(), "k", limit=100)

    assert [h.created_at for h in hits] == [
        BASE + s * 60_000 for s in reversed(range(count - 100, count))
    ]


def _v2_database(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for version, script in enumerate(schema.MIGRATIONS[:2]):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
    conn.execute("INSERT INTO contacts (e164) VALUES ('+15035550142')")
    conn.execute(
        "INSERT INTO conversations (contact_id, our_number, created_at) "
        "VALUES (1, '+15035550100', 0)"
    )
    for i, body in enumerate(["Your kitchen order is ready", "Kiwis are in", "Thanks!"]):
        conn.execute(
            "INSERT INTO messages (sid, conversation_id, direction, from_number, to_number, body, "
            "status, status_rank, created_at, updated_at) "
            "VALUES (?, 1, 'inbound', '+15035550142', '+15035550100', ?, 'received', ?, ?, ?)",
            (f"SM{i:032x}", body, status.rank("received"), BASE + i, BASE + i),
        )
    conn.close()


def test_upgrade_rebuilds_the_search_index_with_prefixes_and_keeps_it_live(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite3"
    _v2_database(db)

    open_database(db, tmp_path / "backups")

    conn = database.connect(db)
    try:
        assert database.schema_version(conn) == schema.SCHEMA_VERSION
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'").fetchone()
        assert "prefix='1 2 3'" in sql[0]
        # Rows from before the upgrade are found, newest first.
        assert [h.created_at for h in queries.search(conn, "ki")] == [BASE + 1, BASE]
        # The triggers still feed the rebuilt index.
        conn.execute(
            "INSERT INTO messages (sid, conversation_id, direction, from_number, to_number, body, "
            "status, status_rank, created_at, updated_at) VALUES ('SMnew', 1, 'outbound', "
            "'+15035550100', '+15035550142', 'Kind regards', 'sent', 1, ?, ?)",
            (BASE + 9, BASE + 9),
        )
        conn.execute("UPDATE messages SET body = 'Bananas are in' WHERE sid = ?", (f"SM{1:032x}",))
        assert [h.created_at for h in queries.search(conn, "ki")] == [BASE + 9, BASE]
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()
