"""The scheduled-texts migration and the rules that decide who holds a text and when it is late."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from desktop.domain import schedule
from desktop.store import database
from desktop.store.database import open_database
from desktop.store.schema import MIGRATIONS, V4_SCHEDULED


def test_a_front_desk_database_gains_the_schedule_table_and_keeps_its_messages(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.sqlite3"
    index = MIGRATIONS.index(V4_SCHEDULED)
    old = sqlite3.connect(db)
    for version, script in enumerate(MIGRATIONS[:index], start=1):
        old.executescript(script)
        old.execute(f"PRAGMA user_version = {version}")
    old.execute("INSERT INTO contacts (e164, name) VALUES ('+15035550142', 'Ada')")
    old.commit()
    old.close()

    open_database(db, tmp_path / "backups")

    conn = database.connect(db)
    try:
        assert conn.execute("SELECT name FROM contacts").fetchone() == ("Ada",)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(scheduled)")}
        assert {"message_id", "send_at", "kind", "state", "approved_late", "reason"} <= columns
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO scheduled (message_id, send_at, kind, updated_at) "
                "VALUES (1, 0, 'x', 0)"
            )
    finally:
        conn.close()


NOW = int(datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000


@pytest.mark.parametrize(
    ("lead_minutes", "in_service", "holder"),
    [
        (15, True, schedule.Holder.TWILIO),
        (14, True, schedule.Holder.LOCAL),  # too close for Twilio's window
        (35 * 24 * 60, True, schedule.Holder.TWILIO),
        (120, False, schedule.Holder.LOCAL),  # no Messaging Service
    ],
)
def test_twilio_holds_only_inside_its_window_and_only_with_a_service(
    lead_minutes: int, in_service: bool, holder: schedule.Holder
) -> None:
    send_at = NOW + lead_minutes * MINUTE
    assert schedule.choose_holder(send_at, NOW, in_service=in_service) is holder


def test_refusals_and_lateness_in_plain_words() -> None:
    assert "already passed" in schedule.refusal(NOW, NOW)
    assert "35 days" in schedule.refusal(NOW + 36 * 24 * 60 * MINUTE, NOW)
    assert schedule.refusal(NOW + MINUTE, NOW) == ""
    assert not schedule.is_late(NOW - 60 * MINUTE, NOW)
    assert schedule.is_late(NOW - 61 * MINUTE, NOW)


def test_due_labels_read_like_a_person_would_say_them() -> None:
    assert schedule.due_label(NOW + 90 * MINUTE, NOW, UTC) == "today 13:30"
    assert schedule.due_label(NOW + 21 * 60 * MINUTE, NOW, UTC) == "tomorrow 9:00"
    assert schedule.due_label(NOW + 4 * 24 * 60 * MINUTE, NOW, UTC) == "Sat 12:00"
    assert schedule.due_label(NOW + 20 * 24 * 60 * MINUTE, NOW, UTC) == "21 Dec 12:00"
