"""Failures a test can switch on, so the app's error paths run against real HTTP.

Everything here is set from the test thread and read from server threads, hence the lock.
Carrier facts about recipients (landline, not mobile, region disabled) live here too: on
the real network they are as much outside the app's control as an outage.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from desktop.simulator.errors import TwilioApiError


@dataclass(frozen=True, slots=True)
class Outcome:
    """How delivery to one recipient ends: final status plus Twilio's error code."""

    status: str
    error_code: int | None = None


class FaultPlan:
    """Injected failures and carrier conditions; all methods are thread-safe."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = rng or random.Random()  # noqa: S311 - simulation, not security
        self.reset()

    def reset(self) -> None:
        """Back to a healthy Twilio with no latency and no carrier quirks."""
        with self._lock:
            self._create_failures: list[TwilioApiError] = []
            self._drops = 0
            self._latency = 0.0
            self._outage_status: int | None = None
            self._outage_until: float | None = None
            self._landlines: set[str] = set()
            self._not_mobile: set[str] = set()
            self._disabled_regions: set[str] = set()
            self._outcomes: dict[str, Outcome] = {}
            self._out_of_order: bool | None = None
            self._out_of_order_probability = 0.0
            self._media_fetch_failures = 0

    # -- REST faults ------------------------------------------------------------------

    def fail_next_creates(
        self, count: int = 1, *, code: int = 20429, status: int = 429, message: str | None = None
    ) -> None:
        """Make the next ``count`` message creates fail before anything is stored."""
        if 30000 <= code < 31000:
            raise ValueError("30xxx codes are delivery failures, not create errors")
        with self._lock:
            self._create_failures.extend(
                TwilioApiError(status, code, message) for _ in range(count)
            )

    def take_create_failure(self) -> TwilioApiError | None:
        with self._lock:
            return self._create_failures.pop(0) if self._create_failures else None

    def drop_next_create_response(self, count: int = 1) -> None:
        """Store the next ``count`` messages, then cut the connection instead of answering."""
        with self._lock:
            self._drops += count

    def take_drop(self) -> bool:
        with self._lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            return True

    def set_latency(self, seconds: float) -> None:
        """Delay every REST request by ``seconds`` (real time)."""
        with self._lock:
            self._latency = max(seconds, 0.0)

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    def start_outage(self, status: int = 503, *, seconds: float | None = None) -> None:
        """Answer every REST request with ``status`` until :meth:`end_outage` or ``seconds``."""
        with self._lock:
            self._outage_status = status
            self._outage_until = time.monotonic() + seconds if seconds is not None else None

    def end_outage(self) -> None:
        with self._lock:
            self._outage_status = None
            self._outage_until = None

    def outage_status(self) -> int | None:
        with self._lock:
            if self._outage_until is not None and time.monotonic() >= self._outage_until:
                self._outage_status = None
                self._outage_until = None
            return self._outage_status

    # -- recipients -------------------------------------------------------------------

    def mark_landline(self, number: str) -> None:
        """Creates succeed; delivery ends ``undelivered`` with 30006."""
        with self._lock:
            self._landlines.add(number)

    def mark_not_mobile(self, number: str) -> None:
        """Creates to ``number`` fail with 21614."""
        with self._lock:
            self._not_mobile.add(number)

    def disable_region(self, region_code: str) -> None:
        """Geo permissions: creates to numbers of this ISO region fail with 21408."""
        with self._lock:
            self._disabled_regions.add(region_code.upper())

    def enable_region(self, region_code: str) -> None:
        with self._lock:
            self._disabled_regions.discard(region_code.upper())

    def set_recipient_outcome(
        self, number: str, status: str = "failed", error_code: int | None = 30007
    ) -> None:
        """Delivery to ``number`` ends with ``status``/``error_code`` instead of delivered."""
        with self._lock:
            self._outcomes[number] = Outcome(status, error_code)

    def is_not_mobile(self, number: str) -> bool:
        with self._lock:
            return number in self._not_mobile

    def is_region_disabled(self, region_code: str | None) -> bool:
        with self._lock:
            return region_code is not None and region_code.upper() in self._disabled_regions

    def outcome_for(self, number: str) -> Outcome:
        with self._lock:
            if number in self._outcomes:
                return self._outcomes[number]
            if number in self._landlines:
                return Outcome("undelivered", 30006)
        return Outcome("delivered")

    def fail_next_media_fetches(self, count: int = 1) -> None:
        """Treat the next ``count`` outbound media fetches as failed (11200)."""
        with self._lock:
            self._media_fetch_failures += count

    def take_media_fetch_failure(self) -> bool:
        with self._lock:
            if self._media_fetch_failures <= 0:
                return False
            self._media_fetch_failures -= 1
            return True

    # -- status callback order --------------------------------------------------------

    def set_callbacks_out_of_order(
        self, always: bool | None = None, *, probability: float | None = None
    ) -> None:
        """``always=True``: every message's ``sent`` callback arrives after its final one;
        ``always=False``: never; ``None`` with ``probability``: random per message."""
        with self._lock:
            self._out_of_order = always
            if probability is not None:
                self._out_of_order_probability = min(max(probability, 0.0), 1.0)

    def callbacks_out_of_order(self) -> bool:
        with self._lock:
            if self._out_of_order is not None:
                return self._out_of_order
            return self._rng.random() < self._out_of_order_probability
