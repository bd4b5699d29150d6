"""Schema versions: upgrades are backed up and atomic; newer databases are never touched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from desktop.domain.store_health import HealthKind
from desktop.store import database, schema
from desktop.store.database import DatabaseTooNew, StoreError, StoreUnavailable, open_database


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_database_gets_the_current_schema_with_wal_and_fts(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite3"
    open_database(db, tmp_path / "backups")
    conn = database.connect(db)
    try:
        assert database.schema_version(conn) == schema.SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {
            "messages",
            "media",
            "conversations",
            "contacts",
            "our_numbers",
            "outbox",
            "messages_fts",
        } <= tables
    finally:
        conn.close()
    assert not list((tmp_path / "backups").glob("*"))  # nothing to back up on creation


def test_upgrade_keeps_data_and_backs_up_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, backups = tmp_path / "t.sqlite3", tmp_path / "backups"
    open_database(db, backups)
    conn = database.connect(db)
    conn.execute("INSERT INTO contacts (e164, name) VALUES ('+15035550142', 'Ada')")
    conn.close()
    v2 = "ALTER TABLE contacts ADD COLUMN notes TEXT NOT NULL DEFAULT '';"
    monkeypatch.setattr(database, "MIGRATIONS", (*schema.MIGRATIONS, v2))
    monkeypatch.setattr(database, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)

    open_database(db, backups)

    conn = database.connect(db)
    try:
        assert database.schema_version(conn) == schema.SCHEMA_VERSION + 1
        assert conn.execute("SELECT name, notes FROM contacts").fetchone() == ("Ada", "")
    finally:
        conn.close()
    [backup] = backups.glob("*.sqlite3")
    old = sqlite3.connect(backup)
    try:
        assert old.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert old.execute("SELECT name FROM contacts").fetchone() == ("Ada",)
    finally:
        old.close()


def test_a_failing_migration_leaves_the_old_version_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, backups = tmp_path / "t.sqlite3", tmp_path / "backups"
    open_database(db, backups)
    broken = "ALTER TABLE contacts ADD COLUMN x TEXT; SELECT * FROM no_such_table;"
    monkeypatch.setattr(database, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(database, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    with pytest.raises(StoreError):
        open_database(db, backups)
    conn = database.connect(db)
    try:
        assert database.schema_version(conn) == schema.SCHEMA_VERSION
        columns = [r[1] for r in conn.execute("PRAGMA table_info(contacts)")]
        assert "x" not in columns
    finally:
        conn.close()


def test_database_from_a_newer_twoway_is_refused_and_not_modified(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite3"
    open_database(db, tmp_path / "backups")
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _digest(db)
    with pytest.raises(DatabaseTooNew, match="newer version of Twoway"):
        open_database(db, tmp_path / "backups")
    assert _digest(db) == before


def test_garbage_file_gives_a_plain_message(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite3"
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot be read") as raised:
        open_database(db, tmp_path / "backups")
    assert isinstance(raised.value, StoreUnavailable)
    assert raised.value.health.kind is HealthKind.DAMAGED
    assert raised.value.health.can_repair


def test_version_2_database_gains_an_empty_sent_by_on_every_message(tmp_path: Path) -> None:
    db, backups = tmp_path / "t.sqlite3", tmp_path / "backups"
    conn = sqlite3.connect(db)
    conn.executescript(schema.V1 + schema.V2_FRONT_DESK)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO contacts (id, e164) VALUES (1, '+15035550142')")
    conn.execute(
        "INSERT INTO conversations (id, contact_id, our_number, created_at) "
        "VALUES (1, 1, '+15035550100', 0)"
    )
    conn.execute(
        "INSERT INTO messages (sid, conversation_id, direction, from_number, to_number, "
        "status, status_rank, created_at, updated_at) "
        "VALUES ('SM1', 1, 'outbound', '+15035550100', '+15035550142', 'sent', 3, 0, 0)"
    )
    conn.commit()
    conn.close()

    open_database(db, backups)

    conn = database.connect(db)
    try:
        assert database.schema_version(conn) == schema.SCHEMA_VERSION
        assert conn.execute("SELECT sid, sent_by FROM messages").fetchall() == [("SM1", "")]
    finally:
        conn.close()
