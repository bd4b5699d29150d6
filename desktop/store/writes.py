"""Every change to the message database, as jobs for :class:`~desktop.store.writer.StoreWriter`.

Each function takes the writer's :class:`Tx`, runs inside the writer's transaction and
announces what changed with ``tx.emit``; nothing is visible to anyone before the commit.
Rules kept here, in one place:

- a message is stored once per SID whatever path brought it (webhook, backfill, polling,
  our own send) — a second copy only moves the stored status forward;
- a status only moves forward in Twilio's order (:mod:`desktop.domain.status`), and a
  status for a SID we do not know yet is parked and applied when the message arrives;
- the conversation's summary (snippet, time, unread badge, opt-out) follows its messages.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from desktop.domain import optout, status
from desktop.domain.events import (
    ConversationChanged,
    MediaChanged,
    MessageAdded,
    MessageChanged,
)
from desktop.domain.models import (
    Direction,
    MediaRef,
    NewMessage,
    StatusUpdate,
    media_sid_from_url,
)
from desktop.store.writer import Tx

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 120


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class InsertResult:
    message_id: int
    conversation_id: int
    created: bool


# -- conversations ---------------------------------------------------------------------------


def ensure_conversation(tx: Tx, our_number: str, contact_number: str) -> int:
    tx.execute(
        "INSERT INTO contacts (e164) VALUES (?) ON CONFLICT (e164) DO NOTHING", (contact_number,)
    )
    contact_id = tx.execute("SELECT id FROM contacts WHERE e164 = ?", (contact_number,)).fetchone()[
        0
    ]
    row = tx.execute(
        "SELECT id FROM conversations WHERE contact_id = ? AND our_number = ?",
        (contact_id, our_number),
    ).fetchone()
    if row is not None:
        return int(row[0])
    cursor = tx.execute(
        "INSERT INTO conversations (contact_id, our_number, created_at) VALUES (?, ?, ?)",
        (contact_id, our_number, now_ms()),
    )
    return int(cursor.lastrowid or 0)


def snippet_for(body: str, media: tuple[MediaRef, ...] | list[str]) -> str:
    text = " ".join(body.split())
    if text:
        return text[:SNIPPET_CHARS]
    if not media:
        return ""
    types = [m.content_type if isinstance(m, MediaRef) else m for m in media]
    if all(t.startswith("image/") for t in types):
        return "Picture" if len(types) == 1 else f"{len(types)} pictures"
    return "Attachment"


def _refresh_summary(tx: Tx, conversation_id: int) -> None:
    """Point the conversation at its newest message (by time, then id)."""
    tx.execute(
        """
        UPDATE conversations SET
            last_message_id = m.id, last_message_at = m.created_at,
            last_direction = m.direction, last_status = m.status
        FROM (SELECT id, created_at, direction, status FROM messages
              WHERE conversation_id = ? ORDER BY created_at DESC, id DESC LIMIT 1) AS m
        WHERE conversations.id = ?
        """,
        (conversation_id, conversation_id),
    )


def mark_read(tx: Tx, conversation_id: int) -> None:
    cursor = tx.execute(
        "UPDATE conversations SET unread_count = 0 WHERE id = ? AND unread_count != 0",
        (conversation_id,),
    )
    if cursor.rowcount:
        tx.emit(ConversationChanged(conversation_id))


def rename_contact(tx: Tx, conversation_id: int, name: str) -> None:
    name = " ".join(name.split())[:100]
    tx.execute(
        "UPDATE contacts SET name = ? WHERE id = (SELECT contact_id FROM conversations "
        "WHERE id = ?)",
        (name, conversation_id),
    )
    rows = tx.execute(
        "SELECT id FROM conversations WHERE contact_id = (SELECT contact_id FROM "
        "conversations WHERE id = ?)",
        (conversation_id,),
    ).fetchall()
    for (other_id,) in rows:
        tx.emit(ConversationChanged(int(other_id)))


def set_opted_out(tx: Tx, our_number: str, contact_number: str, opted_out: bool) -> int:
    conversation_id = ensure_conversation(tx, our_number, contact_number)
    cursor = tx.execute(
        "UPDATE conversations SET opted_out = ? WHERE id = ? AND opted_out != ?",
        (int(opted_out), conversation_id, int(opted_out)),
    )
    if cursor.rowcount:
        logger.info("Conversation %d opted %s", conversation_id, "out" if opted_out else "in")
        tx.emit(ConversationChanged(conversation_id))
    return conversation_id


# -- messages -------------------------------------------------------------------------------


def insert_message(tx: Tx, msg: NewMessage) -> InsertResult:
    """Store ``msg`` once; a known SID only moves the stored status forward."""
    if msg.sid:
        row = tx.execute(
            "SELECT id, conversation_id FROM messages WHERE sid = ?", (msg.sid,)
        ).fetchone()
        if row is not None:
            apply_status(
                tx,
                StatusUpdate(msg.sid, msg.status, msg.error_code),
                inbound=msg.direction is Direction.INBOUND,
            )
            return InsertResult(int(row[0]), int(row[1]), created=False)
        if msg.direction is Direction.OUTBOUND:
            from desktop.store import auto_replies, outbox_writes  # they import this module

            earlier = outbox_writes.earlier_attempt(tx, msg.sid)
            if earlier is not None:  # an attempt "Send again" replaced: nothing to store
                return InsertResult(earlier[0], earlier[1], created=False)

            adopted = _adopt_unconfirmed_send(tx, msg) or auto_replies.adopt(tx, msg)
            if adopted is not None:
                return adopted

    conversation_id = ensure_conversation(tx, msg.our_number, msg.contact_number)
    now = now_ms()
    cursor = tx.execute(
        """
        INSERT INTO messages (
            sid, conversation_id, direction, from_number, to_number, body, status,
            status_rank, error_code, num_segments, num_media,
            from_city, from_state, from_zip, from_country,
            to_city, to_state, to_zip, to_country,
            messaging_service_sid, source, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            msg.sid,
            conversation_id,
            msg.direction.value,
            msg.from_number,
            msg.to_number,
            msg.body,
            msg.status,
            status.rank(msg.status),
            msg.error_code,
            msg.num_segments,
            len(msg.media),
            msg.from_geo.city,
            msg.from_geo.state,
            msg.from_geo.zip,
            msg.from_geo.country,
            msg.to_geo.city,
            msg.to_geo.state,
            msg.to_geo.zip,
            msg.to_geo.country,
            msg.messaging_service_sid,
            msg.source.value,
            msg.created_at_ms,
            now,
        ),
    )
    message_id = int(cursor.lastrowid or 0)
    if msg.media:
        tx.conn.executemany(
            "INSERT INTO media (message_id, idx, media_sid, content_type, url, state) "
            "VALUES (?, ?, ?, ?, ?, 'pending')",
            [
                (message_id, m.index, media_sid_from_url(m.url), m.content_type, m.url)
                for m in msg.media
            ],
        )
    if msg.sid:
        _apply_parked_status(tx, msg.sid)
    after_new_message(
        tx,
        conversation_id,
        message_id,
        snippet_for(msg.body, msg.media),
        unread=msg.direction is Direction.INBOUND and msg.unread,
    )

    if msg.direction is Direction.INBOUND:
        keyword = optout.keyword_for(msg.body, msg.opt_out_type)
        if keyword is optout.Keyword.OPT_OUT:
            set_opted_out(tx, msg.our_number, msg.contact_number, True)
        elif keyword is optout.Keyword.OPT_IN:
            set_opted_out(tx, msg.our_number, msg.contact_number, False)
    tx.emit(
        MessageAdded(
            message_id=message_id,
            conversation_id=conversation_id,
            direction=msg.direction.value,
            source=msg.source.value,
            num_media=len(msg.media),
            notify=msg.direction is Direction.INBOUND and msg.unread,
        )
    )
    return InsertResult(message_id, conversation_id, created=True)


