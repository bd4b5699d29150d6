"""The bridge from the core's threads to the window: prompt for one text, sparing in a burst."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from desktop.core import Core
from desktop.domain.events import ConversationChanged, Event
from desktop.ui.bridge import BURST_FLUSH_INTERVAL_MS, FLUSH_INTERVAL_MS, CoreBridge
from tests.gui.conftest import inbound


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _received(bridge: CoreBridge) -> list[list[Event]]:
    batches: list[list[Event]] = []
    bridge.storeEvents.connect(lambda events: batches.append(list(events)))
    return batches


def test_a_text_after_a_quiet_spell_is_handed_over_at_once(qtbot: QtBot, gui_core: Core) -> None:
    bridge = CoreBridge(gui_core)
    batches = _received(bridge)
    try:
        with qtbot.waitSignal(bridge.storeEvents, timeout=5000):
            added = inbound(gui_core, "Is Thursday at 3 free?")
        delivered = [e for batch in batches for e in batch]
        assert any(getattr(e, "message_id", None) == added.message_id for e in delivered)
        assert bridge.interval_ms == FLUSH_INTERVAL_MS
    finally:
        bridge.detach()


def test_a_burst_is_delivered_less_often_and_quiet_brings_the_short_pause_back(
    qtbot: QtBot, gui_core: Core
) -> None:
    clock = FakeClock()
    bridge = CoreBridge(gui_core, clock=clock)
    batches = _received(bridge)
    hub = gui_core.store.events
    try:
        # 25 texts every 50 ms = 500 a second: well over what one person reads.
        for step in range(4):
            clock.now += FLUSH_INTERVAL_MS / 1000
            hub.publish([ConversationChanged(step * 25 + i) for i in range(25)])
            bridge.flush_now()
        assert bridge.interval_ms == BURST_FLUSH_INTERVAL_MS

        # Within the long pause, what arrives waits for the timer instead of going out.
        clock.now += 0.1
        hub.publish([ConversationChanged(900)])
        assert batches[-1] != [ConversationChanged(900)]
        with qtbot.waitSignal(bridge.storeEvents, timeout=2000):
            pass
        assert batches[-1] == [ConversationChanged(900)]

        # A second of quiet: the burst is over and the next text goes out at once.
        clock.now += 1.5
        bridge.flush_now()
        assert bridge.interval_ms == FLUSH_INTERVAL_MS
        clock.now += 0.1
        hub.publish([ConversationChanged(901)])
        assert batches[-1] == [ConversationChanged(901)]
    finally:
        bridge.detach()


def test_texts_from_the_writer_thread_arrive_once_each_in_order_and_coalesced(
    qtbot: QtBot, gui_core: Core
) -> None:
    bridge = CoreBridge(gui_core)
    batches = _received(bridge)
    hub = gui_core.store.events
    count = 600
    try:
        # Published from another thread, as the store's writer does after each commit.
        def writer() -> None:
            for i in range(count):
                hub.publish([ConversationChanged(i)])

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(10)
        qtbot.waitUntil(lambda: sum(len(b) for b in batches) >= count, timeout=5000)
        delivered = [e for batch in batches for e in batch]
        assert delivered == [ConversationChanged(i) for i in range(count)]
        assert len(batches) < count / 10  # a handful of updates, not one per text
    finally:
        bridge.detach()
