"""Scheduled texts in the store: queue one, and every step until it goes out or is canceled.

A scheduled text is an ordinary outbound message with an outbox row plus a row in
``scheduled``.  For a text the outbox sends itself (``local``) the outbox row is due at the
text's time, so nothing else needs to change for it to go out then; for one Twilio holds
(``twilio``) the outbox row is due at once and the send carries ``SendAt``.

Canceling never waits on the network here: a local text is canceled in the same
transaction, a Twilio-held one is marked ``canceling`` and the outbox worker asks Twilio
(``Status=canceled``) and records the answer.  Jobs for the writer take a ``Tx``; the
reads take a connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final

from desktop.domain import status
from desktop.domain.events import OutboxQueued
from desktop.domain.schedule import Holder
from desktop.store import outbox_writes
from desktop.store.writer import Tx
from desktop.store.writes import InsertResult, emit_message_changed, now_ms

#: Why texts were canceled, as the thread shows it.
CANCELED_BY_STAFF: Final = "Canceled by you."
CANCELED_BY_STOP: Final = "Canceled: the customer replied STOP."
CANCELED_BY_EDIT: Final = "Canceled: replaced by the edited text."
CANCELED_LATE: Final = "Canceled: it was not sent on time."
#: Message statuses of a text that has not left yet.
WAITING: Final = (status.LOCAL_PENDING, "scheduled")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A message's schedule as the outbox and the thread need it."""

    message_id: int
    send_at: int
    kind: Holder
    state: str
    approved_late: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ScheduledText:
    """A text still waiting (for its time, for a cancel, or for staff after being late)."""

    message_id: int
    conversation_id: int
    our_number: str
    contact_number: str
    body: str
    send_at: int
    kind: Holder
    state: str
    sid: str | None
    status: str


_SCHEDULE_SELECT: Final = (
    "SELECT message_id, send_at, kind, state, approved_late, reason FROM scheduled"
)


def _schedule(row: tuple[object, ...]) -> Schedule:
    return Schedule(
        int(str(row[0])),
        int(str(row[1])),
        Holder(str(row[2])),
        str(row[3]),
        bool(row[4]),
        str(row[5]),
    )


# -- reads ------------------------------------------------------------------------------------


def schedule_of(conn: sqlite3.Connection, message_id: int) -> Schedule | None:
    row = conn.execute(_SCHEDULE_SELECT + " WHERE message_id = ?", (message_id,)).fetchone()
    return None if row is None else _schedule(tuple(row))


def schedules_for(conn: sqlite3.Connection, message_ids: list[int]) -> dict[int, Schedule]:
    if not message_ids:
        return {}
    marks = ",".join("?" * len(message_ids))
    rows = conn.execute(
        _SCHEDULE_SELECT + f" WHERE message_id IN ({marks})",
        message_ids,
    ).fetchall()
    return {int(r[0]): _schedule(tuple(r)) for r in rows}


_OPEN_SELECT: Final = """
    SELECT s.message_id, m.conversation_id, m.from_number, m.to_number, m.body, s.send_at,
           s.kind, s.state, m.sid, m.status
    FROM scheduled s JOIN messages m ON m.id = s.message_id
"""


def _texts(rows: list[sqlite3.Row] | list[tuple[object, ...]]) -> list[ScheduledText]:
    return [
        ScheduledText(
            int(str(r[0])),
            int(str(r[1])),
            str(r[2]),
            str(r[3]),
            str(r[4]),
            int(str(r[5])),
            Holder(str(r[6])),
            str(r[7]),
            None if r[8] is None else str(r[8]),
            str(r[9]),
        )
        for r in rows
    ]


def waiting(conn: sqlite3.Connection, conversation_id: int | None = None) -> list[ScheduledText]:
    """Texts not sent yet (due, late or being canceled), soonest first."""
    where = " WHERE s.state IN ('pending', 'late', 'canceling') AND m.status IN (?, ?)" + (
        " AND m.conversation_id = ?" if conversation_id is not None else ""
    )
    params: tuple[object, ...] = WAITING + (
        (conversation_id,) if conversation_id is not None else ()
    )
    rows = conn.execute(_OPEN_SELECT + where + " ORDER BY s.send_at, s.message_id", params)
    return _texts(rows.fetchall())


def late(conn: sqlite3.Connection) -> list[ScheduledText]:
    """Texts found more than an hour past their time: staff decide (send now / cancel)."""
    rows = conn.execute(
        _OPEN_SELECT + " WHERE s.state = 'late' ORDER BY s.send_at, s.message_id"
    ).fetchall()
    return _texts(rows)


