"""Twilio message statuses and the order in which they may replace one another.

Status callbacks arrive out of order (a ``sent`` can land after ``delivered``), so a
message's status only ever moves to a higher rank.  The ranks form a total order so the
outcome never depends on arrival order: a positive delivery receipt beats a negative one
(a carrier that said "undelivered" and then "delivered" did deliver), and ``read`` beats
everything.
"""

from __future__ import annotations

from typing import Final

#: Our own status for an outbound message that has not reached Twilio yet.
LOCAL_PENDING: Final = "pending"
#: Our own status for an outbound message Twilio refused (it never got a SID).
LOCAL_FAILED: Final = "failed"

STATUS_RANK: Final[dict[str, int]] = {
    LOCAL_PENDING: 0,
    "scheduled": 10,
    "accepted": 20,
    "queued": 30,
    "sending": 40,
    "receiving": 40,
    "sent": 50,
    "received": 60,
    "canceled": 70,
    "failed": 80,
    "undelivered": 90,
    "partially_delivered": 100,
    "delivered": 110,
    "read": 120,
}

#: Statuses after which nothing more will normally happen to a message.
FINAL_STATUSES: Final = frozenset(
    {"canceled", "failed", "undelivered", "delivered", "read", "received"}
)
#: Statuses that mean the customer did not get the message.
FAILURE_STATUSES: Final = frozenset({"canceled", "failed", "undelivered"})

#: Rank given to a status Twilio invents later; it never replaces a known one.
UNKNOWN_RANK: Final = -1


def rank(status: str) -> int:
    """Rank of ``status`` (case-insensitive); unknown statuses rank lowest."""
    return STATUS_RANK.get(status.lower(), UNKNOWN_RANK)


def is_known(status: str) -> bool:
    return status.lower() in STATUS_RANK


def moves_forward(current: str | None, new: str) -> bool:
    """True when ``new`` may replace ``current``: strictly later in Twilio's order."""
    if current is None:
        return True
    return rank(new) > rank(current)


def is_failure(status: str) -> bool:
    return status.lower() in FAILURE_STATUSES
