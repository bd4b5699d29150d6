"""Repair against real damage: one garbled page of a table, an index or the search index.

Each case starts from history copied from the simulated Twilio (the way the app gets it),
takes the export, damages one page of the closed file, repairs, and compares the export
with the original.  What each repair recovered is printed (run with ``-s`` to see it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop import recovery
from desktop.domain.store_health import HealthKind
from desktop.store import database, repair, schema
from desktop.store.health import quick_check
from desktop.store.repair import RepairImpossible
from desktop.store.service import Store
from tests.damage_helpers import (
    damage_page,
    digest,
    export_json,
    messages_by_sid,
    name_contacts,
    names_by_number,
    seed_from_twilio,
)
from tests.integration.test_sync_harness import SyncEnv, sync_env

NAMES = {"+19715550100": "Ada Lovelace", "+19715550101": "Grace Hopper"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path, with_receiver=False) as environment:
        yield environment


def _seeded(env: SyncEnv) -> dict[str, Any]:
    seed_from_twilio(env)
    name_contacts(env.store, NAMES)
    env.store.close()
    return export_json(env.paths.database)


def _repair(env: SyncEnv, *, twilio: bool) -> recovery.RepairOutcome:
    return recovery.repair(
        env.paths.database,
        env.paths.backups,
        credentials=env.credentials if twilio else None,  # type: ignore[arg-type]
        api_base_url=env.api_url,
        skipped="the test gave no credentials",
    )


def _searchable(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
        return int(
            conn.execute(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'seeded'"
            ).fetchone()[0]
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    "damaged",
    ["messages", "messages_by_thread", "sqlite_autoindex_messages_1", "messages_fts_data"],
)
def test_repair_of_a_damaged_page_gives_back_the_original_export(
    env: SyncEnv, damaged: str
) -> None:
    db = env.paths.database
    original = _seeded(env)
    damage_page(db, damaged)
    damaged_bytes = db.read_bytes()
    assert quick_check(db, env.paths.backups).kind is HealthKind.DAMAGED

    outcome = _repair(env, twilio=True)

    print(f"\n[{damaged}]\n" + "\n".join(outcome.lines()))
    assert export_json(db) == original
    assert quick_check(db, env.paths.backups).kind is HealthKind.OK
    assert _searchable(db) == len(messages_by_sid(original))
    kept = outcome.rebuilt.kept_aside
    assert kept is not None
    assert (kept / db.name).read_bytes() == damaged_bytes  # aside byte for byte
    salvaged = outcome.rebuilt.table("messages")
    assert salvaged is not None
    assert outcome.twilio is not None
    assert outcome.twilio.consulted
    lost = len(messages_by_sid(original)) - salvaged.copied
    assert outcome.twilio.added == lost
    if damaged == "messages":
        assert salvaged.unreadable
        assert lost > 0
        assert outcome.rebuilt.fixups.orphans_dropped["media"] >= 0
    else:  # an index or the search index: every row is still readable
        assert not salvaged.unreadable
        assert lost == 0


def test_without_twilio_every_readable_message_is_kept_and_the_rest_counted(env: SyncEnv) -> None:
    db = env.paths.database
    original = _seeded(env)
    damage_page(db, "messages")

    outcome = _repair(env, twilio=False)

    after = messages_by_sid(export_json(db))
    before = messages_by_sid(original)
    assert after.keys() < before.keys()
    assert all(after[sid] == before[sid] for sid in after)  # nothing changed, only lost
    salvaged = outcome.rebuilt.table("messages")
    assert salvaged is not None
    assert salvaged.lost_estimate() == len(before) - len(after)
    assert names_by_number(export_json(db)).items() >= NAMES.items()  # local names kept
    text = "\n".join(outcome.lines())
    assert f"about {len(before) - len(after):,} unreadable" in text
    assert "Twilio's message log was not consulted: the test gave no credentials." in text
    print("\n[messages, no Twilio]\n" + text)


def test_lost_conversation_and_contact_rows_are_rebuilt_from_their_messages(
    env: SyncEnv,
) -> None:
    db = env.paths.database
    original = _seeded(env)
    damage_page(db, "contacts")  # the only page: every name and number record

    outcome = _repair(env, twilio=True)

    after = export_json(db)
    assert messages_by_sid(after) == messages_by_sid(original)
    assert set(names_by_number(after)) == set(names_by_number(original))
    assert outcome.rebuilt.fixups.contacts_recreated == len(names_by_number(original))
    text = "\n".join(outcome.lines())
    assert "their names were lost" in text
    print("\n[contacts]\n" + text)


def test_a_table_added_by_a_later_version_is_salvaged_without_code_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = """
    CREATE TABLE visit_notes (
        id INTEGER PRIMARY KEY, contact_id INTEGER NOT NULL REFERENCES contacts(id),
        note TEXT NOT NULL);
    CREATE TABLE reminders (conversation_id INTEGER PRIMARY KEY, body TEXT NOT NULL)
        WITHOUT ROWID;
    """
    migrations = (*schema.MIGRATIONS, extra)
    for module in (database, repair):
        monkeypatch.setattr(module, "MIGRATIONS", migrations)
        monkeypatch.setattr(module, "SCHEMA_VERSION", len(migrations))
    with sync_env(tmp_path, with_receiver=False) as env:
        seed_from_twilio(env, count=900, media_every=0)

        def notes(tx: Any) -> None:
            ids = [r[0] for r in tx.execute("SELECT id FROM contacts")]
            for contact_id in ids:
                tx.execute(
                    "INSERT INTO visit_notes (contact_id, note) VALUES (?, ?)",
                    (contact_id, f"Prefers mornings ({contact_id})"),
                )
                tx.execute(
                    "INSERT INTO reminders (conversation_id, body) VALUES (?, ?)",
                    (contact_id, f"Reminder {contact_id}"),
                )

        env.store.writer.call(notes)
        env.store.close()
        db = env.paths.database
        before = sqlite3.connect(db)
        wanted = {
            t: sorted(before.execute(f"SELECT * FROM {t}").fetchall())
            for t in ("visit_notes", "reminders")
        }
        before.close()
        damage_page(db, "messages")

        outcome = _repair(env, twilio=True)

        after = sqlite3.connect(db)
        try:
            for table, rows in wanted.items():
                assert sorted(after.execute(f"SELECT * FROM {table}").fetchall()) == rows
                assert outcome.rebuilt.copied(table) == len(rows)
            assert after.execute("PRAGMA user_version").fetchone()[0] == len(migrations)
        finally:
            after.close()


def test_an_empty_file_is_kept_and_rebuilt_from_twilio(env: SyncEnv) -> None:
    db = env.paths.database
    original = _seeded(env)
    db.write_bytes(b"")

    outcome = _repair(env, twilio=True)

    assert messages_by_sid(export_json(db)) == messages_by_sid(original)
    assert not outcome.rebuilt.schema_readable
    assert outcome.rebuilt.kept_aside is not None
    assert (outcome.rebuilt.kept_aside / db.name).stat().st_size == 0
    assert "Nothing could be read from the damaged file" in "\n".join(outcome.lines())


def test_a_database_in_use_is_not_repaired_and_not_touched(env: SyncEnv) -> None:
    db = env.paths.database
    _seeded(env)
    damage_page(db, "messages_by_time")
    holder = Store(db, env.paths.backups)  # the running app holds its database open
    holder.open()
    holder.reader().execute("SELECT count(*) FROM contacts").fetchone()
    files = [db.with_name(db.name + s) for s in ("", "-wal")]
    before = digest(*files)
    try:
        with pytest.raises(RepairImpossible, match="Quit it first"):
            _repair(env, twilio=False)
        assert digest(*files) == before
        assert not (db.parent / "damaged").exists()
    finally:
        holder.close()
