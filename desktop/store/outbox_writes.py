"""The outbox's side of the store: a message queued for sending, and each step of its send.

These are jobs for :class:`~desktop.store.writer.StoreWriter`, like everything in
:mod:`desktop.store.writes`.  The rules for exactly-once sending live here: a row is marked
``sending`` *before* the request leaves, so after a crash it is known that the request may
have reached Twilio; such rows become ``unknown`` and are looked up in Twilio's log before
any retry.  Assigning the SID Twilio returned (``writes.mark_sent``) stays with the other
message writes, because a backfill that finds an unconfirmed send takes the same path.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.domain import status
from desktop.domain.events import MessageAdded, OutboxQueued
from desktop.domain.models import Direction, Source
from desktop.store.writer import Tx
from desktop.store.writes import (
    InsertResult,
    after_new_message,
    emit_message_changed,
    ensure_conversation,
    now_ms,
    snippet_for,
)


@dataclass(frozen=True, slots=True)
class OutgoingAttachment:
    """A file the user attached, already copied into the data folder."""

    file: str
    content_type: str
    size: int


def queue_outbound(
    tx: Tx,
    our_number: str,
    contact_number: str,
    body: str,
    attachments: tuple[OutgoingAttachment, ...] = (),
    num_segments: int = 1,
) -> InsertResult:
    """Write the message and its outbox row in one transaction: it will be sent, or fail visibly."""
    conversation_id = ensure_conversation(tx, our_number, contact_number)
    now = now_ms()
    cursor = tx.execute(
        """
        INSERT INTO messages (sid, conversation_id, direction, from_number, to_number, body,
            status, status_rank, num_segments, num_media, source, created_at, updated_at)
        VALUES (NULL, ?, 'outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            conversation_id,
            our_number,
            contact_number,
            body,
            status.LOCAL_PENDING,
            status.rank(status.LOCAL_PENDING),
            num_segments,
            len(attachments),
            Source.APP.value,
            now,
            now,
        ),
    )
    message_id = int(cursor.lastrowid or 0)
    for index, attachment in enumerate(attachments):
        tx.execute(
            "INSERT INTO media (message_id, idx, content_type, file, size, state) "
            "VALUES (?, ?, ?, ?, ?, 'done')",
            (message_id, index, attachment.content_type, attachment.file, attachment.size),
        )
    tx.execute(
        "INSERT INTO outbox (message_id, state, created_at) VALUES (?, 'queued', ?)",
        (message_id, now),
    )
    after_new_message(
        tx,
        conversation_id,
        message_id,
        snippet_for(body, [a.content_type for a in attachments]),
        unread=False,
    )
    tx.emit(
        MessageAdded(
            message_id,
            conversation_id,
            Direction.OUTBOUND.value,
            Source.APP.value,
            len(attachments),
            notify=False,
        )
    )
    tx.emit(OutboxQueued(message_id, conversation_id))
    return InsertResult(message_id, conversation_id, created=True)


def mark_sending(tx: Tx, message_id: int) -> None:
    """Recorded *before* the request goes out: after a crash we know it may have reached Twilio."""
    now = now_ms()
    tx.execute(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
        "first_attempt_at = coalesce(first_attempt_at, ?) WHERE message_id = ?",
        (now, message_id),
    )


def mark_retry(
    tx: Tx, message_id: int, error: str, next_attempt_at_ms: int, *, maybe_sent: bool
) -> None:
    """A temporary failure; ``maybe_sent`` when the request may have reached Twilio."""
    tx.execute(
        "UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ? WHERE message_id = ?",
        ("unknown" if maybe_sent else "queued", error, next_attempt_at_ms, message_id),
    )
    emit_message_changed(tx, message_id)


def mark_failed(tx: Tx, message_id: int, error: str, error_code: int | None) -> None:
    """A permanent failure: stop retrying and show why."""
    tx.execute(
        "UPDATE outbox SET state = 'failed', last_error = ?, error_code = ? WHERE message_id = ?",
        (error, error_code, message_id),
    )
    tx.execute(
        "UPDATE messages SET status = ?, status_rank = ?, error_code = ?, updated_at = ? "
        "WHERE id = ? AND sid IS NULL",
        (status.LOCAL_FAILED, status.rank(status.LOCAL_FAILED), error_code, now_ms(), message_id),
    )
    row = tx.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is not None:
        tx.execute(
            "UPDATE conversations SET last_status = ? WHERE id = ? AND last_message_id = ?",
            (status.LOCAL_FAILED, row[0], message_id),
        )
    emit_message_changed(tx, message_id)


