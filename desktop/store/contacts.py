"""Contacts: the people behind the numbers — name, E.164 number and a note.

A contact row exists for every number Twoway ever texted with (conversations point at
it); an import or an edit adds the name and note.  The E.164 number is the identity:
importing a number that is already known *merges* into that contact, never adds a second.

Merging keeps what staff wrote: a non-empty imported name replaces the stored one (the
file is what they want now), and a different note is added on a new line below the old
one rather than replacing it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from desktop.domain.events import ConversationChanged
from desktop.store.writer import Tx

logger = logging.getLogger(__name__)

MAX_NAME_CHARS: Final = 100
MAX_NOTE_CHARS: Final = 2000


class ContactRow(NamedTuple):
    id: int
    e164: str
    name: str
    note: str


@dataclass(frozen=True, slots=True)
class ContactInput:
    e164: str
    name: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    added: int = 0
    merged: int = 0


def clean_name(name: str) -> str:
    return " ".join(name.split())[:MAX_NAME_CHARS]


def clean_note(note: str) -> str:
    lines = [" ".join(line.split()) for line in note.replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line)[:MAX_NOTE_CHARS]


def merged_note(old: str, new: str) -> str:
    if not new or new in old:
        return old
    if not old or old in new:
        return new
    return clean_note(old + "\n" + new)


# -- writes (jobs for the single writer) -------------------------------------------------------


def _emit_for_contact(tx: Tx, contact_id: int) -> None:
    rows = tx.execute("SELECT id FROM conversations WHERE contact_id = ?", (contact_id,)).fetchall()
    for (conversation_id,) in rows:
        tx.emit(ConversationChanged(int(conversation_id)))


def upsert_contact(tx: Tx, contact: ContactInput) -> bool:
    """Add ``contact`` or merge it into the one with its number; True when it was new."""
    name, note = clean_name(contact.name), clean_note(contact.note)
    row = tx.execute(
        "SELECT id, name, note FROM contacts WHERE e164 = ?", (contact.e164,)
    ).fetchone()
    if row is None:
        tx.execute(
            "INSERT INTO contacts (e164, name, note) VALUES (?, ?, ?)", (contact.e164, name, note)
        )
        return True
    contact_id, old_name, old_note = int(row[0]), str(row[1]), str(row[2])
    new_name = name or old_name
    new_note = merged_note(old_note, note)
    if (new_name, new_note) != (old_name, old_note):
        tx.execute(
            "UPDATE contacts SET name = ?, note = ? WHERE id = ?", (new_name, new_note, contact_id)
        )
        _emit_for_contact(tx, contact_id)
    return False


def upsert_contacts(tx: Tx, contacts: Iterable[ContactInput]) -> UpsertCounts:
    """Many at once, in one transaction: an import is stored whole or not at all."""
    added = merged = 0
    for contact in contacts:
        if upsert_contact(tx, contact):
            added += 1
        else:
            merged += 1
    return UpsertCounts(added, merged)


def update_contact(tx: Tx, contact_id: int, *, name: str, note: str) -> None:
    """Staff edited a contact in the contacts view (replaces name and note)."""
    cursor = tx.execute(
        "UPDATE contacts SET name = ?, note = ? WHERE id = ?",
        (clean_name(name), clean_note(note), contact_id),
    )
    if not cursor.rowcount:
        raise LookupError(f"There is no contact {contact_id}.")
    _emit_for_contact(tx, contact_id)


# -- reads ------------------------------------------------------------------------------------

_SELECT: Final = "SELECT id, e164, name, note FROM contacts"
_ORDER: Final = " ORDER BY name = '', name COLLATE NOCASE, e164"


def contacts(conn: sqlite3.Connection) -> list[ContactRow]:
    """Every contact, named ones first, by name."""
    return [ContactRow(*r) for r in conn.execute(_SELECT + _ORDER).fetchall()]


def contact_by_number(conn: sqlite3.Connection, e164: str) -> ContactRow | None:
    row = conn.execute(_SELECT + " WHERE e164 = ?", (e164,)).fetchone()
    return None if row is None else ContactRow(*row)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_contacts(conn: sqlite3.Connection, text: str, limit: int = 50) -> list[ContactRow]:
    """Contacts whose name, note or number contains ``text`` (digits match the number
    however it was typed: "555 0142" finds +15035550142)."""
    query = " ".join(text.split())
    if not query:
        return contacts(conn)[:limit]
    digits = "".join(ch for ch in query if ch.isdigit())
    rows = conn.execute(
        _SELECT + " WHERE name LIKE ?1 ESCAPE '\\' OR note LIKE ?1 ESCAPE '\\' "
        "OR (?2 != '' AND e164 LIKE ?3 ESCAPE '\\')" + _ORDER + " LIMIT ?4",
        (_like(query), digits, _like(digits), limit),
    ).fetchall()
    return [ContactRow(*r) for r in rows]


def known_numbers(conn: sqlite3.Connection, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` already have a contact row."""
    rows = conn.execute(
        "SELECT e164 FROM contacts WHERE e164 IN (SELECT value FROM json_each(?))",
        (json.dumps(list(numbers)),),
    ).fetchall()
    return {str(r[0]) for r in rows}
