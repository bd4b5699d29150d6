"""How Twoway is connected right now, as one snapshot the status area can show.

Services update their part (tunnel, webhook target, sync) from their own threads; every
change produces a new immutable snapshot delivered to subscribers (the UI re-emits it as
a queued signal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any, NamedTuple

from desktop.domain.store_health import StoreHealth
from desktop.guarded import GuardedValue

logger = logging.getLogger(__name__)


class Link(StrEnum):
    """How messages reach us."""

    STARTING = "starting"
    ONLINE = "online"  # webhooks arrive through a public URL
    RECONNECTING = "reconnecting"
    POLLING = "polling"  # no public URL: we check Twilio's log on an interval
    OFFLINE = "offline"  # cannot reach Twilio at all right now
    SIGNED_OUT = "signed_out"  # no credentials yet
    LOCKED = "locked"  # credentials in the encrypted file: waiting for the passphrase


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
    #: The message database's health, apart from ``problem``: "Online" never hides it.
    store_health: StoreHealth = StoreHealth()


class ConnectionBoard:
    """The current :class:`ConnectionSnapshot`; services change their fields with ``update``."""

    def __init__(self, initial: ConnectionSnapshot | None = None) -> None:
        self._value = GuardedValue(initial or ConnectionSnapshot())

    @property
    def snapshot(self) -> ConnectionSnapshot:
        return self._value.value

    def subscribe(self, listener: Callable[[ConnectionSnapshot], None]) -> Callable[[], None]:
        return self._value.subscribe(listener)

    def update(self, **changes: Any) -> ConnectionSnapshot:
        return self._value.update(lambda snapshot: snapshot._replace(**changes))
