"""Verified webhooks into the store: the bridge between the receiver and the single writer.

Both calls block the *server* thread (never the GUI) until the commit that holds the
data is done, which is what lets the receiver acknowledge only what is on disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from desktop.domain import optout
from desktop.domain.models import InboundMessage, NewMessage, Source, StatusUpdate
from desktop.store import writes
from desktop.store.service import Store

logger = logging.getLogger(__name__)

COMMIT_TIMEOUT_S: Final = 10.0
AUTO_REPLY_EVERY_S: Final = 12 * 3600


class StoreIngest:
    """Implements :class:`desktop.gateway.webhook.Ingest` on top of :class:`Store`."""

    def __init__(self, store: Store, auto_reply_text: Callable[[], str] = lambda: "") -> None:
        self._store = store
        self._auto_reply_text = auto_reply_text
        self._last_auto_reply: dict[int, float] = {}
        self._lock = threading.Lock()

    def store_inbound(self, message: InboundMessage) -> str | None:
        new = NewMessage.from_inbound(
            message, received_at_ms=writes.now_ms(), source=Source.WEBHOOK
        )
        result = self._store.writer.call(
            lambda tx: writes.insert_message(tx, new), timeout=COMMIT_TIMEOUT_S
        )
        if not result.created:
            logger.info("Webhook for %s was a duplicate; acknowledged again", message.sid)
            return None
        return self._auto_reply(result.conversation_id, message)

    def store_status(self, update: StatusUpdate) -> None:
        self._store.writer.call(
            lambda tx: writes.apply_status(tx, update), timeout=COMMIT_TIMEOUT_S
        )

    def _auto_reply(self, conversation_id: int, message: InboundMessage) -> str | None:
        """The "we got your message" answer, at most twice a day per conversation."""
        text = self._auto_reply_text().strip()
        keyword = optout.keyword_for(message.body, message.opt_out_type)
        if not text or keyword is not optout.Keyword.NONE:
            return None  # Twilio answers STOP/START/HELP itself
        now = time.monotonic()
        with self._lock:
            last = self._last_auto_reply.get(conversation_id)
            if last is not None and now - last < AUTO_REPLY_EVERY_S:
                return None
            self._last_auto_reply[conversation_id] = now
        return text
