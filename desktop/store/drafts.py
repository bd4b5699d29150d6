"""Drafts: what staff started typing in a conversation (text and attachments), kept in the
database so switching conversations, quitting or a crash never loses it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from desktop.store import writes
from desktop.store.writer import Tx


@dataclass(frozen=True, slots=True)
class Draft:
    conversation_id: int
    body: str
    #: Paths of the attached files, in order.
    attachments: tuple[str, ...]
    updated_at: int

    @property
    def empty(self) -> bool:
        return not self.body.strip() and not self.attachments


def save_draft(tx: Tx, conversation_id: int, body: str, attachments: Sequence[str] = ()) -> None:
    """Keep the composer's content; an empty composer clears the draft."""
    if not body.strip() and not attachments:
        clear_draft(tx, conversation_id)
        return
    tx.execute(
        "INSERT INTO drafts (conversation_id, body, attachments, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (conversation_id) DO UPDATE SET body = excluded.body, "
        "attachments = excluded.attachments, updated_at = excluded.updated_at",
        (conversation_id, body, json.dumps([str(a) for a in attachments]), writes.now_ms()),
    )


def clear_draft(tx: Tx, conversation_id: int) -> None:
    tx.execute("DELETE FROM drafts WHERE conversation_id = ?", (conversation_id,))


def _draft(row: tuple[object, ...]) -> Draft:
    raw = json.loads(str(row[2]))
    attachments = tuple(str(a) for a in raw) if isinstance(raw, list) else ()
    return Draft(int(str(row[0])), str(row[1]), attachments, int(str(row[3])))


def load_draft(conn: sqlite3.Connection, conversation_id: int) -> Draft | None:
    row = conn.execute(
        "SELECT conversation_id, body, attachments, updated_at FROM drafts "
        "WHERE conversation_id = ?",
        (conversation_id,),
    ).fetchone()
    return None if row is None else _draft(row)


def all_drafts(conn: sqlite3.Connection) -> dict[int, Draft]:
    """Every draft by conversation (for a "Draft:" hint in the conversation list)."""
    rows = conn.execute(
        "SELECT conversation_id, body, attachments, updated_at FROM drafts"
    ).fetchall()
    return {int(r[0]): _draft(r) for r in rows}