def to_cancel_at_twilio(conn: sqlite3.Connection) -> list[ScheduledText]:
    """Canceled by staff or by a STOP while Twilio holds them: Twilio must be told."""
    rows = conn.execute(
        _OPEN_SELECT + " WHERE s.state = 'canceling' AND m.sid IS NOT NULL ORDER BY s.message_id"
    ).fetchall()
    return _texts(rows)


# -- writes -----------------------------------------------------------------------------------


def queue_scheduled(
    tx: Tx,
    our_number: str,
    contact_number: str,
    body: str,
    send_at_ms: int,
    kind: Holder,
    attachments: tuple[outbox_writes.OutgoingAttachment, ...] = (),
    num_segments: int = 1,
) -> InsertResult:
    """A text to go out at ``send_at_ms``: the message, its outbox row and its schedule."""
    result = outbox_writes.queue_outbound(
        tx, our_number, contact_number, body, attachments, num_segments
    )
    _hold_in_outbox(tx, result.message_id, send_at_ms, kind)
    tx.execute(
        "INSERT INTO scheduled (message_id, send_at, kind, updated_at) VALUES (?, ?, ?, ?)",
        (result.message_id, send_at_ms, kind.value, now_ms()),
    )
    return result


def _hold_in_outbox(tx: Tx, message_id: int, send_at_ms: int, kind: Holder) -> None:
    # A local text is due at its time; its age (for the outbox's give-up rule) counts from
    # then.  A Twilio-held one is handed over at once.
    if kind is Holder.LOCAL:
        tx.execute(
            "UPDATE outbox SET next_attempt_at = ?, created_at = ? WHERE message_id = ?",
            (send_at_ms, send_at_ms, message_id),
        )
    else:
        tx.execute("UPDATE outbox SET next_attempt_at = 0 WHERE message_id = ?", (message_id,))


def _set(tx: Tx, message_id: int, state: str, reason: str | None = None) -> None:
    if reason is None:
        tx.execute(
            "UPDATE scheduled SET state = ?, updated_at = ? WHERE message_id = ?",
            (state, now_ms(), message_id),
        )
    else:
        tx.execute(
            "UPDATE scheduled SET state = ?, reason = ?, updated_at = ? WHERE message_id = ?",
            (state, reason, now_ms(), message_id),
        )


def mark_late(tx: Tx, message_id: int) -> None:
    """Found more than an hour past its time: take it out of the outbox until staff decide."""
    tx.execute("DELETE FROM outbox WHERE message_id = ?", (message_id,))
    _set(tx, message_id, "late")
    emit_message_changed(tx, message_id)


def send_late_now(tx: Tx, message_id: int) -> bool:
    """Staff said "send now" to a late text; False when it is no longer late."""
    row = tx.execute(
        "SELECT m.conversation_id FROM scheduled s JOIN messages m ON m.id = s.message_id "
        "WHERE s.message_id = ? AND s.state = 'late'",
        (message_id,),
    ).fetchone()
    if row is None:
        return False
    now = now_ms()
    tx.execute(
        "UPDATE scheduled SET state = 'pending', approved_late = 1, updated_at = ? "
        "WHERE message_id = ?",
        (now, message_id),
    )
    tx.execute(
        "INSERT INTO outbox (message_id, state, created_at) VALUES (?, 'queued', ?) "
        "ON CONFLICT (message_id) DO UPDATE SET state = 'queued', next_attempt_at = 0, "
        "created_at = excluded.created_at",
        (message_id, now),
    )
    emit_message_changed(tx, message_id)
    tx.emit(OutboxQueued(message_id, int(row[0])))
    return True


def mark_sent_locally(tx: Tx, message_id: int) -> None:
    """The outbox handed a local text to Twilio: its schedule is over."""
    _set(tx, message_id, "done")


