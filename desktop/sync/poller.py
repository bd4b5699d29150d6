"""Delivery statuses without status callbacks: ask Twilio about recent outbound messages.

Without a public URL Twilio cannot call us back, so "delivered" or "undelivered (30006)"
would never show.  Each poll fetches the few recent outbound messages whose outcome is
still open; :func:`desktop.store.writes.apply_status` keeps statuses moving forward only,
so a poll and a late callback can never disagree.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

from desktop.domain.models import StatusUpdate
from desktop.gateway.rest import RemoteMessage
from desktop.gateway.rest_types import TwilioProblem
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.store.writer import Tx

logger = logging.getLogger(__name__)

STATUS_WINDOW_MS: Final = 24 * 3600 * 1000
STATUS_LIMIT: Final = 50


class StatusGateway(Protocol):
    def fetch_message(self, sid: str) -> RemoteMessage: ...


def poll_statuses(
    store: Store,
    gateway: StatusGateway,
    *,
    now_ms: int,
    window_ms: int = STATUS_WINDOW_MS,
    limit: int = STATUS_LIMIT,
) -> int:
    """Fetch open outbound messages and apply what changed; returns how many changed."""
    sids = queries.unsettled_outbound(store.reader(), now_ms - window_ms, limit)
    updates: list[StatusUpdate] = []
    for sid in sids:
        try:
            remote = gateway.fetch_message(sid)
        except TwilioProblem as problem:
            if problem.status == 404:
                continue  # deleted from the log; nothing more will happen to it
            raise
        updates.append(StatusUpdate(sid, remote.status, remote.error_code))
    if not updates:
        return 0

    def apply(tx: Tx) -> int:
        return sum(writes.apply_status(tx, update) for update in updates)

    changed = store.writer.call(apply)
    if changed:
        logger.info("Polling moved %d message statuses forward", changed)
    return changed
