"""The outbox worker: every message staff send goes out exactly once, or fails visibly.

The rules, and why they are enough:

- :func:`desktop.store.outbox_writes.queue_outbound` wrote the row before anything else, so a
  message that was accepted by the composer survives a quit or a crash;
- ``mark_sending`` is *committed* before the request leaves: a row found ``sending`` after
  a crash may have reached Twilio, so on start it becomes ``unknown``;
- an ``unknown`` row (timeout or dropped connection after the request was written) is
  never simply sent again: the worker first looks in Twilio's log for the same From, To and
  text, created since the first attempt and not already stored.  Found: that was our
  message, keep its SID.  Not found: it did not go out, send it;
- permanent refusals stop at once and say why (a 21610 also marks the customer opted out);
  temporary failures retry with capped backoff, honouring Twilio's ``Retry-After``, and
  give up visibly after :attr:`OutboxPolicy.give_up_after_s`;
- one worker thread sends one message at a time, so two rows never race to claim the same
  message in Twilio's log.

Scheduled texts (:mod:`desktop.store.scheduled`) ride on the same rows: a local one is due
at its time and is held back — and staff asked — when found more than an hour late; a
Twilio-held one is handed over at once with ``SendAt`` (and falls back to local when
Twilio cannot hold it).  The same thread tells Twilio about cancels (``Status=canceled``)
and cancels what waits for a customer who replied STOP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Final, Protocol

from desktop.domain import schedule as rules
from desktop.domain.events import ConversationChanged, Event, OutboxQueued
from desktop.gateway.rest import RateLimited, RemoteMessage, SentMessage
from desktop.gateway.rest_types import TwilioProblem
from desktop.store import outbox_writes, queries, scheduled, writes
from desktop.store.queries import OutboxItem
from desktop.store.service import Store
from desktop.store.writer import Tx, WriterStopped
from desktop.sync.urls import media_url, status_url
from desktop.workers import Worker

logger = logging.getLogger(__name__)

OPTED_OUT_TEXT: Final = (
    "This customer replied STOP, so Twilio will not deliver texts to them. "
    "They can text START to receive messages again."
)
NO_PUBLIC_URL_TEXT: Final = (
    "Pictures can only be sent while Twoway is reachable from the internet (through its "
    "tunnel or a public URL), because Twilio fetches them from this computer. "
    "Send the text without the picture, or retry once the connection is back."
)
WAITING_FOR_URL_TEXT: Final = "Waiting for the connection Twilio fetches the pictures through…"


@dataclass(frozen=True)
class OutboxPolicy:
    #: Waits after the 1st, 2nd, … consecutive temporary failure; the last one repeats.
    retry_delays_s: tuple[float, ...] = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
    #: Least wait before looking for a message that may have been sent (Twilio's log
    #: may take a moment to show a message it just accepted).
    settle_s: float = 5.0
    #: A message in Twilio's log counts as ours only if created at most this long before
    #: our first attempt (clocks differ).
    lookup_slack_s: float = 600.0
    lookup_pages: int = 4
    #: A row that could not be sent for this long fails visibly instead of going out late.
    give_up_after_s: float = 6 * 3600.0
    #: How long a picture message waits for a public URL (the tunnel starting up).
    media_wait_s: float = 120.0
    batch: int = 20


class OutboxGateway(Protocol):
    def send_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
        send_at: datetime | None = None,
    ) -> SentMessage: ...

    def cancel_message(self, sid: str) -> RemoteMessage: ...

    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]: ...


class Shelf(Protocol):
    """:class:`desktop.gateway.webhook.MediaShelf`: files Twilio may fetch by token."""

    def share(self, path: Path, content_type: str | None = None) -> str: ...


#: Told about every request's outcome: None when Twilio answered, else the network problem.
Reachability = Callable[[TwilioProblem | None], None]

_SMART: Final = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "″": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "…": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)


def same_text(ours: str, theirs: str) -> bool:
    """Bodies match, allowing for Twilio's Smart Encoding (curly quotes, dashes, spaces)."""

    def norm(text: str) -> str:
        return " ".join(text.translate(_SMART).split())

    return ours == theirs or norm(ours) == norm(theirs)


def is_network(problem: TwilioProblem) -> bool:
    """True when Twilio was not reached at all (no HTTP answer)."""
    return problem.status is None and problem.code is None


