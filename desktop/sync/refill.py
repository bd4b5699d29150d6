"""After a repair: fill the rebuilt database from Twilio's message log (all 400 days).

The normal backfill starts from the last sync (minus a day), which would never reach
back to what the damaged page held.  A repair forgets that mark and runs the first-sync
backfill over the whole of Twilio's log instead; inserts are idempotent by SID, so what
was salvaged is not stored twice, and the messages come back as read (a repair should
not turn a year of history into unread badges).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from desktop.gateway.rest import RestCredentials, RestGateway
from desktop.gateway.rest_types import TwilioProblem
from desktop.store import writes
from desktop.store.service import Store
from desktop.store.writer import Tx
from desktop.sync.backfill import FINISHED_KEY, WATERMARK_KEY, Backfiller, progress_text

logger = logging.getLogger(__name__)

#: How far back Twilio's Messages list goes.
LOG_DAYS: Final = 400


@dataclass(frozen=True, slots=True)
class Refill:
    consulted: bool
    listed: int = 0
    added: int = 0
    numbers: tuple[str, ...] = field(default_factory=tuple)
    #: Why the log was not (fully) consulted, in plain words.
    problem: str = ""


def _forget_last_sync(tx: Tx) -> None:
    tx.execute("DELETE FROM sync_state WHERE key IN (?, ?)", (WATERMARK_KEY, FINISHED_KEY))


def refill_from_twilio(
    store: Store,
    credentials: RestCredentials,
    api_base_url: str,
    *,
    progress: Callable[[str], None] | None = None,
    gateway: RestGateway | None = None,
    days: int = LOG_DAYS,
) -> Refill:
    """List the whole log for the account's texting numbers and store what is missing."""
    own_gateway = gateway is None
    rest = gateway or RestGateway(credentials, api_base_url)
    try:
        account = rest.fetch_account()
        numbers = tuple(n.e164 for n in account.sms_numbers)
        rows = [(n.e164, n.sid, n.friendly_name, n.sms, n.mms, n.sms_url) for n in account.numbers]
        store.writer.call(lambda tx: writes.save_our_numbers(tx, rows))
        if not numbers:
            return Refill(True, problem="The Twilio account has no number that can text.")
        store.writer.call(_forget_last_sync)
        backfiller = Backfiller(store, rest, first_sync_days=days)

        def report(fetched: int, estimate: int | None) -> None:
            if progress is not None:
                progress(f"Twilio's message log: {progress_text(fetched, estimate)}")

        result = backfiller.run(numbers, reason="repair", progress=report)
    except TwilioProblem as problem:
        logger.warning("Repair: Twilio's log could not be read: %s", problem)
        return Refill(False, problem=str(problem))
    finally:
        if own_gateway:
            rest.close()
    logger.info("Repair: %d listed in Twilio's log, %d added", result.fetched, result.added)
    return Refill(True, result.fetched, result.added, numbers)
