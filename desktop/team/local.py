"""What team mode reads from and writes to this laptop's database.

Reads take the calling thread's reader connection; writes are jobs for the store's one
writer and announce the same events the app's own edits do, so the window refreshes
whichever laptop made the change.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from desktop.domain.events import ConversationChanged, MessageChanged
from desktop.store.writer import Tx


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    conversation_id: int
    our_number: str
    contact_number: str
    name: str
    note: str
    unread: int
    #: When the newest inbound text was created (Twilio's time, the same on every laptop).
    last_inbound_ms: int


@dataclass(frozen=True, slots=True)
class MessageFacts:
    message_id: int
    conversation_id: int
    sid: str
    direction: str
    source: str
    sent_by: str
    automatic: bool


def conversation(conn: sqlite3.Connection, conversation_id: int) -> ConversationFacts | None:
    row = conn.execute(
        "SELECT c.id, c.our_number, k.e164, k.name, k.note, c.unread_count, "
        "COALESCE((SELECT MAX(created_at) FROM messages m WHERE m.conversation_id = c.id "
        "AND m.direction = 'inbound'), 0) FROM conversations c "
        "JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    return None if row is None else ConversationFacts(*row)


def conversation_by_numbers(
    conn: sqlite3.Connection, our_number: str, contact_number: str
) -> ConversationFacts | None:
    row = conn.execute(
        "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id "
        "WHERE c.our_number = ? AND k.e164 = ?",
        (our_number, contact_number),
    ).fetchone()
    return None if row is None else conversation(conn, int(row[0]))


def message(conn: sqlite3.Connection, message_id: int) -> MessageFacts | None:
    row = conn.execute(
        "SELECT id, conversation_id, COALESCE(sid, ''), direction, source, sent_by, automatic "
        "FROM messages WHERE id = ?",
        (message_id,),
    ).fetchone()
    if row is None:
        return None
    return MessageFacts(int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], bool(row[6]))


def sent_by(conn: sqlite3.Connection, sid: str) -> str:
    row = conn.execute("SELECT sent_by FROM messages WHERE sid = ?", (sid,)).fetchone()
    return str(row[0]) if row else ""


# -- writes (jobs for Store.writer) -------------------------------------------------------------


def apply_contact(tx: Tx, contact_number: str, name: str, note: str) -> bool:
    """A colleague's name and note for a customer; True when something changed here."""
    tx.execute(
        "INSERT INTO contacts (e164) VALUES (?) ON CONFLICT (e164) DO NOTHING", (contact_number,)
    )
    cursor = tx.execute(
        "UPDATE contacts SET name = ?, note = ? WHERE e164 = ? AND (name != ? OR note != ?)",
        (name, note, contact_number, name, note),
    )
    if not cursor.rowcount:
        return False
    rows = tx.execute(
        "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.e164 = ?",
        (contact_number,),
    ).fetchall()
    for (conversation_id,) in rows:
        tx.emit(ConversationChanged(int(conversation_id)))
    return True


def mark_read_up_to(tx: Tx, conversation_id: int, read_at_ms: int) -> bool:
    """A colleague read the conversation up to ``read_at_ms``: nothing newer stays unread."""
    newer = tx.execute(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND direction = 'inbound' "
        "AND created_at > ?",
        (conversation_id, read_at_ms),
    ).fetchone()[0]
    cursor = tx.execute(
        "UPDATE conversations SET unread_count = ? WHERE id = ? AND unread_count > ?",
        (int(newer), conversation_id, int(newer)),
    )
    if cursor.rowcount:
        tx.emit(ConversationChanged(conversation_id))
    return bool(cursor.rowcount)


def set_sent_by(tx: Tx, sid: str, name: str) -> bool:
    cursor = tx.execute(
        "UPDATE messages SET sent_by = ? WHERE sid = ? AND sent_by != ?", (name, sid, name)
    )
    if not cursor.rowcount:
        return False
    row = tx.execute(
        "SELECT id, conversation_id, status, error_code FROM messages WHERE sid = ?", (sid,)
    ).fetchone()
    tx.emit(MessageChanged(int(row[0]), int(row[1]), row[2], row[3]))
    return True
