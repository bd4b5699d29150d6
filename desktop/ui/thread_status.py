"""What a sent message's status means to staff: "Sending…", "Delivered", "Not delivered".

Kept apart from the painting code so the words can be tested and reused (tooltips,
screen-reader text) without a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

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
    return message.direction == "outbound" and (
        is_failure(message.status) or message.outbox_state == "failed"
    )


def status_label(message: MessageRow) -> tuple[str, str]:
    """(words, tone) for the bubble's footer; tone is "", "warning" or "danger"."""
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
