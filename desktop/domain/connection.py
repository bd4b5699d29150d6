"""How Twoway is connected right now, as one snapshot the status area can show.

Services update their part (tunnel, webhook target, sync) from their own threads; every
change produces a new immutable snapshot delivered to subscribers (the UI re-emits it as
a queued signal).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)


class Link(StrEnum):
    """How messages reach us."""

    STARTING = "starting"
    ONLINE = "online"  # webhooks arrive through a public URL
    RECONNECTING = "reconnecting"
    POLLING = "polling"  # no public URL: we check Twilio's log on an interval
    OFFLINE = "offline"  # cannot reach Twilio at all right now
    SIGNED_OUT = "signed_out"  # no credentials yet


class ConnectionSnapshot(NamedTuple):
    link: Link = Link.STARTING
    public_url: str = ""
    #: Our number's sms_url points at this app (None: unknown yet).
    number_points_here: bool | None = None
    phone_number: str = ""
    last_sync_ms: int | None = None
    #: Plain-language problem and what to do about it; empty when all is well.
    problem: str = ""
    detail: str = ""
    demo: bool = False
    sync_progress: str = ""


Listener = Callable[[ConnectionSnapshot], None]


class ConnectionBoard:
    def __init__(self, initial: ConnectionSnapshot | None = None) -> None:
        self._snapshot = initial or ConnectionSnapshot()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    @property
    def snapshot(self) -> ConnectionSnapshot:
        with self._lock:
            return self._snapshot

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def update(self, **changes: Any) -> ConnectionSnapshot:
        with self._lock:
            new = self._snapshot._replace(**changes)
            if new == self._snapshot:
                return new
            self._snapshot = new
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(new)
            except Exception:
                logger.exception("A connection listener failed")
        return new
