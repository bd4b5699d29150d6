"""The database's health: what each state says, and the store's monitor."""

from __future__ import annotations

import errno
import sqlite3
import time
from pathlib import Path

import pytest

from desktop.domain.connection import ConnectionSnapshot, Link
from desktop.domain.store_health import HealthKind, StoreHealth
from desktop.store.health import HealthMonitor, kind_of, probe
from desktop.ui.status_area import describe


def _real_error(sql: str) -> sqlite3.Error:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("no error")


def _garbage_error(tmp_path: Path) -> sqlite3.DatabaseError:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 400)
    conn = sqlite3.connect(garbage)
    try:
        with pytest.raises(sqlite3.DatabaseError) as raised:
            conn.execute("SELECT * FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return raised.value


def test_errors_are_sorted_by_what_they_say_about_the_database(tmp_path: Path) -> None:
    assert kind_of(_garbage_error(tmp_path)) is HealthKind.DAMAGED
    assert kind_of(OSError(errno.ENOSPC, "No space left on device")) is HealthKind.DISK_FULL
    assert kind_of(OSError(errno.EROFS, "Read-only file system")) is HealthKind.READ_ONLY
    assert kind_of(_real_error("SELECT * FROM no_such_table")) is None  # our SQL, not the file
    assert kind_of(ValueError("x")) is None


def test_every_problem_has_plain_words_and_a_next_step() -> None:
    for kind in HealthKind:
        health = StoreHealth(kind, "detail", "/data/twoway.sqlite3")
        assert health.headline
        if not health.ok:
            assert health.message
            assert health.can_repair or health.can_retry or kind is HealthKind.TOO_NEW
            assert health.fix


def test_damage_stays_known_until_a_fresh_start(tmp_path: Path) -> None:
    monitor = HealthMonitor(tmp_path / "t.sqlite3", None)
    seen: list[HealthKind] = []
    monitor.subscribe(lambda health: seen.append(health.kind))
    monitor.report(OSError(errno.ENOSPC, "full"))
    monitor.commit_succeeded()
    monitor.report(_garbage_error(tmp_path))
    monitor.report(OSError(errno.ENOSPC, "full"))
    monitor.commit_succeeded()
    assert seen == [HealthKind.DISK_FULL, HealthKind.UNCHECKED, HealthKind.DAMAGED]
    assert not monitor.current.writable
    monitor.reset()
    assert monitor.current.ok


def test_a_new_data_folder_is_simply_created(tmp_path: Path) -> None:
    assert probe(tmp_path / "data" / "twoway.sqlite3", tmp_path / "data" / "backups") is None


def test_the_status_area_leads_with_the_database_whatever_the_network_says() -> None:
    now = int(time.time() * 1000)
    for kind, action in (
        (HealthKind.DAMAGED, "repair"),
        (HealthKind.READ_ONLY, "retry"),
        (HealthKind.LOCKED, "retry"),
        (HealthKind.DISK_FULL, ""),
    ):
        snapshot = ConnectionSnapshot(
            link=Link.ONLINE,
            public_url="https://x.ngrok-free.app",
            number_points_here=True,
            store_health=StoreHealth(kind, path="/d/twoway.sqlite3"),
        )
        text = describe(snapshot, now, 15)
        assert text.tone == "problem"
        assert text.headline == StoreHealth(kind).headline
        assert text.action == action
    healthy = ConnectionSnapshot(link=Link.ONLINE, store_health=StoreHealth(HealthKind.OK))
    text = describe(healthy, now, 15)
    assert text.headline == "Online"
    assert "no damage found" in text.tooltip
