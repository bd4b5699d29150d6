"""The simulated Twilio in its own process, for benchmarks that measure the app's process.

A benchmark that counts the app's descriptors, threads and memory must not count the far
end's too: here the simulator runs in a child process (a ``multiprocessing`` manager) and
the benchmark drives it through a small proxy with plain-data answers.
"""

from __future__ import annotations

from datetime import datetime
from multiprocessing.managers import BaseManager
from typing import Any

from desktop.simulator.server import SimulatedTwilio


class SimulatorHandle:
    """Lives in the child; every method answers with plain, picklable data."""

    def __init__(self, friendly_name: str) -> None:
        self._sim = SimulatedTwilio(friendly_name=friendly_name).start()

    def info(self) -> dict[str, str]:
        return {
            "account_sid": self._sim.account_sid,
            "auth_token": self._sim.auth_token,
            "base_url": self._sim.base_url,
        }

    def add_number(self, e164: str) -> None:
        self._sim.add_number(e164)

    def add_history_message(
        self,
        from_: str,
        to: str,
        body: str,
        at: datetime,
        media: list[tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """Store a message in the log (no webhook); returns its SID and media URLs."""
        message = self._sim.add_history_message(
            from_=from_, to=to, body=body, at=at, media=media or ()
        )
        return {"sid": message.sid, "media_urls": [self._sim.media_url(m) for m in message.media]}

    def stop(self) -> None:
        self._sim.stop()


class SimulatorManager(BaseManager):
    pass


SimulatorManager.register("Simulator", SimulatorHandle)
