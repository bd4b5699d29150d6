"""``SyncService``: the outbox, backfill, polling and the number's webhook, as one service.

Built by ``Core.start()`` once credentials are known.  Two daemon threads: ``outbox``
(sends, see :mod:`desktop.sync.outbox`) and ``sync``, which runs everything else one
thing at a time, so two backfills never overlap:

1. on start: read the account and its numbers, point the chosen number at the public URL
   (when there is one, and only if that clobbers nobody), and backfill;
2. then, while Twilio cannot call us (no public URL, or the number points elsewhere):
   a light backfill every ``poll_interval_s``, plus status polling when there is no
   public URL for status callbacks; with webhooks, a light safety backfill now and then;
3. on request: :meth:`backfill_now` and :meth:`on_public_url_changed` (re-point the
   number, then backfill the gap while the tunnel was down).

What the user should see goes to the :class:`ConnectionBoard`: ``link`` (POLLING or
OFFLINE; ONLINE again once Twilio answers), ``problem``, ``sync_progress`` and
``last_sync_ms``.  Blocking calls meant for the UI (:meth:`check_account`,
:meth:`configure_webhook`, :meth:`restore_webhook`) must run off the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from desktop.config import Settings, WebhookPolicy
from desktop.domain.connection import ConnectionBoard, Link
from desktop.gateway.rest import RestCredentials, RestGateway
from desktop.gateway.rest_types import AccountInfo, IncomingNumber, TwilioProblem
from desktop.guarded import GuardedValue
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.sync.backfill import BackfillCancelled, Backfiller, BackfillResult, progress_text
from desktop.sync.messaging_services import ServiceDirectoryCache, ServiceSender
from desktop.sync.outbox import OutboxPolicy, OutboxWorker, Shelf, is_network
from desktop.sync.poller import poll_statuses
from desktop.sync.webhook_config import WebhookConfigurator, WebhookOutcome, WebhookResult
from desktop.workers import TaskPool, Worker

logger = logging.getLogger(__name__)

RETRY_DELAYS_S: Final = (5.0, 15.0, 30.0, 60.0, 120.0)
SAFETY_INTERVAL_S: Final = 15 * 60.0


class CannotConfigure(RuntimeError):
    """The webhook cannot be set up yet; ``str()`` says what is missing."""


@dataclass
class _Backfill:
    reason: str
    future: Future[BackfillResult] = field(default_factory=Future)


@dataclass
class _UrlChanged:
    url: str | None


@dataclass
class _Call:
    """A blocking call the UI asked for, run on the sync worker between other work."""

    call: Callable[[], WebhookResult]
    future: Future[WebhookResult] = field(default_factory=Future)


class SyncService:
    """Qt-free; ``start()``/``stop()`` from one thread, the rest from any thread."""

    def __init__(
        self,
        store: Store,
        credentials: RestCredentials,
        *,
        api_base_url: str,
        public_url: Callable[[], str | None],
        shelf: Shelf | None,
        settings: GuardedValue[Settings],
        connection: ConnectionBoard,
        outgoing_media_dir: Path,
        phone_number: str | None = None,
        poll_interval_s: float | None = None,
        safety_interval_s: float = SAFETY_INTERVAL_S,
        outbox_policy: OutboxPolicy | None = None,
        backfill_page_size: int = 1000,
        first_sync_days: int = 90,
        gateway: RestGateway | None = None,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        webhook_url: Callable[[], str | None] | None = None,
    ) -> None:
        self._store = store
        self._public_url = public_url
        #: Where the number's webhook should point (team mode: only on the lease holder;
        #: None = read Twilio's log).  Sends keep using ``public_url`` for callbacks.
        self._webhook_url = webhook_url or public_url
        self._settings = settings
        self._board = connection
        self._phone_override = phone_number
        self._poll_interval_s = poll_interval_s
        self._safety_interval_s = safety_interval_s
        self._retry_delays = retry_delays_s
        self.gateway = gateway or RestGateway(credentials, api_base_url)
        #: Which Messaging Service each number is in: sends go through it, webhooks follow it.
        self.services = ServiceDirectoryCache(lambda: self.gateway.messaging)
        self.outbox = OutboxWorker(
            store,
            ServiceSender(self.gateway, self.services),
            outgoing_media_dir=outgoing_media_dir,
            public_url=public_url,
            shelf=shelf,
            policy=outbox_policy,
            on_reachability=self._reachability,
        )
        self.backfiller = Backfiller(
            store, self.gateway, page_size=backfill_page_size, first_sync_days=first_sync_days
        )
        self.webhooks = WebhookConfigurator(self.gateway, store, settings, services=self.services)
        self._cond = threading.Condition()
        self._tasks: deque[_Backfill | _UrlChanged | _Call] = deque()
        self._stopping = False
        self._worker = Worker("sync", self._step, on_exit=self._release_thread)
        #: Blocking calls that must finish by a deadline (restoring the webhook at quit).
        self._calls = TaskPool(1, "sync-call", on_thread_exit=self._release_thread)
        self._last_tick: float | None = None
        self._retry_at: float | None = None
        self._account: AccountInfo | None = None
        self._started_up = False
        self._failures = 0
        self._points_here: bool | None = None
        self._my_problem = ""
        #: A problem only the user can fix (consent, which number): not cleared by success.
        self._lasting_problem = False
        #: The last automatic webhook attempt (the UI asks the user when it needs consent).
        self.webhook_result: WebhookResult | None = None
        self.last_backfill: BackfillResult | None = None
        #: Light backfills run so far (diagnostics and the soak benchmark).
        self.polls = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._worker.running:
            return
        with self._cond:
            self._stopping = False
        self.outbox.start()
        self._worker.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop both workers; a request in flight is abandoned (the outbox copes on restart)."""
        with self._cond:
            self._stopping = True
            pending = list(self._tasks)
            self._tasks.clear()
            self._cond.notify_all()
        self.outbox.stop(timeout)
        ended = self._worker.stop(timeout)
        for task in pending:
            if not isinstance(task, _UrlChanged):
                task.future.cancel()
        self._calls.shutdown(wait=False)
        self.backfiller.close()
        if ended:
            self.gateway.close()

    def _release_thread(self) -> None:
        self._store.release_reader()
        self.gateway.release_thread()

    # -- requests from the app -----------------------------------------------------------------

    def backfill_now(self, reason: str) -> Future[BackfillResult]:
        """Queue a full backfill (e.g. after the laptop woke up); the future tells how it went."""
        task = _Backfill(reason)
        self._enqueue(task)
        return task.future

    def on_public_url_changed(self, url: str | None) -> None:
        """The tunnel came up, moved or went down: re-point the number, close the gap."""
        self._enqueue(_UrlChanged(url.rstrip("/") if url else None))

    def check_account(self) -> AccountInfo:
        """Fetch the account and its numbers (raises TwilioProblem); blocking."""
        info = self.gateway.fetch_account()
        rows = [(n.e164, n.sid, n.friendly_name, n.sms, n.mms, n.sms_url) for n in info.numbers]
        self._store.writer.call(lambda tx: writes.save_our_numbers(tx, rows))
        self._account = info
        chosen = self.chosen_number()
        self._board.update(phone_number=chosen.e164 if chosen else "")
        return info

    def chosen_number(self) -> IncomingNumber | None:
        """The number Twoway receives on: the configured one, or the account's only SMS one."""
        account = self._account
        if account is None:
            return None
        wanted = (self._phone_override or self._settings.value.phone_number or "").strip()
        if wanted:
            for number in account.numbers:
                if number.e164 == wanted:
                    return number
            # Typed without the country code, "(503) 555-0100": accept one unambiguous match.
            digits = "".join(ch for ch in wanted if ch.isdigit())
            matches = [
                n
                for n in account.numbers
                if len(digits) >= 7 and "".join(filter(str.isdigit, n.e164)).endswith(digits)
            ]
            return matches[0] if len(matches) == 1 else None
        texting = account.sms_numbers
        return texting[0] if len(texting) == 1 else None

    def configure_webhook(self, *, force: bool = False) -> WebhookResult:
        """Point the chosen number here (``force`` after the user agreed); blocking."""
        url = self._webhook_url()
        if not url:
            raise CannotConfigure(
                "Twoway has no public address yet, so Twilio cannot deliver texts to it."
            )
        if self._account is None:
            self.check_account()
        number = self.chosen_number()
        if number is None:
            raise CannotConfigure(self._no_number_text())
        result = self.webhooks.configure(number.sid, url, force=force)
        self._after_webhook(result)
        return result

    def restore_webhook(
        self, number_sid: str | None = None, *, force: bool = False
    ) -> WebhookResult:
        """Put back the number's previous ``sms_url``; blocking."""
        if number_sid is None:
            if self._account is None:
                self.check_account()
            number = self.chosen_number()
            if number is None:
                raise CannotConfigure(self._no_number_text())
            number_sid = number.sid
        result = self.webhooks.restore(number_sid, force=force)
        if result.outcome is WebhookOutcome.RESTORED:
            self._points_here = False
            self._board.update(number_points_here=False)
            self.wake()
        return result

    def restore_on_quit(self, timeout: float = 5.0) -> WebhookResult | None:
        """When the user chose "only while Twoway runs": restore, waiting at most ``timeout``."""
        if self._settings.value.webhook_policy is not WebhookPolicy.RESTORE_ON_QUIT:
            return None
        number = self.chosen_number()
        if number is None or self.webhooks.previous_url(number.sid) is None:
            return None
        attempt = self._calls.submit(lambda: self.webhooks.restore(number.sid))
        try:
            return attempt.result(timeout)
        except Exception as problem:  # network, a timeout, or the database already closed
            logger.warning("Could not restore the webhook on quit: %s", problem or "timed out")
            return None

    def take_over_webhook(self) -> Future[WebhookResult]:
        """Point the number here even if another app had it (the user agreed); queued."""
        task = _Call(lambda: self.configure_webhook(force=True))
        self._enqueue(task)
        return task.future

    def wake(self) -> None:
        self._worker.wake()

    # -- the sync worker ---------------------------------------------------------------------

    def _enqueue(self, task: _Backfill | _UrlChanged | _Call) -> None:
        with self._cond:
            if self._stopping:
                if not isinstance(task, _UrlChanged):
                    task.future.cancel()
                return
            self._tasks.append(task)
        self._worker.wake()

    def _step(self) -> float | None:
        """One thing at a time: a queued request, else the periodic tick when it is due."""
        with self._cond:
            if self._stopping:
                return None
            task = self._tasks.popleft() if self._tasks else None
        try:
            if task is not None:
                self._run_task(task)
                return 0.0
            now = time.monotonic()
            due = self._next_due()
            if due > now:
                # The interval depends on the mode (public URL or not): look again soon.
                return min(due - now, 1.0)
            self._last_tick = now
            delay = self._tick()
            self._retry_at = None if delay is None else now + delay
        except BackfillCancelled:
            return None
        except Exception:
            logger.exception("Sync failed unexpectedly")
            self._retry_at = time.monotonic() + 30.0
        return 0.0 if self._tasks else min(max(self._next_due() - time.monotonic(), 0.0), 1.0)

    def _next_due(self) -> float:
        if self._retry_at is not None:
            return self._retry_at
        if self._last_tick is None:
            return 0.0
        return self._last_tick + self._interval()

    def _tick(self) -> float | None:
        """Start-up until it succeeds, then periodic polling; a delay when it failed."""
        try:
            if not self._started_up:
                self._startup()
                self._started_up = True
            else:
                self._poll()
        except TwilioProblem as problem:
            return self._failed(problem)
        self._failures = 0
        return None

    def _interval(self) -> float:
        if self._polling():
            return float(self._poll_interval_s or self._settings.value.poll_interval_s)
        return self._safety_interval_s

    def _polling(self) -> bool:
        """Without a public URL (or with the number pointing elsewhere) nothing calls us."""
        return not self._webhook_url() or self._points_here is False

    def _startup(self) -> None:
        self.check_account()
        if self._webhook_url():
            self._auto_configure()
        self._backfill("start", light=False)

    def _poll(self) -> None:
        self.polls += 1
        self._backfill("poll", light=True)
        if not self._public_url():
            poll_statuses(self._store, self.gateway, now_ms=writes.now_ms())
        self._healthy()

    def _run_task(self, task: _Backfill | _UrlChanged | _Call) -> None:
        if isinstance(task, _Call):
            if task.future.set_running_or_notify_cancel():
                try:
                    task.future.set_result(task.call())
                except BaseException as exc:
                    task.future.set_exception(exc)
            return
        if isinstance(task, _UrlChanged):
            try:
                if task.url and self._started_up:
                    self._auto_configure()
                elif not task.url:
                    self._points_here = None
                if self._started_up:
                    self._backfill("public URL changed", light=False)
            except TwilioProblem as problem:
                self._failed(problem)
            return
        if not task.future.set_running_or_notify_cancel():
            return
        try:
            if not self._started_up:
                self._startup()
                self._started_up = True
                result = self.last_backfill
                assert result is not None
            else:
                result = self._backfill(task.reason, light=False)
        except BaseException as exc:
            if isinstance(exc, TwilioProblem):
                self._failed(exc)
            task.future.set_exception(exc)
            return
        task.future.set_result(result)

    def _auto_configure(self) -> None:
        number = self.chosen_number()
        url = self._webhook_url()
        if number is None:
            self._set_problem(self._no_number_text(), lasting=True)
            return
        if not url:
            return
        result = self.webhooks.configure(number.sid, url, force=False)
        self._after_webhook(result)

    def _after_webhook(self, result: WebhookResult) -> None:
        self.webhook_result = result
        self._points_here = result.points_here
        self._board.update(number_points_here=result.points_here, phone_number=result.phone_number)
        if result.needs_consent:
            self._set_problem(result.message, detail=result.current_url, lasting=True)
        else:
            self._clear_problem()
            if self._board.snapshot.link in (Link.POLLING, Link.OFFLINE, Link.STARTING):
                self._board.update(link=Link.ONLINE)
        self.wake()

    def _backfill(self, reason: str, *, light: bool) -> BackfillResult:
        numbers = self._sms_numbers()
        shown = not light

        def progress(fetched: int, estimate: int | None) -> None:
            if shown:
                self._board.update(sync_progress=progress_text(fetched, estimate))

        try:
            result = self.backfiller.run(
                numbers,
                reason=reason,
                light=light,
                progress=progress,
                cancelled=lambda: self._stopping,
            )
        finally:
            if shown:
                self._board.update(sync_progress="")
        self.last_backfill = result
        self._board.update(last_sync_ms=writes.now_ms())
        self._healthy()
        return result

    def _sms_numbers(self) -> list[str]:
        if self._account is not None:
            return [n.e164 for n in self._account.sms_numbers]
        return [n.e164 for n in queries.our_numbers(self._store.reader()) if n.sms]

    # -- what the user sees ------------------------------------------------------------------

    def _no_number_text(self) -> str:
        wanted = (self._phone_override or self._settings.value.phone_number or "").strip()
        if wanted:
            return f"{wanted} is not one of the numbers on this Twilio account. Choose another."
        return "Choose which of your Twilio numbers Twoway should use, in Settings."

    def _failed(self, problem: TwilioProblem) -> float:
        self._failures += 1
        delay = self._retry_delays[min(self._failures - 1, len(self._retry_delays) - 1)]
        logger.info("Sync failed (%s); next try in %.0f s", problem, delay)
        if is_network(problem):
            self._reachability(problem)
        else:
            self._set_problem(str(problem))
        return delay

    def _healthy(self) -> None:
        self._reachability(None)
        if self._polling() and not self._public_url():
            self._board.update(link=Link.POLLING)

    def _reachability(self, problem: TwilioProblem | None) -> None:
        """Outbox and sync report here whether Twilio answered."""
        link = self._board.snapshot.link
        if problem is not None:
            self._board.update(link=Link.OFFLINE)
            self._set_problem(str(problem))
            return
        if link is Link.OFFLINE:
            self._board.update(link=Link.ONLINE if self._public_url() else Link.POLLING)
        if self._my_problem and not self._lasting_problem:
            self._clear_problem()

    def _set_problem(self, text: str, detail: str = "", *, lasting: bool = False) -> None:
        with self._cond:
            self._my_problem = text
            self._lasting_problem = lasting
        self._board.update(problem=text, detail=detail)

    def _clear_problem(self) -> None:
        with self._cond:
            mine, self._my_problem = self._my_problem, ""
            self._lasting_problem = False
        if mine and self._board.snapshot.problem == mine:
            self._board.update(problem="", detail="")