def after_new_message(
    tx: Tx, conversation_id: int, message_id: int, snippet: str, *, unread: bool
) -> None:
    tx.execute(
        """
        UPDATE conversations SET
            last_message_id = m.id, last_message_at = m.created_at,
            last_direction = m.direction, last_status = m.status, snippet = ?
        FROM (SELECT id, created_at, direction, status FROM messages WHERE id = ?) AS m
        WHERE conversations.id = ?
          AND (m.created_at > conversations.last_message_at
               OR (m.created_at = conversations.last_message_at
                   AND m.id > coalesce(conversations.last_message_id, 0)))
        """,
        (snippet, message_id, conversation_id),
    )
    if unread:
        tx.execute(
            "UPDATE conversations SET unread_count = unread_count + 1 WHERE id = ?",
            (conversation_id,),
        )


def _adopt_unconfirmed_send(tx: Tx, msg: NewMessage) -> InsertResult | None:
    """A message in Twilio's log that is one of our sends whose outcome we never heard.

    The outbox marks such sends ``sending``/``unknown``; matching them here (same numbers,
    same body) means the backfill and the outbox agree on one row instead of two.
    """
    row = tx.execute(
        """
        SELECT m.id, m.conversation_id FROM messages m JOIN outbox o ON o.message_id = m.id
        WHERE m.sid IS NULL AND o.state IN ('sending', 'unknown')
          AND m.from_number = ? AND m.to_number = ? AND m.body = ?
        ORDER BY m.id LIMIT 1
        """,
        (msg.from_number, msg.to_number, msg.body),
    ).fetchone()
    if row is None:
        return None
    message_id, conversation_id = int(row[0]), int(row[1])
    assert msg.sid is not None
    mark_sent(tx, message_id, msg.sid, msg.status)
    if msg.error_code is not None:
        apply_status(tx, StatusUpdate(msg.sid, msg.status, msg.error_code))
    return InsertResult(message_id, conversation_id, created=False)


