"""Noticing that the laptop slept (or the process was frozen) so the gap is closed at once.

Twilio does not retry a webhook that found nobody listening, so texts sent while the lid
was closed exist only in its message log.  A heartbeat ticks every few seconds and
compares how much time passed with how much should have:

- the monotonic clock jumped (the process was stopped — SIGSTOP, a debugger, a frozen VM);
- the wall clock ran ahead of the monotonic one (the system was suspended: on Linux the
  monotonic clock stands still during suspend, the wall clock does not).

Either way ``on_resume(seconds_missed)`` is called from the heartbeat thread.  The OS's own
signals (logind's PrepareForSleep, macOS's did-wake, Windows' power broadcast) are
adapters in the UI layer that call :meth:`ResumeWatcher.resumed` directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from desktop.workers import Worker

logger = logging.getLogger(__name__)

TICK_S: Final = 2.0
#: Lateness beyond one tick that counts as "we were away" (scheduling jitter stays below).
AWAY_AFTER_S: Final = 6.0
#: Several reports of one wake-up (heartbeat and OS signal) are folded into one.
DEBOUNCE_S: Final = 10.0


class ResumeWatcher:
    """A heartbeat that calls ``on_resume`` after the process or the system was away."""

    def __init__(
        self,
        on_resume: Callable[[float, str], None],
        *,
        tick_s: float = TICK_S,
        away_after_s: float = AWAY_AFTER_S,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._on_resume = on_resume
        self._tick_s = tick_s
        self._away_after_s = away_after_s
        self._monotonic = monotonic
        self._wall = wall
        self._last: tuple[float, float] | None = None
        self._last_report = float("-inf")
        self._worker = Worker("resume-heartbeat", self.tick)

    def start(self) -> None:
        self._last = None
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop(timeout=2.0)

    def tick(self) -> float:
        """One heartbeat (the worker's step; tests call it with fake clocks)."""
        mono, wall = self._monotonic(), self._wall()
        last, self._last = self._last, (mono, wall)
        if last is not None:
            mono_gap = mono - last[0]
            wall_gap = wall - last[1]
            missed = max(mono_gap, wall_gap) - self._tick_s
            if missed > self._away_after_s:
                how = "the system slept" if wall_gap - mono_gap > self._away_after_s else "paused"
                self.resumed(missed, how)
        return self._tick_s

    def resumed(self, seconds_missed: float, how: str) -> None:
        """Report a wake-up (from the heartbeat or an OS signal), at most once per wake."""
        now = self._monotonic()
        if now - self._last_report < DEBOUNCE_S:
            return
        self._last_report = now
        logger.info("Back after about %.0f s (%s): checking for missed texts", seconds_missed, how)
        try:
            self._on_resume(seconds_missed, how)
        except Exception:
            logger.exception("Catching up after a wake-up failed")
