"""Mending a salvaged database: rows whose parent was on a damaged page.

Twoway's own tables get real mending (a conversation whose row was lost is recreated
from its messages, a lost contact from its conversation's messages, and every
conversation's summary is recomputed); anything else that points at a lost row is
dropped and counted, using SQLite's own ``foreign_key_check``, so tables added by later
versions are handled too.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from desktop.store.salvage import quote
from desktop.store.writes import snippet_for

logger = logging.getLogger(__name__)


@dataclass
class FixupReport:
    conversations_recreated: int = 0
    contacts_recreated: int = 0
    conversations_merged: int = 0
    #: Rows dropped because what they belonged to was unreadable, by table.
    orphans_dropped: Counter[str] = field(default_factory=Counter)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def mend(conn: sqlite3.Connection) -> FixupReport:
    report = FixupReport()
    if {"messages", "conversations", "contacts"} <= _tables(conn):
        _restore_contacts(conn, report)
        _restore_conversations(conn, report)
    _drop_orphans(conn, report)
    if {"messages", "conversations", "media"} <= _tables(conn):
        _refresh_summaries(conn)
    return report


def _other_party(conn: sqlite3.Connection, conversation_id: int) -> tuple[str, str] | None:
    """(our number, customer's number) from one of the conversation's messages."""
    row = conn.execute(
        "SELECT direction, from_number, to_number FROM messages WHERE conversation_id = ? "
        "ORDER BY id LIMIT 1",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return None
    direction, sender, recipient = row
    return (recipient, sender) if direction == "inbound" else (sender, recipient)


def _contact_id(conn: sqlite3.Connection, e164: str, wanted_id: int | None = None) -> int:
    row = conn.execute("SELECT id FROM contacts WHERE e164 = ?", (e164,)).fetchone()
    if row is not None:
        return int(row[0])
    taken = (
        wanted_id is not None
        and conn.execute("SELECT 1 FROM contacts WHERE id = ?", (wanted_id,)).fetchone()
    )
    if wanted_id is not None and not taken:
        conn.execute("INSERT INTO contacts (id, e164) VALUES (?, ?)", (wanted_id, e164))
        return wanted_id
    cursor = conn.execute("INSERT INTO contacts (e164) VALUES (?)", (e164,))
    return int(cursor.lastrowid or 0)


def _attach(
    conn: sqlite3.Connection, conversation_id: int, contact_id: int, our_number: str
) -> bool:
    """Point the conversation at ``contact_id``; merge it into an existing conversation of
    that contact and number instead (returns True then)."""
    existing = conn.execute(
        "SELECT id FROM conversations WHERE contact_id = ? AND our_number = ? AND id != ?",
        (contact_id, our_number, conversation_id),
    ).fetchone()
    if existing is None:
        conn.execute(
            "UPDATE conversations SET contact_id = ? WHERE id = ?", (contact_id, conversation_id)
        )
        return False
    conn.execute(
        "UPDATE messages SET conversation_id = ? WHERE conversation_id = ?",
        (existing[0], conversation_id),
    )
    conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
    return True


def _restore_contacts(conn: sqlite3.Connection, report: FixupReport) -> None:
    lost = conn.execute(
        "SELECT c.id, c.contact_id, c.our_number FROM conversations c "
        "LEFT JOIN contacts k ON k.id = c.contact_id WHERE k.id IS NULL"
    ).fetchall()
    for conversation_id, contact_id, our_number in lost:
        parties = _other_party(conn, int(conversation_id))
        if parties is None:
            continue  # no messages either: dropped with the other orphans
        contact = _contact_id(conn, parties[1], int(contact_id))
        if contact == contact_id:
            report.contacts_recreated += 1
        if _attach(conn, int(conversation_id), contact, str(our_number)):
            report.conversations_merged += 1


def _restore_conversations(conn: sqlite3.Connection, report: FixupReport) -> None:
    lost = conn.execute(
        "SELECT m.conversation_id, min(m.created_at) FROM messages m "
        "LEFT JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.id IS NULL GROUP BY m.conversation_id"
    ).fetchall()
    for conversation_id, first_at in lost:
        parties = _other_party(conn, int(conversation_id))
        assert parties is not None
        our_number, customer = parties
        contact = _contact_id(conn, customer)
        existing = conn.execute(
            "SELECT id FROM conversations WHERE contact_id = ? AND our_number = ?",
            (contact, our_number),
        ).fetchone()
        if existing is not None:
            conn.execute(
                "UPDATE messages SET conversation_id = ? WHERE conversation_id = ?",
                (existing[0], conversation_id),
            )
            report.conversations_merged += 1
            continue
        conn.execute(
            "INSERT INTO conversations (id, contact_id, our_number, created_at) "
            "VALUES (?, ?, ?, ?)",
            (conversation_id, contact, our_number, first_at),
        )
        report.conversations_recreated += 1


def _drop_orphans(conn: sqlite3.Connection, report: FixupReport) -> None:
    """Rows whose parent row was lost, until none is left (dropping one may orphan more)."""
    for _round in range(20):
        orphans = [
            (str(table), rowid)
            for table, rowid, _parent, _key in conn.execute("PRAGMA foreign_key_check")
            if rowid is not None
        ]
        if not orphans:
            return
        for table, rowid in orphans:
            # Table names come from SQLite's own foreign-key check, quoted.
            sql = f"DELETE FROM {quote(table)} WHERE rowid = ?"  # noqa: S608
            cursor = conn.execute(sql, (rowid,))
            report.orphans_dropped[table] += cursor.rowcount
    logger.warning("Salvage: rows still point at missing rows after 20 rounds")


def _refresh_summaries(conn: sqlite3.Connection) -> None:
    """Each conversation points at its newest surviving message again."""
    conn.execute(
        """
        UPDATE conversations SET last_message_id = NULL, last_message_at = 0,
            last_direction = '', last_status = '', snippet = ''
        WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)
        """
    )
    newest = conn.execute(
        """
        SELECT conversation_id, id, created_at, direction, status, body FROM (
            SELECT conversation_id, id, created_at, direction, status, body,
                   row_number() OVER (PARTITION BY conversation_id
                                      ORDER BY created_at DESC, id DESC) AS n
            FROM messages)
        WHERE n = 1
        """
    ).fetchall()
    for conversation_id, message_id, created_at, direction, status, body in newest:
        types = [
            str(r[0])
            for r in conn.execute(
                "SELECT content_type FROM media WHERE message_id = ? ORDER BY idx", (message_id,)
            )
        ]
        conn.execute(
            "UPDATE conversations SET last_message_id = ?, last_message_at = ?, "
            "last_direction = ?, last_status = ?, snippet = ? WHERE id = ?",
            (
                message_id,
                created_at,
                direction,
                status,
                snippet_for(str(body or ""), types),
                conversation_id,
            ),
        )
