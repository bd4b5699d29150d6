"""The door from the core's threads into the GUI: store events and connection snapshots.

The store publishes committed event batches on its writer thread and the connection
board publishes snapshots from whichever service changed; neither may touch a widget.
The bridge collects them under a lock and wakes the GUI thread with one queued signal,
then hands everything that piled up to the widgets at most every ``FLUSH_INTERVAL_MS``
(a text shows within about 50 ms).  While a burst pours in (more than
``BURST_EVENTS_PER_S`` events a second over the last flushes) it flushes only every
``BURST_FLUSH_INTERVAL_MS``: a thousand webhooks become a handful of UI updates, not a
thousand, and the GUI thread leaves the interpreter to the receiver and the writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.domain.connection import ConnectionSnapshot
from desktop.domain.events import Event

if TYPE_CHECKING:
    from desktop.core import Core

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_MS: Final = 50
BURST_FLUSH_INTERVAL_MS: Final = 250
BURST_EVENTS_PER_S: Final = 200.0
#: How quickly the measured rate follows a change (weight of the newest flush).
_RATE_SMOOTHING: Final = 0.5


class CoreBridge(QObject):
    """Re-emits the core's callbacks as GUI-thread signals.

    Signals:
        storeEvents(list[Event]): committed events, in commit order, batched.
        connectionChanged(ConnectionSnapshot): the newest snapshot (older ones are skipped).
    """

    storeEvents = Signal(list)
    connectionChanged = Signal(object)
    _wake = Signal()

    def __init__(
        self,
        core: Core,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._clock = clock
        #: Events per second delivered recently (smoothed over flushes).
        self._rate = 0.0
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._snapshot: ConnectionSnapshot | None = None
        self._wake_pending = False
        self._detached = False
        self._last_flush = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)
        self._wake.connect(self._on_wake)
        self._unsubscribe: Callable[[], None] | None = core.store.events.subscribe(self._on_events)
        core.connection.subscribe(self._on_snapshot)

    @property
    def interval_ms(self) -> int:
        """The pause between two deliveries now: longer while a burst pours in."""
        return BURST_FLUSH_INTERVAL_MS if self._rate > BURST_EVENTS_PER_S else FLUSH_INTERVAL_MS

    @property
    def snapshot(self) -> ConnectionSnapshot:
        return self._core.connection.snapshot

    def detach(self) -> None:
        """Stop listening (at shutdown, before the core closes)."""
        self._detached = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- any thread ----------------------------------------------------------------------

    def _wake_gui(self) -> None:
        # The connection board cannot unsubscribe: after the window is gone, stay quiet.
        if not self._detached and shiboken6.isValid(self):
            self._wake.emit()

    def _on_events(self, events: Sequence[Event]) -> None:
        with self._lock:
            self._events.extend(events)
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._wake_gui()

    def _on_snapshot(self, snapshot: ConnectionSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._wake_gui()

    # -- GUI thread ----------------------------------------------------------------------

    @Slot()
    def _on_wake(self) -> None:
        if self._timer.isActive():
            return
        since = (self._clock() - self._last_flush) * 1000
        interval = self.interval_ms
        if since >= interval:
            self._flush()
        else:
            self._timer.start(int(interval - since) + 1)

    @Slot()
    def _flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
            snapshot, self._snapshot = self._snapshot, None
            self._wake_pending = False
        now = self._clock()
        elapsed = now - self._last_flush
        self._last_flush = now
        if elapsed >= 1.0:
            self._rate = 0.0  # quiet for a second: the burst is over
        elif elapsed > 0:
            self._rate += _RATE_SMOOTHING * (len(events) / elapsed - self._rate)
        if snapshot is not None:
            self.connectionChanged.emit(snapshot)
        if events:
            self.storeEvents.emit(events)

    def flush_now(self) -> None:
        """Deliver whatever is pending immediately (tests and shutdown)."""
        self._timer.stop()
        self._flush()
