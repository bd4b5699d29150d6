"""Simulated time and background work for the simulator.

Every delay in the simulator (status steps, a persona "typing" a reply, the demo script's
timeline) is expressed in simulated seconds and goes through one :class:`Scheduler`, so a
test can run the whole demo at ``speed=50`` without touching any other code.  Work that
does network I/O runs on a small thread pool, never on the timer thread, so a slow
webhook receiver cannot delay the rest of the simulation.

Timers are kept in simulated time, so :meth:`SimClock.advance` (a test "waiting" a day for
a text scheduled with ``SendAt``) fires everything that falls due in the jump, in order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)


class SimClock:
    """Wall-clock time that can run faster than real time.

    The clock starts at the real current time and then advances ``speed`` times faster,
    so timestamps stay plausible and keep the order in which things happened.
    """

    def __init__(self, speed: float = 1.0, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._anchor = (start or datetime.now(UTC)).astimezone(UTC)
        self._anchor_monotonic = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._anchor_monotonic) * self._speed
        return self._anchor + timedelta(seconds=elapsed)

    def advance(self, sim_seconds: float) -> None:
        """Jump ``sim_seconds`` ahead at once (tests: "the next morning")."""
        if sim_seconds < 0:
            raise ValueError("time only moves forward")
        self._anchor += timedelta(seconds=sim_seconds)

    def to_real(self, sim_seconds: float) -> float:
        """Real seconds to wait for ``sim_seconds`` of simulated time to pass."""
        return max(sim_seconds, 0.0) / self._speed


class Scheduler:
    """Runs callables after a simulated delay, on a worker pool.

    Exceptions are logged, never raised into a thread (pytest turns those into errors and
    the demo would silently lose its script).
    """

    def __init__(self, clock: SimClock, *, max_workers: int = 8) -> None:
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sim-work")
        #: (due as simulated POSIX seconds, tie-breaker, work)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sim-timer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def clock(self) -> SimClock:
        return self._clock

    @property
    def stopped(self) -> bool:
        return self._stopped

    def call_later(self, sim_delay: float, fn: Callable[[], None]) -> None:
        self._push(self._sim_now() + max(sim_delay, 0.0), fn)

    def call_at(self, when: datetime, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the simulated clock reaches ``when`` (e.g. a message's SendAt)."""
        self._push(when.timestamp(), fn)

    def advance(self, sim_seconds: float) -> None:
        """Move the clock ahead and run whatever fell due meanwhile."""
        self._clock.advance(sim_seconds)
        with self._cond:
            self._cond.notify_all()

    def _sim_now(self) -> float:
        return self._clock.now().timestamp()

    def _push(self, due: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (due, next(self._counter), fn))
            self._cond.notify()

    def submit(self, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            try:
                self._pool.submit(self._guarded, fn)
            except RuntimeError:  # pool already shut down
                logger.debug("dropped work submitted during shutdown")

    def sleep(self, sim_seconds: float) -> bool:
        """Block a worker for ``sim_seconds``; False when the scheduler stopped meanwhile."""
        deadline = time.monotonic() + self._clock.to_real(sim_seconds)
        with self._cond:
            while not self._stopped:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                self._cond.wait(remaining)
        return False

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > self._sim_now()):
                    timeout = (
                        self._clock.to_real(self._heap[0][0] - self._sim_now())
                        if self._heap
                        else None
                    )
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            self.submit(fn)

    @staticmethod
    def _guarded(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            logger.exception("simulator background task failed")
