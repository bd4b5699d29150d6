"""Damage is seen and nothing more is written into a damaged file; unusable files at start
(empty, read-only, locked) are named in plain words instead of half-starting the app."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.core import Core, CoreOptions
from desktop.domain.connection import Link
from desktop.domain.models import Direction, NewMessage, Source
from desktop.domain.store_health import HealthKind
from desktop.gateway.ingest import StoreIngest
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.store import backups, queries, writes
from desktop.store.database import StoreUnavailable
from desktop.store.service import Store
from desktop.store.writer import Tx
from desktop.ui.status_area import describe
from tests.damage_helpers import damage_page, digest, remount, small_filesystem
from tests.receiver_fixture import PUBLIC_URL, RunningReceiver
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, inbound_params, new_sid


def _seed(paths: Paths, count: int = 2000) -> None:
    store = Store(paths.database, paths.backups)
    store.open()

    def many(tx: Tx) -> None:
        for i in range(count):
            writes.insert_message(
                tx,
                NewMessage(
                    sid=new_sid(),
                    direction=Direction.INBOUND,
                    from_number=f"+1971555{i % 30:04d}",
                    to_number=OUR_NUMBER,
                    body=f"Text number {i} about the appointment",
                    status="received",
                    created_at_ms=1_764_000_000_000 + i * 1000,
                    source=Source.BACKFILL,
                ),
            )

    store.writer.call(many)
    store.close()


def _read_every_thread(conn: sqlite3.Connection) -> None:
    """What staff do when they open each conversation in turn."""
    for conversation in queries.conversations(conn):
        queries.thread_page(conn, conversation.id, limit=100_000)


def _files(db: Path) -> list[Path]:
    return [db.with_name(db.name + s) for s in ("", "-wal")]


@pytest.fixture
def data(tmp_path: Path) -> Paths:
    paths = Paths(tmp_path / "data")
    paths.create()
    _seed(paths)
    return paths


def test_damage_found_by_the_check_stops_every_write_and_webhooks_get_503(data: Paths) -> None:
    damage_page(data.database, "messages_by_time")
    store = Store(data.database, data.backups)
    store.open()  # the quick look before opening cannot see a damaged index page
    app = WebhookApp(
        StoreIngest(store), lambda: WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL)
    )
    receiver = ReceiverThread(app, 0, socket_timeout=1.0)
    receiver.start()
    try:
        assert store.check_health().kind is HealthKind.DAMAGED
        before = digest(*_files(data.database))

        reply = RunningReceiver(store, receiver, app).post_signed(
            "/twilio/sms", inbound_params(body="Are you open on Saturday?")
        )

        assert reply.status == 503
        with pytest.raises(StoreUnavailable, match="Part of the message database"):
            store.writer.call(lambda tx: writes.mark_read(tx, 1))
        assert digest(*_files(data.database)) == before
    finally:
        receiver.stop()
        store.close()


def test_a_read_that_meets_damage_marks_the_store_damaged_and_writes_stop(data: Paths) -> None:
    damage_page(data.database, "messages")
    store = Store(data.database, data.backups)
    store.open()
    try:
        seen: list[HealthKind] = []
        store.health.subscribe(lambda health: seen.append(health.kind))
        conn = store.reader()
        with pytest.raises(sqlite3.DatabaseError):
            _read_every_thread(conn)
        assert seen == [HealthKind.DAMAGED]
        assert isinstance(store.writer.submit(lambda tx: None).exception(), StoreUnavailable)
    finally:
        store.close()


def test_core_start_on_a_damaged_database_starts_no_network_and_online_cannot_hide_it(
    data: Paths,
) -> None:
    damage_page(data.database, "messages_fts_data")
    core = Core(CoreOptions(data_dir=data.data_dir, environ={}))
    core.open()
    try:
        core.start().result(timeout=30)
        snapshot = core.connection.snapshot
        assert snapshot.store_health.kind is HealthKind.DAMAGED
        assert core.network.receiver is None  # nothing started that would write
        # Whatever the network side says later, the status area leads with the damage.
        online = core.connection.update(link=Link.ONLINE, public_url=PUBLIC_URL, problem="")
        text = describe(online, int(time.time() * 1000), 15)
        assert text.headline == "The message database is damaged"
        assert text.action == "repair"
        assert "Online" not in text.headline
    finally:
        core.stop()


def test_a_zero_byte_database_is_never_replaced_by_an_empty_one(data: Paths) -> None:
    assert backups.back_up_daily(data.database, data.backups) is not None
    data.database.write_bytes(b"")
    store = Store(data.database, data.backups)

    with pytest.raises(StoreUnavailable) as raised:
        store.open()

    health = raised.value.health
    assert health.kind is HealthKind.EMPTY_FILE
    assert health.can_restore
    assert health.backup_made in health.message
    assert data.database.stat().st_size == 0
    with pytest.raises(StoreUnavailable):
        store.reader()  # no reader creates a database where the real one is lost


def test_a_missing_database_with_a_backup_is_offered_not_recreated(data: Paths) -> None:
    assert backups.back_up_daily(data.database, data.backups) is not None
    data.database.unlink()
    store = Store(data.database, data.backups)
    with pytest.raises(StoreUnavailable) as raised:
        store.open()
    assert raised.value.health.kind is HealthKind.MISSING
    assert not data.database.exists()


def test_a_database_locked_by_another_program_says_so_then_opens(data: Paths) -> None:
    other = sqlite3.connect(data.database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    store = Store(data.database, data.backups)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            store.open()
        assert raised.value.health.kind is HealthKind.LOCKED
        assert "Another program is using" in str(raised.value)
        other.execute("ROLLBACK")
        store.open()
        assert store.health.current.ok
    finally:
        other.close()
        store.close()


@pytest.fixture
def read_only_data(tmp_path: Path) -> Iterator[tuple[Paths, object]]:
    """A data folder that cannot be written: a read-only mount as root, else permissions.

    Yields the paths and a function that makes it writable again.
    """
    if os.geteuid() == 0:  # root ignores file permissions: only a read-only mount stops it
        with small_filesystem(tmp_path / "mnt", 16 * 1024) as mount:
            paths = Paths(mount / "data")
            paths.create()
            _seed(paths, count=50)
            remount(mount, "ro")
            yield paths, lambda: remount(mount, "rw")
        return
    paths = Paths(tmp_path / "data")
    paths.create()
    _seed(paths, count=50)
    paths.database.chmod(0o444)
    paths.data_dir.chmod(0o555)

    def writable() -> None:
        paths.data_dir.chmod(0o700)
        paths.database.chmod(0o644)

    yield paths, writable
    writable()


def test_read_only_files_at_start_are_named_and_a_retry_opens(
    read_only_data: tuple[Paths, object],
) -> None:
    paths, make_writable = read_only_data
    core = Core(CoreOptions(data_dir=paths.data_dir, environ={}))
    try:
        with pytest.raises((StoreUnavailable, OSError)) as raised:
            core.open()
        health = (
            raised.value.health
            if isinstance(raised.value, StoreUnavailable)
            else core.store.mark_unusable(raised.value)
        )
        assert health.kind is HealthKind.READ_ONLY
        assert health.can_retry
        assert "not allowed to save" in health.message
        assert core.connection.snapshot.store_health.kind is HealthKind.READ_ONLY

        make_writable()  # type: ignore[operator]
        core.open()  # what "Try again" does
        assert core.store.health.current.ok
        core.store.writer.call(lambda tx: writes.mark_read(tx, 1))
    finally:
        core.stop()
