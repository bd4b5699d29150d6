"""Automatic replies in the store: answered in the webhook's own commit, found again later.

The webhook path stores the customer's text and, in the same transaction, our TwiML
answer as an outbound message marked ``automatic`` with no SID yet (Twilio gives the
reply its own SID only when it sends it).  When a backfill later lists Twilio's record of
that reply (direction ``outbound-reply``, same conversation and body, a moment later),
:func:`adopt` gives the stored row its SID and status instead of adding a second bubble.

When each customer last got the away message is kept in ``away_replies``, so the
once-per-window rule holds across restarts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Final

from desktop.domain.auto_reply import Decision, ReplyKind, decide
from desktop.domain.frontdesk_setup import FrontDeskSetup
from desktop.domain.models import Direction, NewMessage, Source, StatusUpdate
from desktop.domain.quick_replies import RenderContext, render
from desktop.domain.segments import analyze
from desktop.store import writes
from desktop.store.writer import Tx

logger = logging.getLogger(__name__)

#: How far Twilio's record of a reply may be from ours and still be the same message
#: (Twilio logs it a second or so later; the laptop's clock may be off by minutes).
ADOPT_WINDOW_MS: Final = 15 * 60 * 1000
#: The status of a TwiML reply before Twilio's log confirms it (Twilio queues it first).
UNCONFIRMED_STATUS: Final = "queued"


def _contact(tx: Tx, conversation_id: int) -> tuple[int, str, bool]:
    row = tx.execute(
        "SELECT k.id, k.name, c.opted_out FROM conversations c "
        "JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    return int(row[0]), str(row[1]), bool(row[2])


def last_away_ms(tx: Tx, contact_id: int) -> int | None:
    row = tx.execute(
        "SELECT sent_at FROM away_replies WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def webhook_after_log(tx: Tx, message_id: int) -> bool:
    """A webhook for an inbound text the log (backfill, poll) stored first: True once, and
    the text counts as having come by webhook from then on.  The webhook is still the only
    chance to answer it (Twilio takes TwiML only in the response), so it is answered then;
    Twilio's own retries of a webhook already answered get False."""
    changed = tx.execute(
        "UPDATE messages SET source = ? "
        "WHERE id = ? AND direction = 'inbound' AND source IN (?, ?)",
        (Source.WEBHOOK.value, message_id, Source.BACKFILL.value, Source.POLL.value),
    ).rowcount
    return changed == 1


def answer_inbound(
    tx: Tx,
    inserted: writes.InsertResult,
    inbound: NewMessage,
    setup: FrontDeskSetup,
    *,
    now: datetime,
    business: str = "",
) -> str | None:
    """Decide and store the automatic answer to a just-stored inbound text.

    Returns the text for the TwiML ``<Message>``, or None.  Runs in the inbound message's
    transaction; if anything here fails, only the answer is rolled back.
    """
    tx.execute("SAVEPOINT auto_reply")
    try:
        text = _answer(tx, inserted, inbound, setup, now=now, business=business)
    except Exception:
        tx.execute("ROLLBACK TO auto_reply")
        tx.execute("RELEASE auto_reply")
        logger.exception("Could not prepare an automatic reply; the text itself is stored")
        return None
    tx.execute("RELEASE auto_reply")
    return text


def _answer(
    tx: Tx,
    inserted: writes.InsertResult,
    inbound: NewMessage,
    setup: FrontDeskSetup,
    *,
    now: datetime,
    business: str,
) -> str | None:
    contact_id, name, opted_out = _contact(tx, inserted.conversation_id)
    last_ms = last_away_ms(tx, contact_id)
    decision = decide(
        inbound.body,
        rules=setup.auto_replies,
        hours=setup.business_hours,
        now=now,
        opted_out=opted_out,
        last_away_at=None if last_ms is None else datetime.fromtimestamp(last_ms / 1000, UTC),
    )
    if decision is None:
        return None
    text = reply_text(decision, setup, name=name, business=business)
    if not text:
        return None
    now_ms = int(now.timestamp() * 1000)
    store_auto_reply(
        tx,
        our_number=inbound.our_number,
        contact_number=inbound.contact_number,
        body=text,
        # Just after the customer's text, so the thread shows question then answer.
        created_at_ms=max(now_ms, inbound.created_at_ms + 1),
    )
    if decision.kind is ReplyKind.AWAY:
        tx.execute(
            "INSERT INTO away_replies (contact_id, sent_at) VALUES (?, ?) "
            "ON CONFLICT (contact_id) DO UPDATE SET sent_at = excluded.sent_at",
            (contact_id, now_ms),
        )
    logger.info(
        "Answering conversation %d automatically (%s%s)",
        inserted.conversation_id,
        decision.kind.value,
        f": {decision.word}" if decision.word else "",
    )
    return text


def reply_text(decision: Decision, setup: FrontDeskSetup, *, name: str, business: str) -> str:
    """The answer as the customer will read it (placeholders without a value dropped)."""
    context = RenderContext(name=name, business=business, hours=setup.business_hours.describe())
    text = render(decision.template, context, keep_missing=False)
    # What Twilio will log after the XML round trip: no CR, no surrounding space.
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def store_auto_reply(
    tx: Tx, *, our_number: str, contact_number: str, body: str, created_at_ms: int
) -> writes.InsertResult:
    """An automatic answer, shown in the thread at once, waiting for Twilio's SID."""
    message = NewMessage(
        sid=None,
        direction=Direction.OUTBOUND,
        from_number=our_number,
        to_number=contact_number,
        body=body,
        status=UNCONFIRMED_STATUS,
        created_at_ms=created_at_ms,
        source=Source.WEBHOOK,
        num_segments=analyze(body).segments,
    )
    result = writes.insert_message(tx, message)
    tx.execute("UPDATE messages SET automatic = 1 WHERE id = ?", (result.message_id,))
    return result


def adopt(tx: Tx, msg: NewMessage) -> writes.InsertResult | None:
    """Twilio's record of one of our automatic replies: give the stored row its SID."""
    if msg.sid is None or msg.twilio_direction != "outbound-reply":
        return None
    row = tx.execute(
        """
        SELECT m.id, m.conversation_id FROM messages m
        JOIN conversations c ON c.id = m.conversation_id
        JOIN contacts k ON k.id = c.contact_id
        WHERE m.sid IS NULL AND m.automatic = 1 AND c.our_number = ? AND k.e164 = ?
          AND m.body = ? AND m.created_at BETWEEN ? AND ?
        ORDER BY abs(m.created_at - ?), m.id LIMIT 1
        """,
        (
            msg.from_number,
            msg.to_number,
            msg.body.strip(),
            msg.created_at_ms - ADOPT_WINDOW_MS,
            msg.created_at_ms + ADOPT_WINDOW_MS,
            msg.created_at_ms,
        ),
    ).fetchone()
    if row is None:
        return None
    message_id, conversation_id = int(row[0]), int(row[1])
    tx.execute(
        "UPDATE messages SET sid = ?, updated_at = ? WHERE id = ?",
        (msg.sid, writes.now_ms(), message_id),
    )
    changed = writes.apply_status(tx, StatusUpdate(msg.sid, msg.status, msg.error_code))
    writes._apply_parked_status(tx, msg.sid)  # a status callback that came first
    if not changed:
        writes.emit_message_changed(tx, message_id)
    logger.debug("Matched automatic reply %d with %s", message_id, msg.sid)
    return writes.InsertResult(message_id, conversation_id, created=False)
