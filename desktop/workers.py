"""The one way Twoway runs work in the background: long-lived loops and a small task pool.

- :class:`Worker` — one named thread for the life of a service (the outbox, the media
  scheduler, sync, the tunnel supervisor).  Its ``step`` function does one round of work
  and says how long to wait before the next; :meth:`Worker.wake` cuts the wait short and
  :meth:`Worker.stop` ends it.  A failing step is logged and retried after a backoff, so
  no service writes its own wait/wake loop.
- :class:`Backoff` — growing delays after consecutive failures, reset by a success.
- :class:`TaskPool` — a fixed set of threads for short jobs that return a ``Future``
  (copying a picture, checking a login, one listing of a backfill).

Threads are daemons and are never started per request: descriptors and threads stay flat
however long the app runs, and a network call hanging at quit cannot hold the process
open (the owner stops its workers with a timeout and the process exits anyway).
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Final, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How long an idle worker sleeps when its step has nothing scheduled.
IDLE_WAIT_S: Final = 60.0


class Backoff:
    """Delays for consecutive failures: a fixed list, or doubling from ``initial``.

    ``jitter`` (0–1) spreads retries of many clients: each delay is scaled by a random
    factor in ``[1 - jitter, 1]``.
    """

    def __init__(
        self,
        delays: Sequence[float] = (),
        *,
        initial: float = 1.0,
        maximum: float = 60.0,
        jitter: float = 0.0,
    ) -> None:
        self._delays = tuple(delays)
        self._initial = initial
        self._maximum = maximum
        self._jitter = jitter
        self.failures = 0

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1 = after the first failure)."""
        if self._delays:
            base = self._delays[min(attempt, len(self._delays)) - 1]
        else:
            base = min(self._maximum, self._initial * 2.0 ** min(max(0, attempt - 1), 30))
        if self._jitter:
            base *= 1 - random.random() * self._jitter  # noqa: S311 (not cryptographic)
        return base

    def failed(self) -> float:
        """Count one more failure and return how long to wait before trying again."""
        self.failures += 1
        return self.delay(self.failures)

    def succeeded(self) -> None:
        self.failures = 0


class Worker:
    """Runs ``step()`` on one thread until stopped.

    ``step`` returns the seconds to wait before it runs again (0: at once; None: until
    woken or :data:`IDLE_WAIT_S`).  An exception in ``step`` is logged and the step runs
    again after ``error_backoff``.  ``on_exit`` runs on the worker thread as it ends,
    to release what the thread held (connections, sessions).
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], float | None],
        *,
        error_backoff: Backoff | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._step = step
        self._errors = error_backoff or Backoff(initial=5.0, maximum=120.0)
        self._on_exit = on_exit
        self._cond = threading.Condition()
        self._woken = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        with self._cond:
            return self._stopping

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the step again as soon as the current one finishes."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def sleep(self, seconds: float) -> bool:
        """Wait inside a step; returns True (at once) when the worker is stopping."""
        with self._cond:
            if not self._stopping and seconds > 0:
                self._cond.wait_for(lambda: self._stopping, seconds)
            return self._stopping

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end and wait up to ``timeout``; True when the thread ended."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            logger.info("%s is still busy after %.1f s; leaving it behind", self.name, timeout)
            return False
        with self._cond:
            if self._thread is thread:
                self._thread = None
        return True

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    if self._stopping:
                        return
                    self._woken = False
                try:
                    wait_s = self._step()
                    self._errors.succeeded()
                except Exception:
                    wait_s = self._errors.failed()
                    logger.exception("%s failed; trying again in %.0f s", self.name, wait_s)
                if wait_s is None:
                    wait_s = IDLE_WAIT_S
                with self._cond:
                    if wait_s > 0 and not self._woken and not self._stopping:
                        self._cond.wait_for(lambda: self._woken or self._stopping, wait_s)
        finally:
            if self._on_exit is not None:
                try:
                    self._on_exit()
                except Exception:
                    logger.exception("%s could not clean up", self.name)


class TaskPool:
    """A fixed number of daemon threads running submitted calls, each with a Future.

    Unlike ``ThreadPoolExecutor`` its threads are daemons that the interpreter does not
    join at exit, so a request stuck in a 20-second read cannot delay a clean stop.
    """

    _ids = itertools.count(1)

    def __init__(
        self,
        size: int,
        name: str,
        *,
        on_thread_exit: Callable[[], None] | None = None,
    ) -> None:
        self._size = size
        self._name = name
        self._on_exit = on_thread_exit
        self._queue: queue.SimpleQueue[tuple[Future[object], Callable[[], object]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` has been called: nothing more can be submitted."""
        return self._closed

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name} has been shut down")
            if len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._run,
                    name=f"{self._name}-{next(self._ids)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            self._queue.put((future, fn))  # type: ignore[arg-type]
        return future

    def shutdown(self, *, wait: bool = True, timeout: float = 5.0) -> None:
        """Cancel what has not started; optionally wait (up to ``timeout``) for the rest."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                future, fn = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = fn()
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                del item, future, fn  # drop references before waiting again
        finally:
            if self._on_exit is not None:
                try:
                    self._on_exit()
                except Exception:
                    logger.exception("%s could not clean up", self._name)
