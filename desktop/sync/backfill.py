"""Backfill: copy what Twilio's message log has and we do not, so no gap stays open.

Twilio does not queue webhooks for a receiver that is offline, so the log is the source
of truth and the webhook only the fast path.  A backfill lists messages to and from each
of our numbers, newest first, following ``next_page_uri``, and stores them through
:func:`desktop.store.writes.insert_message`, which is idempotent by SID (and adopts an
outbox send whose outcome we never heard) — so it may overlap webhooks arriving at the
same moment without ever storing a message twice.

Where it starts, and why:

- the first sync ever reaches back :attr:`Backfiller.first_sync_days`, and stores inbound
  messages as read, so a new install does not greet staff with 2,500 unread texts;
- later full backfills start one day before the previous sync began, because the
  ``DateSent`` filter works in whole GMT days; they count as unread and notify;
- a *light* backfill (polling without webhooks) lists without a date filter and stops at
  the first page older than the previous sync minus a few minutes: one small request per
  number and direction when nothing happened.

The previous sync is recorded as the time the last complete backfill *started*: anything
that reached Twilio after that moment is listed by the next one.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Protocol

from desktop.domain.models import Direction, MediaRef, NewMessage, Source
from desktop.gateway.rest import RemoteMedia, RemoteMessage
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.store.writer import Tx
from desktop.workers import TaskPool

logger = logging.getLogger(__name__)

WATERMARK_KEY: Final = "backfill.started_ms"
FINISHED_KEY: Final = "backfill.finished_ms"
DAY_MS: Final = 24 * 3600 * 1000

#: Called with (messages fetched so far, estimated total or None).
Progress = Callable[[int, int | None], None]


class LogGateway(Protocol):
    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        sent_on_or_before: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]: ...

    def list_media(self, message_sid: str) -> tuple[RemoteMedia, ...]: ...


class BackfillCancelled(Exception):
    """The service is stopping; the watermark was not moved, the next run redoes the work."""


@dataclass(frozen=True, slots=True)
class BackfillResult:
    reason: str
    light: bool
    first_sync: bool
    since_ms: int
    fetched: int
    added: int
    seconds: float


def progress_text(fetched: int, estimate: int | None) -> str:
    """ "Fetched 1,200 of ~2,500 messages" for the status area."""
    if estimate is not None and estimate > fetched:
        return f"Fetched {fetched:,} of ~{_round(estimate):,} messages"
    return f"Fetched {fetched:,} messages"


def _round(value: int) -> int:
    """Two significant digits: an estimate should not look more precise than it is."""
    digits = len(str(value))
    return value if digits <= 2 else int(round(value, -(digits - 2)))


def _utc_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


@dataclass
class _Listing:
    fetched: int = 0
    estimate: int | None = None


class Backfiller:
    """Runs one backfill at a time (the caller serialises runs); listings run in parallel."""

    def __init__(
        self,
        store: Store,
        gateway: LogGateway,
        *,
        page_size: int = 1000,
        light_page_size: int = 50,
        first_sync_days: int = 90,
        light_margin_s: float = 300.0,
        write_chunk: int = 250,
        parallel_listings: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self.page_size = page_size
        self.light_page_size = light_page_size
        self.first_sync_days = first_sync_days
        self._light_margin_ms = int(light_margin_s * 1000)
        self._write_chunk = write_chunk
        self._clock = clock
        self._pool = TaskPool(
            max(1, parallel_listings), "backfill", on_thread_exit=self._release_thread
        )

    def _release_thread(self) -> None:
        self._store.release_reader()
        release = getattr(self._gateway, "release_thread", None)
        if release is not None:
            release()

    def close(self) -> None:
        """Stop the listing threads (after the last run; the owner calls it on stop)."""
        self._pool.shutdown(wait=False)

    def run(
        self,
        numbers: Sequence[str],
        *,
        reason: str,
        light: bool = False,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> BackfillResult:
        """List and store; raise TwilioProblem (network, credentials) or BackfillCancelled."""
        began = time.perf_counter()
        started_ms = int(self._clock() * 1000)
        watermark = queries.sync_value(self._store.reader(), WATERMARK_KEY)
        first = not isinstance(watermark, int)
        if first:
            light = False
            since_ms = started_ms - self.first_sync_days * DAY_MS
        elif light:
            since_ms = int(watermark) - self._light_margin_ms
        else:
            since_ms = min(int(watermark), started_ms) - DAY_MS
        listings = [(d, n) for n in dict.fromkeys(numbers) for d in ("to", "from")]
        logger.info(
            "%s backfill (%s) of %d numbers since %s",
            "Light" if light else "First" if first else "Full",
            reason,
            len(numbers),
            datetime.fromtimestamp(since_ms / 1000, UTC).isoformat(timespec="minutes"),
        )
        state = {key: _Listing() for key in listings}
        lock = threading.Lock()
        stop = threading.Event()
        futures: list[Future[int]] = []

        def report(key: tuple[str, str], fetched: int, estimate: int | None) -> None:
            with lock:
                state[key] = _Listing(fetched, estimate)
                total = sum(s.fetched for s in state.values())
                estimates = [
                    s.estimate if s.estimate is not None else s.fetched for s in state.values()
                ]
            if progress is not None:
                progress(total, sum(estimates))

        def stopped() -> bool:
            return stop.is_set() or cancelled()

        def pull(key: tuple[str, str]) -> None:
            direction, number = key
            written = self._pull(
                number,
                direction,
                since_ms=since_ms,
                started_ms=started_ms,
                light=light,
                first=first,
                report=lambda f, e: report(key, f, e),
                stopped=stopped,
            )
            with lock:
                futures.extend(written)

        errors: list[BaseException] = []

        def guarded(key: tuple[str, str]) -> None:
            if stop.is_set():
                return
            try:
                pull(key)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                stop.set()

        # The listings share the backfiller's long-lived pool: no thread per poll.
        running = [self._pool.submit(functools.partial(guarded, key)) for key in listings]
        for listing in running:
            listing.result()
        if errors:
            real = [e for e in errors if not isinstance(e, BackfillCancelled)]
            raise (real or errors)[0]
        added = sum(f.result(timeout=60) for f in futures)
        fetched = sum(s.fetched for s in state.values())
        finished_ms = int(self._clock() * 1000)

        def record(tx: Tx) -> None:
            writes.set_sync_value(tx, WATERMARK_KEY, started_ms)
            writes.set_sync_value(tx, FINISHED_KEY, finished_ms)

        self._store.writer.call(record)
        result = BackfillResult(
            reason, light, first, since_ms, fetched, added, time.perf_counter() - began
        )
        if added or not light:
            logger.info(
                "Backfill (%s): %d listed, %d new, in %.2f s",
                reason,
                fetched,
                added,
                result.seconds,
            )
        return result

    def _pull(
        self,
        number: str,
        direction: str,
        *,
        since_ms: int,
        started_ms: int,
        light: bool,
        first: bool,
        report: Callable[[int, int | None], None],
        stopped: Callable[[], bool],
    ) -> list[Future[int]]:
        page_size = self.light_page_size if light else self.page_size
        pages = self._gateway.iter_message_pages(
            to=number if direction == "to" else None,
            from_=number if direction == "from" else None,
            sent_on_or_after=None if light else _utc_day(since_ms),
            page_size=page_size,
        )
        written: list[Future[int]] = []
        fetched = 0
        history_starts_ms: int | None = None
        for page in pages:
            if stopped():
                raise BackfillCancelled()
            fetched += len(page)
            written.extend(self._store_page(page, first=first, light=light))
            oldest = min((m.log_time_ms for m in page), default=since_ms)
            last = len(page) < page_size or oldest < since_ms
            estimate: int | None = fetched
            if not last and not light:
                if history_starts_ms is None:
                    history_starts_ms = self._history_start_ms(
                        number, direction, since_ms, oldest, stopped
                    )
                # Assume messages are spread evenly between the oldest one and now.
                covered = max(started_ms - oldest, 1)
                window = max(started_ms - history_starts_ms, covered)
                estimate = max(fetched + 1, int(fetched * window / covered))
            report(fetched, estimate)
            if light and oldest < since_ms:
                break
        return written

    def _history_start_ms(
        self,
        number: str,
        direction: str,
        since_ms: int,
        oldest_seen_ms: int,
        stopped: Callable[[], bool],
    ) -> int:
        """The start of the oldest GMT day with a message in the window, for the estimate.

        Twilio's list has no total and no oldest-first order; a binary search over the
        ``DateSent`` filters with one-record pages finds it in about seven tiny requests.
        """
        low, high = _utc_day(since_ms), _utc_day(oldest_seen_ms)
        while low < high and not stopped():
            middle = low + (high - low) // 2
            probe = self._gateway.iter_message_pages(
                to=number if direction == "to" else None,
                from_=number if direction == "from" else None,
                sent_on_or_after=low,
                sent_on_or_before=middle,
                page_size=1,
            )
            if next(probe, []):
                high = middle
            else:
                low = middle + timedelta(days=1)
        return int(datetime.combine(low, datetime.min.time(), UTC).timestamp() * 1000)

    def _store_page(
        self, page: list[RemoteMessage], *, first: bool, light: bool
    ) -> list[Future[int]]:
        known = queries.known_sids(self._store.reader(), [m.sid for m in page])
        source = Source.POLL if light else Source.BACKFILL
        new: list[NewMessage] = []
        for remote in page:
            if remote.sid in known and remote.inbound:
                continue  # nothing about a stored inbound message changes
            media: tuple[MediaRef, ...] = ()
            if remote.num_media and remote.sid not in known:
                media = tuple(
                    MediaRef(index, m.url, m.content_type or "application/octet-stream")
                    for index, m in enumerate(self._gateway.list_media(remote.sid))
                )
            new.append(to_new_message(remote, source=source, media=media, unread=not first))
        futures: list[Future[int]] = []
        for start in range(0, len(new), self._write_chunk):
            chunk = new[start : start + self._write_chunk]
            futures.append(
                self._store.writer.submit(functools.partial(_insert_all, messages=chunk))
            )
        return futures


def _insert_all(tx: Tx, messages: list[NewMessage]) -> int:
    return sum(writes.insert_message(tx, m).created for m in messages)


def to_new_message(
    remote: RemoteMessage,
    *,
    source: Source,
    media: tuple[MediaRef, ...] = (),
    unread: bool = True,
) -> NewMessage:
    """A log entry as the store takes it; outbound ones sent elsewhere join their thread."""
    inbound = remote.inbound
    return NewMessage(
        sid=remote.sid,
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        from_number=remote.from_number,
        to_number=remote.to_number,
        body=remote.body,
        status=remote.status or ("received" if inbound else "sent"),
        created_at_ms=remote.created_at_ms,
        source=source,
        error_code=remote.error_code,
        num_segments=remote.num_segments,
        media=media,
        messaging_service_sid=remote.messaging_service_sid,
        unread=unread and inbound,
        twilio_direction=remote.direction,
    )
