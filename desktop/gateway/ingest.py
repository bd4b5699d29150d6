"""Verified webhooks into the store: the bridge between the receiver and the single writer.

Both calls block the *server* thread (never the GUI) until the commit that holds the
data is done, which is what lets the receiver acknowledge only what is on disk.  An
inbound text and our automatic answer to it (see :mod:`desktop.store.auto_replies`) are
stored in one commit, so the answer Twilio is told to send is always in the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from desktop.domain.frontdesk_setup import FrontDeskSetup
from desktop.domain.models import InboundMessage, NewMessage, Source, StatusUpdate
from desktop.store import auto_replies, writes
from desktop.store.service import Store
from desktop.store.writer import Tx

logger = logging.getLogger(__name__)

COMMIT_TIMEOUT_S: Final = 10.0
#: Only for the old settings dialog's wording; ``auto_replies.away.once_per_hours`` in the
#: front-desk setup decides now.
AUTO_REPLY_EVERY_S: Final = 12 * 3600


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreIngest:
    """Implements :class:`desktop.gateway.webhook.Ingest` on top of :class:`Store`.

    ``setup`` gives the current front-desk setup (business hours, auto-replies), read
    fresh for every text; None means no automatic answers.  ``business_name`` fills the
    ``{business}`` placeholder.
    """

    def __init__(
        self,
        store: Store,
        setup: Callable[[], FrontDeskSetup] | None = None,
        *,
        business_name: Callable[[], str] = lambda: "",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._setup = setup
        self._business_name = business_name
        self._clock = clock

    def store_inbound(self, message: InboundMessage) -> str | None:
        new = NewMessage.from_inbound(
            message, received_at_ms=writes.now_ms(), source=Source.WEBHOOK
        )
        setup = self._setup() if self._setup is not None else None
        business = self._business_name() if setup is not None else ""
        now = self._clock()

        def job(tx: Tx) -> tuple[bool, str | None]:
            result = writes.insert_message(tx, new)
            if setup is None:
                return result.created, None
            if not result.created and not auto_replies.webhook_after_log(tx, result.message_id):
                return False, None
            return result.created, auto_replies.answer_inbound(
                tx, result, new, setup, now=now, business=business
            )

        created, reply = self._store.writer.call(job, timeout=COMMIT_TIMEOUT_S)
        if not created:
            logger.info("Webhook for %s was a duplicate; acknowledged again", message.sid)
        return reply

    def store_status(self, update: StatusUpdate) -> None:
        self._store.writer.call(
            lambda tx: writes.apply_status(tx, update), timeout=COMMIT_TIMEOUT_S
        )