def apply_status(tx: Tx, update: StatusUpdate, *, inbound: bool = False) -> bool:
    """Move an outbound message's status forward; park it when the message is not stored yet.

    Status callbacks (and statuses seen while polling) only ever touch OUTBOUND messages: a
    signed callback naming an inbound SID changes nothing.  ``inbound=True`` is only for a
    second copy of an inbound message itself (a backfill of what a webhook stored).
    """
    row = tx.execute(
        "SELECT id, conversation_id, status_rank, error_code, direction FROM messages "
        "WHERE sid = ?",
        (update.sid,),
    ).fetchone()
    new_rank = status.rank(update.status)
    if row is not None and (row[4] == Direction.INBOUND.value) != inbound:
        logger.warning("Ignored a status for %s: it is not an outbound message", update.sid)
        return False
    if row is None and inbound:
        return False
    if row is None:
        if tx.execute("SELECT 1 FROM earlier_sids WHERE sid = ?", (update.sid,)).fetchone():
            return False  # news of an attempt "Send again" replaced: the message moved on
        tx.execute(
            """
            INSERT INTO pending_status (sid, status, status_rank, error_code, received_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (sid) DO UPDATE SET
                status = excluded.status, status_rank = excluded.status_rank,
                error_code = coalesce(excluded.error_code, pending_status.error_code)
            WHERE excluded.status_rank > pending_status.status_rank
            """,
            (update.sid, update.status, new_rank, update.error_code, now_ms()),
        )
        return False
    message_id, conversation_id, old_rank, old_error = (
        int(row[0]),
        int(row[1]),
        int(row[2]),
        row[3],
    )
    if new_rank > old_rank:
        tx.execute(
            "UPDATE messages SET status = ?, status_rank = ?, "
            "error_code = coalesce(?, error_code), updated_at = ? WHERE id = ?",
            (update.status, new_rank, update.error_code, now_ms(), message_id),
        )
    elif update.error_code is not None and old_error is None and new_rank == old_rank:
        tx.execute(
            "UPDATE messages SET error_code = ?, updated_at = ? WHERE id = ?",
            (update.error_code, now_ms(), message_id),
        )
    else:
        return False
    current = tx.execute(
        "SELECT status, error_code FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    tx.execute(
        "UPDATE conversations SET last_status = ? WHERE id = ? AND last_message_id = ?",
        (current[0], conversation_id, message_id),
    )
    tx.emit(MessageChanged(message_id, conversation_id, current[0], current[1]))
    return True


def _apply_parked_status(tx: Tx, sid: str) -> None:
    parked = tx.execute(
        "SELECT status, error_code FROM pending_status WHERE sid = ?", (sid,)
    ).fetchone()
    if parked is not None:
        tx.execute("DELETE FROM pending_status WHERE sid = ?", (sid,))
        apply_status(tx, StatusUpdate(sid, parked[0], parked[1]))


# -- the outbox -------------------------------------------------------------------------------