class OutboxWorker:
    """Sends outbox rows on one daemon thread; :meth:`wake` after queueing, :meth:`stop` on quit."""

    def __init__(
        self,
        store: Store,
        gateway: OutboxGateway,
        *,
        outgoing_media_dir: Path,
        public_url: Callable[[], str | None],
        shelf: Shelf | None = None,
        policy: OutboxPolicy | None = None,
        on_reachability: Reachability | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._media_dir = outgoing_media_dir
        self._public_url = public_url
        self._shelf = shelf
        self._policy = policy or OutboxPolicy()
        self._on_reachability = on_reachability
        self._clock = clock
        self._worker = Worker("outbox", self._step, on_exit=self._release_thread)
        self._unsubscribe: Callable[[], None] | None = None
        #: Consecutive temporary failures per message, for the backoff.
        self._failures: dict[int, int] = {}
        #: Cancels Twilio did not answer yet: message id → (failures, next try in ms).
        self._cancel_retries: dict[int, tuple[int, int]] = {}
        self.recovered = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Turn rows a crash left ``sending`` into ``unknown``, then start sending."""
        if self._worker.running:
            return
        self.recovered = self._store.writer.call(outbox_writes.recover_interrupted_sends)
        if self.recovered:
            logger.info(
                "%d sends were interrupted last time; checking Twilio first", self.recovered
            )
        self._unsubscribe = self._store.events.subscribe(self._on_events)
        self._worker.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the current request; a row still in flight stays ``sending`` (→ unknown)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if not self._worker.stop(timeout):
            logger.info("A send was still in flight at quit; it will be checked on next start")

    def wake(self) -> None:
        self._worker.wake()

    def _on_events(self, events: Sequence[Event]) -> None:
        # ConversationChanged: maybe an opt-out (STOP), which cancels scheduled texts.
        if any(isinstance(e, OutboxQueued | ConversationChanged) for e in events):
            self.wake()

    # -- the loop ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _release_thread(self) -> None:
        self._store.release_reader()
        release = getattr(self._gateway, "release_thread", None)
        if release is not None:
            release()

    def _step(self) -> float | None:
        try:
            return self._work_once()
        except WriterStopped:
            logger.debug("Outbox pauses: the database closed")
            return None

    def _work_once(self) -> float:
        conn = self._store.reader()
        cancel_due = self._settle_cancels()
        items = queries.outbox_due(conn, self._now_ms(), self._policy.batch)
        for listed in items:
            if self._worker.stopping:
                return 0.0
            # Read again: an earlier row of this batch may have opted the customer out,
            # and a backfill may have adopted this one meanwhile.
            item = queries.outbox_item(conn, listed.message_id)
            if item is not None and item.state in ("queued", "unknown", "sending"):
                self._process(item)
        if len(items) >= self._policy.batch:
            return 0.0
        due = queries.next_outbox_attempt_ms(conn)
        if cancel_due is not None:
            due = cancel_due if due is None else min(due, cancel_due)
        if due is None:
            return 60.0
        return max(0.0, min(60.0, (due - self._now_ms()) / 1000))

    # -- one row -----------------------------------------------------------------------------

    def _process(self, item: OutboxItem) -> None:
        if item.sid is not None:
            self._call(lambda tx: outbox_writes.settle_if_adopted(tx, item.message_id))
            return
        now = self._now_ms()
        plan = scheduled.schedule_of(self._store.reader(), item.message_id)
        if plan is not None and plan.state != "pending" and item.state == "queued":
            if plan.state == "canceling":
                self._call(lambda tx: scheduled.cancel_here(tx, item.message_id))
            return
        too_old = now - item.created_at > self._policy.give_up_after_s * 1000
        if item.state in ("unknown", "sending"):
            try:
                found = self._find_earlier_send(item)
            except TwilioProblem as problem:
                self._reachability(problem if is_network(problem) else None)
                if too_old:
                    self._fail(
                        item,
                        "Twoway could not confirm whether this message was sent. Check with the "
                        f"customer or in the Twilio Console before retrying. ({problem})",
                        problem.code,
                    )
                else:
                    self._retry(item, problem, maybe_sent=True)
                return
            self._reachability(None)
            if found is not None:
                logger.info("Message %d had reached Twilio as %s", item.message_id, found.sid)
                self._call(
                    lambda tx: writes.mark_sent(
                        tx, item.message_id, found.sid, found.status, found.error_code
                    )
                )
                self._failures.pop(item.message_id, None)
                return
            if plan is not None and plan.state == "canceling":
                # It never reached Twilio after all: canceling it is all there is to do.
                self._call(lambda tx: scheduled.cancel_here(tx, item.message_id))
                return
        send_at: datetime | None = None
        if plan is not None:
            if plan.state == "canceling":
                return
            if plan.kind is rules.Holder.LOCAL:
                if not plan.approved_late and rules.is_late(plan.send_at, now):
                    logger.info("Scheduled text %d is over an hour late: asking", item.message_id)
                    self._call(lambda tx: scheduled.mark_late(tx, item.message_id))
                    return
            elif plan.send_at - now < rules.TWILIO_SUBMIT_MIN_LEAD_S * 1000:
                self._call(lambda tx: scheduled.hold_locally(tx, item.message_id))
                return
            else:
                send_at = datetime.fromtimestamp(plan.send_at / 1000, UTC)
        if item.opted_out:
            self._fail(item, OPTED_OUT_TEXT, 21610)
            return
        if too_old:
            hours = self._policy.give_up_after_s / 3600
            self._fail(
                item,
                f"Not sent: Twilio could not be reached for {hours:g} hours. "
                "Press Retry to send it now.",
                None,
            )
            return
        public_url = (self._public_url() or "").rstrip("/")
        media_urls: list[str] = []
        if item.media:
            if not public_url or self._shelf is None:
                if now - item.created_at < self._policy.media_wait_s * 1000:
                    self._call(
                        lambda tx: outbox_writes.mark_retry(
                            tx, item.message_id, WAITING_FOR_URL_TEXT, now + 2000, maybe_sent=False
                        )
                    )
                else:
                    self._fail(item, NO_PUBLIC_URL_TEXT, None)
                return
            for file_name, content_type in item.media:
                path = self._media_dir / file_name
                if not path.is_file():
                    self._fail(item, "The picture file is missing; attach it again.", None)
                    return
                token = self._shelf.share(path, content_type)
                media_urls.append(media_url(public_url, token))
        callback = status_url(public_url) if public_url else None

        if not self._store.writer.call(
            lambda tx: outbox_writes.claim_for_sending(tx, item.message_id)
        ):
            return  # adopted by a backfill since we read it
        try:
            if send_at is None:
                sent = self._gateway.send_message(
                    to=item.to_number,
                    from_=item.from_number,
                    body=item.body,
                    media_urls=media_urls,
                    status_callback=callback,
                )
            else:
                sent = self._gateway.send_message(
                    to=item.to_number,
                    from_=item.from_number,
                    body=item.body,
                    media_urls=media_urls,
                    status_callback=callback,
                    send_at=send_at,
                )
        except TwilioProblem as problem:
            self._reachability(problem if is_network(problem) else None)
            if send_at is not None and problem.code in rules.SCHEDULE_REFUSALS:
                logger.info(
                    "Twilio cannot hold text %d (%s); sending it locally", item.message_id, problem
                )
                self._call(lambda tx: scheduled.hold_locally(tx, item.message_id))
                return
            if problem.permanent:
                self._fail(item, str(problem), problem.code)
            else:
                self._retry(item, problem, maybe_sent=problem.maybe_sent)
            return
        self._reachability(None)
        self._failures.pop(item.message_id, None)

        def record(tx: Tx) -> None:
            writes.mark_sent(tx, item.message_id, sent.sid, sent.status, sent.error_code)
            if plan is not None and send_at is None:
                scheduled.mark_sent_locally(tx, item.message_id)

        self._call(record)

    # -- cancels of texts Twilio holds -------------------------------------------------------

    def _settle_cancels(self) -> int | None:
        """Cancel what a STOP made pointless, then tell Twilio about every pending cancel;
        the time of the next retry (ms) when Twilio could not be asked now."""
        self._call(scheduled.cancel_for_opted_out)
        now = self._now_ms()
        next_try: int | None = None
        for text in scheduled.to_cancel_at_twilio(self._store.reader()):
            if self._worker.stopping:
                break
            failures, not_before = self._cancel_retries.get(text.message_id, (0, 0))
            if not_before > now:
                next_try = not_before if next_try is None else min(next_try, not_before)
                continue
            assert text.sid is not None
            try:
                remote = self._gateway.cancel_message(text.sid)
            except TwilioProblem as problem:
                self._reachability(problem if is_network(problem) else None)
                if problem.permanent:
                    self._cancel_retries.pop(text.message_id, None)
                    self._call(
                        partial(
                            scheduled.cancel_refused,
                            message_id=text.message_id,
                            text=f"Not canceled: {problem}",
                        )
                    )
                    continue
                delays = self._policy.retry_delays_s or (0.0,)
                delay = delays[min(failures, len(delays) - 1)]
                if isinstance(problem, RateLimited) and problem.retry_after_s is not None:
                    delay = max(delay, problem.retry_after_s)
                at = now + int(delay * 1000)
                self._cancel_retries[text.message_id] = (failures + 1, at)
                next_try = at if next_try is None else min(next_try, at)
                continue
            self._reachability(None)
            self._cancel_retries.pop(text.message_id, None)
            logger.info("Twilio canceled scheduled text %s (%s)", text.sid, remote.status)
            self._call(partial(scheduled.confirm_canceled, message_id=text.message_id))
        return next_try

    def _find_earlier_send(self, item: OutboxItem) -> RemoteMessage | None:
        """Our message in Twilio's log, if an earlier attempt did reach Twilio."""
        started = item.first_attempt_at or item.created_at
        cutoff = started - int(self._policy.lookup_slack_s * 1000)
        conn = self._store.reader()
        candidates: list[RemoteMessage] = []
        pages = self._gateway.iter_message_pages(
            to=item.to_number, from_=item.from_number, page_size=50
        )
        for number, page in enumerate(pages, start=1):
            for remote in page:
                if remote.inbound or remote.created_at_ms < cutoff:
                    continue
                if remote.sent_at_ms is not None and remote.sent_at_ms < cutoff:
                    continue
                if not same_text(item.body, remote.body):
                    continue
                if queries.message_id_for_sid(conn, remote.sid) is not None:
                    continue  # an earlier identical text we already know about
                candidates.append(remote)
            oldest = min((m.log_time_ms for m in page), default=0)
            if not page or oldest < cutoff or number >= self._policy.lookup_pages:
                break
        if not candidates:
            return None
        return min(candidates, key=lambda m: (m.created_at_ms, m.sid))

    # -- outcomes ----------------------------------------------------------------------------

    def _call(self, job: Callable[[Tx], object]) -> None:
        self._store.writer.call(job)

    def _fail(self, item: OutboxItem, text: str, code: int | None) -> None:
        logger.info("Message %d failed: %s", item.message_id, text)
        self._failures.pop(item.message_id, None)

        def job(tx: Tx) -> None:
            if outbox_writes.settle_if_adopted(tx, item.message_id):
                return
            outbox_writes.mark_failed(tx, item.message_id, text, code)
            if code == 21610:
                writes.set_opted_out(tx, item.from_number, item.to_number, True)

        self._call(job)

    def _retry(self, item: OutboxItem, problem: TwilioProblem, *, maybe_sent: bool) -> None:
        failures = self._failures.get(item.message_id, 0)
        self._failures[item.message_id] = failures + 1
        delays = self._policy.retry_delays_s
        delay = delays[min(failures, len(delays) - 1)] if delays else 0.0
        if maybe_sent:
            delay = max(delay, self._policy.settle_s)
        if isinstance(problem, RateLimited) and problem.retry_after_s is not None:
            delay = max(delay, problem.retry_after_s)
        next_at = self._now_ms() + int(delay * 1000)
        logger.info(
            "Message %d not sent yet (%s); retrying in %.1f s%s",
            item.message_id,
            problem,
            delay,
            " after checking Twilio's log" if maybe_sent else "",
        )

        def job(tx: Tx) -> None:
            if not outbox_writes.settle_if_adopted(tx, item.message_id):
                outbox_writes.mark_retry(
                    tx, item.message_id, str(problem), next_at, maybe_sent=maybe_sent
                )

        self._call(job)

    def _reachability(self, problem: TwilioProblem | None) -> None:
        if self._on_reachability is not None:
            try:
                self._on_reachability(problem)
            except Exception:
                logger.exception("A reachability listener failed")
