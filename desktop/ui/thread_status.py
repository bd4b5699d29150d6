"""What a sent message's status means to staff: "Sending…", "Delivered", "Not delivered".

Kept apart from the painting code so the words can be tested and reused (tooltips,
screen-reader text) without a widget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from desktop.domain.schedule import due_label
from desktop.domain.status import LOCAL_PENDING, is_failure
from desktop.store.queries import MessageRow

_IN_FLIGHT: Final = frozenset({"accepted", "scheduled", "queued", "sending"})
_LABELS: Final = {
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "partially_delivered": "Partly delivered",
    "received": "",
}


def is_failed(message: MessageRow) -> bool:
    if message.schedule_state == "canceled":
        return False  # called off on purpose, not a failure to retry
    return message.direction == "outbound" and (
        is_failure(message.status) or message.outbox_state == "failed"
    )


def is_waiting_scheduled(message: MessageRow) -> bool:
    """A scheduled text that has not gone out yet (it can still be edited or canceled)."""
    return (
        message.scheduled_at is not None
        and message.schedule_state in ("pending", "late")
        and message.status in (LOCAL_PENDING, "scheduled")
        and message.outbox_state != "failed"
    )


def schedule_label(message: MessageRow, now_ms: int | None = None) -> tuple[str, str] | None:
    """ "Scheduled for Tue 9:00", "Canceled: the customer replied STOP." …, or None."""
    if message.scheduled_at is None:
        return None
    state = message.schedule_state
    if state == "canceled":
        return message.schedule_reason or "Canceled", "warning"
    if message.status not in (LOCAL_PENDING, "scheduled") or message.outbox_state == "failed":
        return None
    if state == "canceling":
        return "Canceling…", ""
    if state == "late":
        return "Late: not sent yet — send or cancel it", "warning"
    if state == "pending":
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return f"Scheduled for {due_label(message.scheduled_at, now)}", ""
    return None


def status_label(message: MessageRow) -> tuple[str, str]:
    """(words, tone) for the bubble's footer; tone is "", "warning" or "danger"."""
    scheduled = schedule_label(message)
    if scheduled is not None:
        return scheduled
    if is_failed(message):
        return "Not delivered", "danger"
    if message.status == LOCAL_PENDING or message.outbox_state in ("queued", "sending", "unknown"):
        if message.outbox_error and message.outbox_state in ("queued", "unknown"):
            return "Waiting to send", "warning"
        return "Sending…", ""
    if message.status in _IN_FLIGHT:
        return "Sending…", ""
    if message.status in _LABELS:
        return _LABELS[message.status], ""
    return message.status.replace("_", " ").capitalize(), ""


def sender_label(message: MessageRow, me: str | None) -> str:
    """Who sent an outbound text, in team mode (``me`` is this laptop's display name; None
    outside team mode): "You", a colleague's name, or "" when nobody is known (inbound
    texts, auto-replies, texts sent before team mode or from Twilio's console)."""
    if me is None or message.direction != "outbound" or message.automatic:
        return ""
    if message.source == "app" or (me and message.sent_by == me):
        return "You"
    return message.sent_by


def retry_label(message: MessageRow) -> str:
    """ "Retry" for a send Twilio refused (the outbox can requeue it), "Send again" for a
    message Twilio accepted but could not deliver (a new copy must be sent), else ""."""
    if not is_failed(message):
        return ""
    return "Retry" if message.outbox_state == "failed" else "Send again"


def failure_reason(message: MessageRow, explain_code: Callable[[int | None], str]) -> str:
    """The plain-language reason a message did not arrive."""
    if message.outbox_state == "failed" and message.outbox_error:
        return message.outbox_error
    if message.error_code is not None:
        explained = explain_code(message.error_code)
        if explained:
            return explained
    if message.outbox_error:
        return message.outbox_error
    return "Twilio could not deliver this message."