def emit_message_changed(tx: Tx, message_id: int) -> None:
    row = tx.execute(
        "SELECT conversation_id, status, error_code FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is not None:
        tx.emit(MessageChanged(message_id, int(row[0]), row[1], row[2]))


def mark_sent(
    tx: Tx, message_id: int, sid: str, new_status: str, error_code: int | None = None
) -> None:
    """Twilio accepted the message: remember its SID; merge a copy a backfill already stored."""
    other = tx.execute(
        "SELECT id, status FROM messages WHERE sid = ? AND id != ?", (sid, message_id)
    ).fetchone()
    carried_status: str | None = None
    if other is not None:
        carried_status = str(other[1])
        if not _unadopt(tx, int(other[0])):
            tx.execute("DELETE FROM messages WHERE id = ?", (other[0],))
    tx.execute(
        "UPDATE messages SET sid = ?, updated_at = ? WHERE id = ?", (sid, now_ms(), message_id)
    )
    tx.execute(
        "UPDATE outbox SET state = 'sent', last_error = '', error_code = NULL WHERE message_id = ?",
        (message_id,),
    )
    changed = apply_status(tx, StatusUpdate(sid, new_status, error_code))
    if carried_status is not None:
        changed = apply_status(tx, StatusUpdate(sid, carried_status)) or changed
    _apply_parked_status(tx, sid)
    if other is not None:
        row = tx.execute(
            "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        _refresh_summary(tx, int(row[0]))
    if not changed:
        emit_message_changed(tx, message_id)


# -- media ---------------------------------------------------------------------------------


def _emit_media(tx: Tx, media_id: int, state: str) -> None:
    row = tx.execute(
        "SELECT m.id, m.conversation_id FROM media JOIN messages m ON m.id = media.message_id "
        "WHERE media.id = ?",
        (media_id,),
    ).fetchone()
    if row is not None:
        tx.emit(MediaChanged(media_id, int(row[0]), int(row[1]), state))


def media_stored(
    tx: Tx,
    media_id: int,
    *,
    file: str,
    thumbnail: str | None,
    content_type: str,
    size: int,
    width: int | None,
    height: int | None,
) -> None:
    tx.execute(
        "UPDATE media SET state = 'done', file = ?, thumbnail = ?, content_type = ?, size = ?, "
        "width = ?, height = ?, last_error = '' WHERE id = ?",
        (file, thumbnail, content_type, size, width, height, media_id),
    )
    _emit_media(tx, media_id, "done")


def media_attempt_failed(
    tx: Tx, media_id: int, error: str, *, next_attempt_at_ms: int | None, refused: bool = False
) -> None:
    """Retry later (``next_attempt_at_ms``), or give up (``None``) and keep the reason visible."""
    new_state = (
        "refused" if refused else ("pending" if next_attempt_at_ms is not None else "failed")
    )
    tx.execute(
        "UPDATE media SET state = ?, attempts = attempts + 1, next_attempt_at = ?, "
        "last_error = ? WHERE id = ?",
        (new_state, next_attempt_at_ms or 0, error[:500], media_id),
    )
    _emit_media(tx, media_id, new_state)


def retry_media(tx: Tx, media_id: int) -> None:
    tx.execute(
        "UPDATE media SET state = 'pending', next_attempt_at = 0, attempts = 0 "
        "WHERE id = ? AND state = 'failed'",
        (media_id,),
    )
    _emit_media(tx, media_id, "pending")


# -- numbers and sync bookkeeping ------------------------------------------------------------


def save_our_numbers(tx: Tx, numbers: list[tuple[str, str, str, bool, bool, str]]) -> None:
    """Replace the cached list of the account's numbers: (e164, sid, name, sms, mms, sms_url)."""
    now = now_ms()
    tx.execute("DELETE FROM our_numbers")
    tx.conn.executemany(
        "INSERT INTO our_numbers (e164, sid, friendly_name, sms, mms, sms_url, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (e164, sid, name, int(sms), int(mms), url, now)
            for e164, sid, name, sms, mms, url in numbers
        ],
    )


def set_sync_value(tx: Tx, key: str, value: object) -> None:
    tx.execute(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )


def _unadopt(tx: Tx, message_id: int) -> bool:
    """Another of our sends had wrongly adopted this SID (two identical texts in flight).

    Deleting it would silently lose a message staff typed; instead it goes back to
    ``unknown`` without a SID, and the outbox checks Twilio's log for it again.
    """
    if tx.execute("SELECT 1 FROM outbox WHERE message_id = ?", (message_id,)).fetchone() is None:
        return False
    tx.execute(
        "UPDATE messages SET sid = NULL, status = ?, status_rank = ?, error_code = NULL, "
        "updated_at = ? WHERE id = ?",
        (status.LOCAL_PENDING, status.rank(status.LOCAL_PENDING), now_ms(), message_id),
    )
    tx.execute(
        "UPDATE outbox SET state = 'unknown', next_attempt_at = 0 WHERE message_id = ?",
        (message_id,),
    )
    logger.info("Message %d had adopted another send's SID; checking it again", message_id)
    emit_message_changed(tx, message_id)
    return True


def name_contact_if_unnamed(tx: Tx, e164: str, name: str) -> None:
    """Give a contact a name unless the user already chose one (used by the demo)."""
    tx.execute(
        "INSERT INTO contacts (e164, name) VALUES (?, ?) "
        "ON CONFLICT (e164) DO UPDATE SET name = excluded.name WHERE contacts.name = ''",
        (e164, name),
    )
    rows = tx.execute(
        "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.e164 = ?",
        (e164,),
    ).fetchall()
    for (conversation_id,) in rows:
        tx.emit(ConversationChanged(int(conversation_id)))
