"""The rules of a scheduled text: when it may be due, who holds it, when it counts as late.

Twilio can hold a text and send it itself (Message Scheduling: ``ScheduleType=fixed`` with
``SendAt``), but only for a number in a Messaging Service and only inside a window.  Its
error pages say 300 s to 35 days ahead today (api/errors/35114, 2026); older copies say
900 s.  Twoway hands Twilio only texts due at least :data:`TWILIO_MIN_LEAD_S` (15 minutes)
ahead, which both versions accept, and keeps everything else in its own outbox, which sends
when due — provided the laptop is awake and Twoway open.  A local text found more than
:data:`LATE_AFTER_S` past its time (the laptop slept, the app was closed) is not sent
without asking: "9:00 reminder" arriving at 15:00 can do more harm than good.

Pure functions, no I/O, no Qt: times are POSIX milliseconds (UTC) like the store's.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Final

__all__ = [
    "LATE_AFTER_S",
    "MAX_LEAD_S",
    "TWILIO_MAX_LEAD_S",
    "TWILIO_MIN_LEAD_S",
    "TWILIO_SUBMIT_MIN_LEAD_S",
    "Holder",
    "choose_holder",
    "due_label",
    "is_late",
    "refusal",
]

#: Least lead time for Twilio to hold a text (the stricter of the windows Twilio documented).
TWILIO_MIN_LEAD_S: Final = 900
#: Twilio's longest lead time: 35 days (3,024,000 s).
TWILIO_MAX_LEAD_S: Final = 3_024_000
#: A text whose hand-over to Twilio was delayed (network) still goes to Twilio if this far
#: ahead (the current documented minimum, 300 s, plus a margin); else the outbox sends it.
TWILIO_SUBMIT_MIN_LEAD_S: Final = 360
#: Nothing can be scheduled further ahead than Twilio allows, whoever holds it.
MAX_LEAD_S: Final = TWILIO_MAX_LEAD_S
#: A text the outbox finds this far past its time is sent only after staff say so.
LATE_AFTER_S: Final = 3600
#: Twilio's codes for "cannot schedule this" that mean: send it from the outbox instead.
SCHEDULE_REFUSALS: Final = frozenset({35111, 35114, 35115, 35118, 35126})


class Holder(StrEnum):
    """Who keeps the text until it is due."""

    TWILIO = "twilio"
    LOCAL = "local"


def refusal(send_at_ms: int, now_ms: int) -> str:
    """Why ``send_at_ms`` cannot be scheduled, in plain words; "" when it can."""
    if send_at_ms <= now_ms:
        return "That time has already passed. Pick a time in the future, or press Send."
    if send_at_ms - now_ms > MAX_LEAD_S * 1000:
        return "Texts can be scheduled at most 35 days ahead (Twilio's limit). Pick an earlier day."
    return ""


def choose_holder(send_at_ms: int, now_ms: int, *, in_service: bool) -> Holder:
    """Twilio when the number is in a Messaging Service and the time is inside its window."""
    lead_s = (send_at_ms - now_ms) / 1000
    if in_service and TWILIO_MIN_LEAD_S <= lead_s <= TWILIO_MAX_LEAD_S:
        return Holder.TWILIO
    return Holder.LOCAL


def is_late(send_at_ms: int, now_ms: int) -> bool:
    """True when a local text is more than an hour past its time (ask before sending)."""
    return now_ms - send_at_ms > LATE_AFTER_S * 1000


def due_label(send_at_ms: int, now_ms: int, zone: tzinfo | None = None) -> str:
    """ "Tue 9:00", "today 14:30", "tomorrow 8:15" or "12 Jan 9:00", in ``zone`` (local)."""
    due = datetime.fromtimestamp(send_at_ms / 1000, UTC).astimezone(zone)
    now = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(zone)
    clock = f"{due.hour}:{due.minute:02d}"
    days = (due.date() - now.date()).days
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if 1 < days < 7:
        return f"{due.strftime('%a')} {clock}"
    return f"{due.day} {due.strftime('%b')} {clock}"