def requeue(tx: Tx, message_id: int) -> bool:
    """Staff pressed Retry or Send again on a failed text: the same row goes out again.

    A send Twilio refused has no SID and its outbox row says ``failed``.  A text Twilio
    accepted but could not deliver keeps its bubble too: its SID moves to
    ``earlier_sids`` (so a backfill that lists the old attempt later finds this message,
    not a stranger) and the row is queued as new.  The outbox row starts afresh, so a
    text that once gave up after hours of no connection is not given up on at once.
    False when there is nothing to retry (already being sent, or not failed).
    """
    row = tx.execute(
        "SELECT m.sid, m.status, m.error_code, m.direction, m.conversation_id, o.state "
        "FROM messages m LEFT JOIN outbox o ON o.message_id = m.id WHERE m.id = ?",
        (message_id,),
    ).fetchone()
    if row is None or row[3] != Direction.OUTBOUND.value:
        return False
    sid, old_status, old_code, _direction, conversation_id, state = row
    now = now_ms()
    if sid is None:
        if state != "failed":
            return False
    else:
        if not status.is_failure(str(old_status)):
            return False
        tx.execute(
            "INSERT INTO earlier_sids (sid, message_id, status, error_code, replaced_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid) DO NOTHING",
            (sid, message_id, old_status, old_code, now),
        )
        tx.execute("UPDATE messages SET sid = NULL WHERE id = ?", (message_id,))
    tx.execute(
        """
        INSERT INTO outbox (message_id, state, created_at) VALUES (?, 'queued', ?)
        ON CONFLICT (message_id) DO UPDATE SET state = 'queued', attempts = 0,
            next_attempt_at = 0, first_attempt_at = NULL, last_error = '', error_code = NULL,
            created_at = excluded.created_at
        """,
        (message_id, now),
    )
    tx.execute(
        "UPDATE messages SET status = ?, status_rank = ?, error_code = NULL, updated_at = ? "
        "WHERE id = ?",
        (status.LOCAL_PENDING, status.rank(status.LOCAL_PENDING), now, message_id),
    )
    tx.execute(
        "UPDATE conversations SET last_status = ? WHERE id = ? AND last_message_id = ?",
        (status.LOCAL_PENDING, conversation_id, message_id),
    )
    emit_message_changed(tx, message_id)
    tx.emit(OutboxQueued(message_id, int(conversation_id)))
    return True


def earlier_attempt(tx: Tx, sid: str) -> tuple[int, int] | None:
    """(message id, conversation id) of the message a replaced attempt's SID belongs to."""
    row = tx.execute(
        "SELECT m.id, m.conversation_id FROM earlier_sids e JOIN messages m ON m.id = e.message_id "
        "WHERE e.sid = ?",
        (sid,),
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def recover_interrupted_sends(tx: Tx) -> int:
    """After a crash or quit mid-request, a ``sending`` row may have reached Twilio.

    Marking it ``unknown`` makes the outbox look in Twilio's log before sending again.
    """
    cursor = tx.execute(
        "UPDATE outbox SET state = 'unknown', next_attempt_at = 0 WHERE state = 'sending'"
    )
    return int(cursor.rowcount or 0)


def claim_for_sending(tx: Tx, message_id: int) -> bool:
    """``mark_sending`` only if the row still waits to be sent (a backfill may have adopted it)."""
    row = tx.execute("SELECT state FROM outbox WHERE message_id = ?", (message_id,)).fetchone()
    if row is None or row[0] not in ("queued", "unknown", "sending"):
        return False
    mark_sending(tx, message_id)
    return True


def settle_if_adopted(tx: Tx, message_id: int) -> bool:
    """True when the message already has a SID (a backfill adopted it during a request).

    Its outbox row then says ``sent``, whatever the request's own outcome was: a late
    timeout must neither send it again nor show it as failed.
    """
    row = tx.execute("SELECT sid FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None or row[0] is None:
        return False
    cursor = tx.execute(
        "UPDATE outbox SET state = 'sent', last_error = '', error_code = NULL "
        "WHERE message_id = ? AND state != 'sent'",
        (message_id,),
    )
    if cursor.rowcount:
        emit_message_changed(tx, message_id)
    return True
