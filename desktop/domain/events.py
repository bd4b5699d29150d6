"""What the store tells the rest of the app after a commit.

Events are delivered only after the transaction that caused them committed, in commit
order, on the writer thread.  Subscribers must return quickly; the UI re-emits them as
queued Qt signals, never touching widgets from here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

logger = logging.getLogger(__name__)


class MessageAdded(NamedTuple):
    message_id: int
    conversation_id: int
    direction: str
    source: str
    num_media: int
    #: True when a new inbound message should notify the user (live or backfilled unread).
    notify: bool


class MessageChanged(NamedTuple):
    """Status, SID, error or outbox state of a message changed."""

    message_id: int
    conversation_id: int
    status: str
    error_code: int | None


class ConversationChanged(NamedTuple):
    """Contact name, unread count or opt-out state changed."""

    conversation_id: int


class MediaChanged(NamedTuple):
    media_id: int
    message_id: int
    conversation_id: int
    state: str


class OutboxQueued(NamedTuple):
    message_id: int
    conversation_id: int


Event = MessageAdded | MessageChanged | ConversationChanged | MediaChanged | OutboxQueued
Subscriber = Callable[[Sequence[Event]], None]


class EventHub:
    """A thread-safe list of subscribers that receive each committed batch of events."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(events)
            except Exception:
                # One broken listener must not stop the others or the writer.
                logger.exception("An event subscriber failed")
