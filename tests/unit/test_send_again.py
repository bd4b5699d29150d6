"""Send again retries the same row; the failed attempt's SID still finds it later."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.domain.models import StatusUpdate
from desktop.gateway.rest import RemoteMessage, SentMessage
from desktop.store import database, outbox_writes, queries, schema, writes
from desktop.store.service import Store
from desktop.sync.backfill import Backfiller
from tests.unit.test_sync_backfill import FakeLog
from tests.unit.test_sync_outbox import (
    CUSTOMER,
    OURS,
    Clock,
    FakeGateway,
    make,
    outbox,
    queue,
    run_once,
)

FIRST_SID = "SM" + "a1" * 16
SECOND_SID = "SM" + "b2" * 16


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    paths = Paths(tmp_path / "data")
    paths.create()
    s = Store(paths.database, paths.backups)
    s.open()
    yield s
    s.close()


def logged(sid: str, body: str, status: str, at_ms: int, code: int | None = None) -> RemoteMessage:
    return RemoteMessage(
        sid, "outbound-api", OURS, CUSTOMER, body, status, code, 1, 0, at_ms, at_ms
    )


def messages(store: Store) -> list[tuple[str | None, str, str]]:
    rows = store.reader().execute("SELECT sid, body, status FROM messages ORDER BY id").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def undelivered_send(store: Store, tmp_path: Path, body: str) -> int:
    """A text the outbox sent as FIRST_SID, which Twilio then could not deliver."""
    gateway = FakeGateway(store, script=[lambda: SentMessage(FIRST_SID, "queued")])
    message_id = queue(store, body)
    run_once(make(store, gateway, tmp_path, Clock()))
    store.writer.call(
        lambda tx: writes.apply_status(tx, StatusUpdate(FIRST_SID, "undelivered", 30003))
    )
    assert messages(store) == [(FIRST_SID, body, "undelivered")]
    return message_id


def test_send_again_requeues_the_same_row_and_keeps_the_old_sid_findable(
    store: Store,
    tmp_path: Path,
) -> None:
    message_id = undelivered_send(store, tmp_path, "Your crown is ready")

    assert store.writer.call(lambda tx: outbox_writes.requeue(tx, message_id))
    assert messages(store) == [(None, "Your crown is ready", "pending")]
    assert outbox(store, message_id)[0] == "queued"
    # Pressing it twice does not queue it twice.
    assert not store.writer.call(lambda tx: outbox_writes.requeue(tx, message_id))

    now_ms = int(time.time() * 1000)
    log = FakeLog([logged(FIRST_SID, "Your crown is ready", "undelivered", now_ms - 60_000, 30003)])
    Backfiller(store, log).run([OURS], reason="test")
    # The backfill saw the old attempt: still one message, still waiting to go out again.
    assert messages(store) == [(None, "Your crown is ready", "pending")]
    assert queries.message_id_for_sid(store.reader(), FIRST_SID) == message_id

    # The outbox does not mistake the old attempt in Twilio's log for the new one.
    gateway = FakeGateway(store, script=[lambda: SentMessage(SECOND_SID, "queued")])
    gateway.log = list(log.messages)
    store.writer.call(lambda tx: outbox_writes.mark_sending(tx, message_id))
    store.writer.call(lambda tx: outbox_writes.recover_interrupted_sends(tx))
    run_once(make(store, gateway, tmp_path, Clock()))
    assert len(gateway.sends) == 1
    assert messages(store) == [(SECOND_SID, "Your crown is ready", "queued")]

    # A late callback for the old attempt neither moves the message back nor is parked.
    store.writer.call(lambda tx: writes.apply_status(tx, StatusUpdate(FIRST_SID, "failed", 30003)))
    assert messages(store) == [(SECOND_SID, "Your crown is ready", "queued")]
    parked = store.reader().execute("SELECT count(*) FROM pending_status").fetchone()[0]
    assert parked == 0

    log.messages.append(logged(SECOND_SID, "Your crown is ready", "delivered", now_ms))
    Backfiller(store, log).run([OURS], reason="test")
    assert messages(store) == [(SECOND_SID, "Your crown is ready", "delivered")]


def test_a_text_twilio_refused_is_retried_in_place_even_after_hours(
    store: Store,
    tmp_path: Path,
) -> None:
    gateway, clock = FakeGateway(store), Clock()
    worker = make(store, gateway, tmp_path, clock, give_up_after_s=3600.0)
    message_id = queue(store, "On my way")
    clock.now += 2 * 3600
    run_once(worker)
    assert outbox(store, message_id)[0] == "failed"

    assert store.writer.call(lambda tx: outbox_writes.requeue(tx, message_id))
    clock.now = time.time()
    run_once(worker)
    assert outbox(store, message_id)[0] == "sent"
    assert len(gateway.sends) == 1
    assert len(messages(store)) == 1


def test_the_earlier_sids_migration_keeps_existing_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, backups = tmp_path / "t.sqlite3", tmp_path / "backups"
    before = schema.MIGRATIONS.index(schema.V3_EARLIER_SIDS)
    monkeypatch.setattr(database, "MIGRATIONS", schema.MIGRATIONS[:before])
    monkeypatch.setattr(database, "SCHEMA_VERSION", before)
    database.open_database(db, backups)
    conn = database.connect(db)
    conn.execute("INSERT INTO contacts (e164) VALUES (?)", (CUSTOMER,))
    conn.execute(
        "INSERT INTO conversations (contact_id, our_number, created_at) VALUES (1, ?, 0)", (OURS,)
    )
    conn.execute(
        "INSERT INTO messages (sid, conversation_id, direction, from_number, to_number, status, "
        "status_rank, created_at, updated_at) VALUES (?, 1, 'outbound', ?, ?, 'failed', 90, 0, 0)",
        (FIRST_SID, OURS, CUSTOMER),
    )
    conn.close()
    monkeypatch.setattr(database, "MIGRATIONS", schema.MIGRATIONS)
    monkeypatch.setattr(database, "SCHEMA_VERSION", schema.SCHEMA_VERSION)

    database.open_database(db, backups)

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT sid FROM messages").fetchall() == [(FIRST_SID,)]
        assert conn.execute("SELECT count(*) FROM earlier_sids").fetchone() == (0,)
    finally:
        conn.close()