def cancel(tx: Tx, message_id: int, reason: str) -> str:
    """Cancel a text that has not gone out: "canceled" (done now), "canceling" (Twilio holds
    it: the outbox tells Twilio) or "" (nothing to cancel: it already left or never was)."""
    row = tx.execute(
        """
        SELECT s.kind, s.state, m.sid, m.status, o.state
        FROM scheduled s JOIN messages m ON m.id = s.message_id
        LEFT JOIN outbox o ON o.message_id = s.message_id
        WHERE s.message_id = ?
        """,
        (message_id,),
    ).fetchone()
    if row is None or row[1] not in ("pending", "late") or row[3] not in WAITING:
        return ""
    sid, outbox_state = row[2], row[4]
    if sid is None and outbox_state in (None, "queued", "failed"):
        cancel_here(tx, message_id, reason)
        return "canceled"
    # Twilio holds it, or a hand-over may have reached Twilio: the outbox finds out.
    _set(tx, message_id, "canceling", reason)
    emit_message_changed(tx, message_id)
    conversation = tx.execute(
        "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    tx.emit(OutboxQueued(message_id, int(conversation[0])))  # wakes the outbox
    return "canceling"


def cancel_here(tx: Tx, message_id: int, reason: str | None = None) -> None:
    """The text never reached Twilio: stop it here and show it canceled."""
    tx.execute("DELETE FROM outbox WHERE message_id = ?", (message_id,))
    _set(tx, message_id, "canceled", reason)
    _show_canceled(tx, message_id)


def confirm_canceled(tx: Tx, message_id: int) -> None:
    """Twilio confirmed the cancel (or reported the text canceled)."""
    _set(tx, message_id, "canceled")
    _show_canceled(tx, message_id)


def cancel_refused(tx: Tx, message_id: int, text: str) -> None:
    """Twilio could not cancel (the text already left): keep its real status, say why."""
    _set(tx, message_id, "done", text)
    emit_message_changed(tx, message_id)


def _show_canceled(tx: Tx, message_id: int) -> None:
    canceled = "canceled"
    tx.execute(
        "UPDATE messages SET status = ?, status_rank = ?, updated_at = ? "
        "WHERE id = ? AND status_rank < ?",
        (canceled, status.rank(canceled), now_ms(), message_id, status.rank(canceled)),
    )
    row = tx.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is not None:
        tx.execute(
            "UPDATE conversations SET last_status = ? WHERE id = ? AND last_message_id = ?",
            (canceled, row[0], message_id),
        )
    emit_message_changed(tx, message_id)


def hold_locally(tx: Tx, message_id: int) -> None:
    """Twilio cannot hold this one (no service any more, or too close to its time):
    the outbox sends it when due."""
    row = tx.execute("SELECT send_at FROM scheduled WHERE message_id = ?", (message_id,)).fetchone()
    if row is None:
        return
    tx.execute(
        "UPDATE scheduled SET kind = 'local', updated_at = ? WHERE message_id = ?",
        (now_ms(), message_id),
    )
    tx.execute(
        "UPDATE outbox SET state = 'queued', last_error = '', error_code = NULL "
        "WHERE message_id = ?",
        (message_id,),
    )
    _hold_in_outbox(tx, message_id, int(row[0]), Holder.LOCAL)
    emit_message_changed(tx, message_id)


def edit_in_place(
    tx: Tx, message_id: int, body: str, send_at_ms: int, segments: int, kind: Holder
) -> bool:
    """Change the text and time of a text not handed to Twilio yet; False when it cannot
    be changed in place (Twilio holds it: cancel and schedule anew; or it already left)."""
    row = tx.execute(
        """
        SELECT s.kind, s.state, m.sid, o.state FROM scheduled s
        JOIN messages m ON m.id = s.message_id
        LEFT JOIN outbox o ON o.message_id = s.message_id
        WHERE s.message_id = ?
        """,
        (message_id,),
    ).fetchone()
    if row is None or row[2] is not None or row[1] not in ("pending", "late"):
        return False
    if row[3] not in (None, "queued"):
        return False
    tx.execute(
        "UPDATE messages SET body = ?, num_segments = ?, updated_at = ? WHERE id = ?",
        (body, segments, now_ms(), message_id),
    )
    tx.execute(
        "UPDATE scheduled SET send_at = ?, kind = ?, state = 'pending', approved_late = 0, "
        "updated_at = ? WHERE message_id = ?",
        (send_at_ms, kind.value, now_ms(), message_id),
    )
    tx.execute(
        "INSERT INTO outbox (message_id, state, created_at) VALUES (?, 'queued', ?) "
        "ON CONFLICT (message_id) DO NOTHING",
        (message_id, send_at_ms),
    )
    _hold_in_outbox(tx, message_id, send_at_ms, kind)
    emit_message_changed(tx, message_id)
    return True


def cancel_for_opted_out(tx: Tx) -> int:
    """A STOP cancels what is waiting for that customer (both kinds); how many were."""
    rows = tx.execute(
        """
        SELECT s.message_id FROM scheduled s
        JOIN messages m ON m.id = s.message_id
        JOIN conversations c ON c.id = m.conversation_id
        WHERE c.opted_out = 1 AND s.state IN ('pending', 'late') AND m.status IN (?, ?)
        """,
        WAITING,
    ).fetchall()
    return sum(1 for (message_id,) in rows if cancel(tx, int(message_id), CANCELED_BY_STOP))
