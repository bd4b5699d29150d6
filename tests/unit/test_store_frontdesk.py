"""The front desk's tables: contacts merged by number, drafts kept across a restart, and the
migration that adds them keeping what was there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.domain.events import ConversationChanged, Event
from desktop.store import contacts, database, drafts, schema, writes
from desktop.store.contacts import ContactInput
from desktop.store.service import Store

OURS = "+15035550100"
ADA = "+15035550142"


def test_upsert_adds_then_merges_by_number(store: Store) -> None:
    first = store.writer.call(
        lambda tx: contacts.upsert_contacts(
            tx, [ContactInput(ADA, "Ada  Lovelace", "Prefers mornings")]
        )
    )
    assert (first.added, first.merged) == (1, 0)
    again = store.writer.call(
        lambda tx: contacts.upsert_contacts(
            tx,
            [ContactInput(ADA, "", "Allergic to latex"), ContactInput("+15035550177", "Bob")],
        )
    )
    assert (again.added, again.merged) == (1, 1)
    ada = contacts.contact_by_number(store.reader(), ADA)
    assert ada is not None
    assert ada.name == "Ada Lovelace"  # an empty name never wipes one
    assert ada.note == "Prefers mornings\nAllergic to latex"
    store.writer.call(
        lambda tx: contacts.upsert_contact(tx, ContactInput(ADA, "Ada L.", "Allergic to latex"))
    )
    ada = contacts.contact_by_number(store.reader(), ADA)
    assert ada is not None
    assert (ada.name, ada.note) == ("Ada L.", "Prefers mornings\nAllergic to latex")
    assert [c.name for c in contacts.contacts(store.reader())] == ["Ada L.", "Bob"]


def test_a_contact_texting_already_is_merged_and_its_conversation_hears_of_it(store: Store) -> None:
    events: list[Event] = []
    store.events.subscribe(events.extend)
    conversation = store.writer.call(lambda tx: writes.ensure_conversation(tx, OURS, ADA))
    counts = store.writer.call(lambda tx: contacts.upsert_contacts(tx, [ContactInput(ADA, "Ada")]))
    assert (counts.added, counts.merged) == (0, 1)
    assert ConversationChanged(conversation) in events


def test_search_finds_name_note_and_number_however_typed(store: Store) -> None:
    store.writer.call(
        lambda tx: contacts.upsert_contacts(
            tx,
            [
                ContactInput(ADA, "Ada Lovelace", "100% on time"),
                ContactInput("+15035550177", "Bob_Builder", ""),
                ContactInput("+447700900123", "", "London office"),
            ],
        )
    )
    reader = store.reader()

    def found(text: str) -> list[str]:
        return [c.e164 for c in contacts.search_contacts(reader, text)]

    assert found("lovelace") == [ADA]
    assert found("(503) 555-0142") == [ADA]
    assert found("london") == ["+447700900123"]
    assert found("100%") == [ADA]  # LIKE wildcards are literal
    assert found("bo_") == []  # "_" is not a wildcard either
    assert found("Bob_") == ["+15035550177"]
    assert len(found("")) == 3


def test_editing_a_contact_replaces_name_and_note(store: Store) -> None:
    store.writer.call(lambda tx: contacts.upsert_contact(tx, ContactInput(ADA, "Ada", "old")))
    ada = contacts.contact_by_number(store.reader(), ADA)
    assert ada is not None
    store.writer.call(lambda tx: contacts.update_contact(tx, ada.id, name=" Ada  K ", note=""))
    edited = contacts.contact_by_number(store.reader(), ADA)
    assert edited is not None
    assert (edited.name, edited.note) == ("Ada K", "")
    with pytest.raises(LookupError):
        store.writer.call(lambda tx: contacts.update_contact(tx, 999, name="x", note=""))


def test_drafts_survive_closing_and_reopening_the_store(paths: Paths) -> None:
    store = Store(paths.database, paths.backups)
    store.open()
    conversation = store.writer.call(lambda tx: writes.ensure_conversation(tx, OURS, ADA))
    other = store.writer.call(lambda tx: writes.ensure_conversation(tx, OURS, "+15035550177"))
    picture = str(paths.data_dir / "x-ray.png")
    store.writer.call(
        lambda tx: drafts.save_draft(tx, conversation, "See you {day}?\nBring the form", [picture])
    )
    store.writer.call(lambda tx: drafts.save_draft(tx, other, "half a"))
    store.close()

    reopened = Store(paths.database, paths.backups)
    reopened.open()
    try:
        draft = drafts.load_draft(reopened.reader(), conversation)
        assert draft is not None
        assert (draft.body, draft.attachments) == ("See you {day}?\nBring the form", (picture,))
        assert set(drafts.all_drafts(reopened.reader())) == {conversation, other}
        reopened.writer.call(lambda tx: drafts.save_draft(tx, other, "   ", []))  # emptied
        reopened.writer.call(lambda tx: drafts.clear_draft(tx, conversation))  # sent
        assert drafts.all_drafts(reopened.reader()) == {}
    finally:
        reopened.close()


def test_the_front_desk_migration_keeps_existing_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, backups = tmp_path / "t.sqlite3", tmp_path / "backups"
    monkeypatch.setattr(database, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(database, "SCHEMA_VERSION", 1)
    database.open_database(db, backups)
    conn = database.connect(db)
    conn.execute("INSERT INTO contacts (e164, name) VALUES (?, 'Ada')", (ADA,))
    conn.close()
    monkeypatch.setattr(database, "MIGRATIONS", schema.MIGRATIONS)
    monkeypatch.setattr(database, "SCHEMA_VERSION", schema.SCHEMA_VERSION)

    database.open_database(db, backups)

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT name, note FROM contacts").fetchone() == ("Ada", "")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"drafts", "away_replies"} <= tables
        columns = {r[1] for r in conn.execute("PRAGMA table_info(messages)")}
        assert "automatic" in columns
    finally:
        conn.close()
    assert list(backups.glob("*"))  # backed up before migrating
