"""Daily backups with SQLite's backup API: one a day, a few kept, only when intact, restorable."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from desktop.domain.store_health import HealthKind
from desktop.store import backups, writes
from desktop.store.service import Store

DAY = 24 * 3600.0


def _names(store: Store) -> list[str]:
    rows = store.reader().execute("SELECT e164, name FROM contacts ORDER BY e164").fetchall()
    return [f"{e164}={name}" for e164, name in rows]


def _add_contact(store: Store, number: str, name: str) -> None:
    store.writer.call(
        lambda tx: tx.execute("INSERT INTO contacts (e164, name) VALUES (?, ?)", (number, name))
    )


def test_one_backup_a_day_and_only_the_newest_few_are_kept(store: Store) -> None:
    _add_contact(store, "+15035550142", "Ada")
    start = time.mktime((2026, 11, 20, 12, 0, 0, 0, 0, -1))
    made = [backups.back_up_daily(store.path, store.backups, now=start + d * DAY) for d in range(5)]
    again = backups.back_up_daily(store.path, store.backups, now=start + 4 * DAY + 3600)

    assert all(made)
    assert again is None  # today's copy exists
    kept = sorted(p.name for p in store.backups.glob("daily-*.sqlite3"))
    assert kept == [
        "daily-2026-11-22.sqlite3",
        "daily-2026-11-23.sqlite3",
        "daily-2026-11-24.sqlite3",
    ]
    assert not list(store.backups.glob(".*.part"))
    copy = sqlite3.connect(store.backups / kept[-1])
    try:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT name FROM contacts").fetchall() == [("Ada",)]
    finally:
        copy.close()
    assert backups.newest(store.backups) is not None
    assert backups.newest(store.backups).path.name == kept[-1]  # type: ignore[union-attr]


def test_no_backup_before_the_check_passed(store: Store) -> None:
    assert store.health.current.kind is HealthKind.UNCHECKED
    assert store.back_up_daily() is None
    assert store.check_health().kind is HealthKind.OK
    made = store.back_up_daily()
    assert made is not None
    assert made.exists()


def test_restore_puts_the_backup_in_place_and_keeps_what_it_replaced(store: Store) -> None:
    _add_contact(store, "+15035550142", "Ada")
    made = backups.back_up_daily(store.path, store.backups)
    assert made is not None
    _add_contact(store, "+15035550143", "Grace")
    store.close()

    aside = backups.restore(made, store.path)

    assert aside is not None
    assert (aside / store.path.name).exists()
    store.open()
    assert _names(store) == ["+15035550142=Ada"]
    store.writer.call(lambda tx: writes.rename_contact(tx, 1, "Ada L."))  # writable again
    kept = sqlite3.connect(aside / store.path.name)
    try:
        assert kept.execute("SELECT count(*) FROM contacts").fetchone()[0] == 2
    finally:
        kept.close()


def test_a_bad_backup_is_refused_and_changes_nothing(store: Store, tmp_path: Path) -> None:
    _add_contact(store, "+15035550142", "Ada")
    store.close()
    bad = tmp_path / "daily-2026-11-20.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x07" * 8000)
    before = store.path.read_bytes()

    with pytest.raises(sqlite3.DatabaseError):
        backups.restore(bad, store.path)

    assert store.path.read_bytes() == before
    assert not (store.path.parent / "damaged").exists()
    assert not list(store.path.parent.glob(".*.part"))


def test_only_real_database_files_are_offered(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "daily-2026-11-20.sqlite3").write_bytes(b"")
    (folder / "notes.txt").write_text("hello")
    assert backups.list_backups(folder) == []
    assert backups.list_backups(tmp_path / "none") == []
