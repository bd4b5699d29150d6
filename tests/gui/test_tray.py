"""Tray notifications: what they say, how bursts are summarised, and where they go."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow, QSystemTrayIcon

from desktop.config import SettingsFile
from desktop.core import Core, CoreOptions
from desktop.domain.events import Event, MessageAdded
from desktop.domain.models import Direction, MediaRef, NewMessage, Source
from desktop.store import outbox_writes, writes
from desktop.ui.tray import (
    Notice,
    NotificationCoalescer,
    Popup,
    TrayController,
    badge_text,
    badged_icon,
    fallback_icon,
    first_line,
    summarize,
    tooltip_text,
)

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

OURS = "+15035550100"


# --- Qt-free rules ---------------------------------------------------------------------------


def notice(conversation_id: int, sender: str = "Sam", text: str = "Hi") -> Notice:
    return Notice(conversation_id, sender, text)


def test_a_single_text_shows_sender_and_first_line() -> None:
    assert summarize([notice(7, "Sam Lee", "Is my cake ready?")]) == Popup(
        "Sam Lee", "Is my cake ready?", 7
    )


def test_several_texts_from_one_person_are_counted() -> None:
    popup = summarize([notice(7, text="Hi"), notice(7, text="Are you open?")])
    assert popup == Popup("Sam", "2 new messages. Latest: Are you open?", 7, 2)


def test_a_burst_from_several_people_is_one_summary() -> None:
    burst = [notice(1), notice(2), notice(1), notice(3), notice(2)]
    assert summarize(burst) == Popup("New messages", "5 new messages from 3 people", 2, 5)


def is_open(coalescer: NotificationCoalescer) -> bool:
    return coalescer.window_open  # a call, so mypy does not carry one answer to the next


def test_the_first_text_shows_at_once_and_the_rest_wait_for_the_window() -> None:
    coalescer = NotificationCoalescer()
    first = coalescer.add([notice(1, text="one")])
    assert first == Popup("Sam", "one", 1)
    assert is_open(coalescer)
    assert coalescer.add([notice(2)]) is None
    assert coalescer.add([notice(3), notice(2)]) is None
    assert coalescer.window_ended() == Popup("New messages", "3 new messages from 2 people", 2, 3)
    assert is_open(coalescer), "a burst that goes on keeps being summarised"
    assert coalescer.window_ended() is None
    assert not is_open(coalescer)
    assert coalescer.add([notice(4, text="later")]) == Popup("Sam", "later", 4)


def test_a_batch_arriving_at_once_is_summarised_at_once() -> None:
    coalescer = NotificationCoalescer()
    popup = coalescer.add([notice(1), notice(2), notice(3), notice(1), notice(2)])
    assert popup is not None
    assert popup.text == "5 new messages from 3 people"
    assert coalescer.add([]) is None


@pytest.mark.parametrize(
    ("body", "types", "expected"),
    [
        ("Is my cake ready?\nThanks!", [], "Is my cake ready?"),
        ("\n   \n  Second   line  ", [], "Second line"),
        ("", ["image/jpeg"], "Picture message"),
        ("", ["image/jpeg", "image/png"], "2 pictures"),
        ("", ["application/pdf"], "Attachment"),
        ("", [], "New message"),
        ("x" * 200, [], "x" * 119 + "…"),
        ("Look at this", ["image/jpeg"], "Look at this"),
    ],
)
def test_first_line(body: str, types: list[str], expected: str) -> None:
    assert first_line(body, types) == expected


def test_tooltip_and_badge_text() -> None:
    assert tooltip_text(0) == "Twoway — no unread messages"
    assert tooltip_text(1) == "Twoway — 1 unread message"
    assert tooltip_text(12) == "Twoway — 12 unread messages"
    assert [badge_text(n) for n in (0, 5, 99, 100)] == ["", "5", "99", "99+"]


def test_the_badge_changes_the_icon(qapp) -> None:
    base = fallback_icon()
    assert badged_icon(base, 0) is base
    plain = base.pixmap(64, 64).toImage()
    badged = badged_icon(base, 3).pixmap(64, 64).toImage()
    assert badged != plain
    assert badged.pixelColor(58, 12).red() > 200, "a red dot in the top right corner"


# --- the controller --------------------------------------------------------------------------


class FakeWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.toasts: list[tuple[str, int | None]] = []
        self.opened: list[int] = []
        self.raised = 0

    def open_conversation(self, conversation_id: int) -> None:
        self.opened.append(conversation_id)

    def show_and_raise(self) -> None:
        self.raised += 1
        self.show()

    def show_toast(self, text: str, conversation_id: int | None) -> None:
        self.toasts.append((text, conversation_id))


class FakeBridge(QObject):
    messagesAdded = Signal(list)
    conversationsChanged = Signal(list)


class EventsBridge(QObject):
    storeEvents = Signal(list)


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    c = Core(CoreOptions(data_dir=tmp_path / "data", environ={}))
    c.open()
    yield c
    c.stop()


class Recorder:
    """Collects what the store publishes (on its writer thread)."""

    def __init__(self, core: Core) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()
        core.store.events.subscribe(self._on)

    def _on(self, events) -> None:
        with self._lock:
            self.events.extend(events)

    def take(self) -> list[Event]:
        with self._lock:
            events, self.events = self.events, []
        return events


@pytest.fixture
def recorder(core: Core) -> Recorder:
    return Recorder(core)


SIDS = (f"SM{n:032x}" for n in range(1, 10_000))


def receive(core: Core, sender: str, body: str, media: tuple[MediaRef, ...] = ()) -> None:
    message = NewMessage(
        sid=next(SIDS),
        direction=Direction.INBOUND,
        from_number=sender,
        to_number=OURS,
        body=body,
        status="received",
        created_at_ms=writes.now_ms(),
        source=Source.WEBHOOK,
        media=media,
    )
    core.store.writer.call(lambda tx: writes.insert_message(tx, message))


def added(recorder: Recorder) -> list[MessageAdded]:
    return [e for e in recorder.take() if isinstance(e, MessageAdded)]


@pytest.fixture
def window(qtbot) -> FakeWindow:
    w = FakeWindow()
    qtbot.addWidget(w)
    return w


@pytest.fixture
def bridge() -> FakeBridge:
    return FakeBridge()


#: The offscreen platform has no tray integration; forcing a tray there only logs this.
no_tray_integration = pytest.mark.qt_log_ignore(
    "does not support propagateSizeHints", "systemTrayWindowChanged"
)


@pytest.fixture
def restore_quit_on_close(qapp) -> Iterator[None]:
    yield
    qapp.setQuitOnLastWindowClosed(True)


def test_without_a_tray_texts_become_toasts(qtbot, core, recorder, window, bridge) -> None:
    tray = TrayController(window, core, bridge, tray_available=False)
    assert not tray.available()
    receive(core, "+15035550142", "Is my cake ready?\nThanks")
    bridge.messagesAdded.emit(added(recorder))
    ((text, conversation_id),) = window.toasts
    assert text == "(503) 555-0142: Is my cake ready?"
    assert conversation_id is not None


def test_the_contacts_name_and_picture_messages(qtbot, core, recorder, window, bridge) -> None:
    tray = TrayController(window, core, bridge, tray_available=False)
    tray.coalesce_timer.setInterval(0)
    receive(core, "+15035550142", "first")
    conversation_id = added(recorder)[0].conversation_id
    core.messaging.rename_contact(conversation_id, "Sam Lee").result()
    recorder.take()
    receive(core, "+15035550142", "", (MediaRef(0, "https://api.example/Media/ME1", "image/jpeg"),))
    bridge.messagesAdded.emit(added(recorder))
    assert window.toasts == [("Sam Lee: Picture message", conversation_id)]


def test_a_burst_is_summarised(qtbot, core, recorder, window, bridge) -> None:
    tray = TrayController(window, core, bridge, tray_available=False)
    tray.coalesce_timer.setInterval(50)
    receive(core, "+15035550142", "one")
    bridge.messagesAdded.emit(added(recorder))
    assert len(window.toasts) == 1, "the first text shows at once"
    for sender in ("+15035550143", "+15035550144", "+15035550142", "+15035550143"):
        receive(core, sender, "more")
        bridge.messagesAdded.emit(added(recorder))
    assert len(window.toasts) == 1, "the rest wait for the burst to end"
    qtbot.waitUntil(lambda: len(window.toasts) == 2)
    assert window.toasts[1][0] == "New messages: 4 new messages from 3 people"
    qtbot.waitUntil(lambda: not tray._coalescer.window_open)
    assert len(window.toasts) == 2


def test_outbound_and_quiet_messages_do_not_notify(qtbot, core, recorder, window, bridge) -> None:
    TrayController(window, core, bridge, tray_available=False)
    core.store.writer.call(
        lambda tx: outbox_writes.queue_outbound(tx, OURS, "+15035550142", "On my way", (), 1)
    )
    quiet = NewMessage(
        sid=next(SIDS),
        direction=Direction.INBOUND,
        from_number="+15035550142",
        to_number=OURS,
        body="already read elsewhere",
        status="received",
        created_at_ms=writes.now_ms(),
        source=Source.BACKFILL,
        unread=False,
    )
    core.store.writer.call(lambda tx: writes.insert_message(tx, quiet))
    events = added(recorder)
    assert len(events) == 2
    bridge.messagesAdded.emit(events)
    assert window.toasts == []


def test_the_unread_count_follows_the_store(qtbot, core, recorder, window, bridge) -> None:
    tray = TrayController(window, core, bridge, tray_available=False)
    assert tray.tooltip() == "Twoway — no unread messages"
    receive(core, "+15035550142", "one")
    receive(core, "+15035550143", "two")
    events = added(recorder)
    bridge.messagesAdded.emit(events)
    assert tray.tooltip() == "Twoway — 2 unread messages"
    core.messaging.mark_read(events[0].conversation_id).result()
    bridge.conversationsChanged.emit([events[0].conversation_id])
    assert tray.tooltip() == "Twoway — 1 unread message"


def test_a_store_events_bridge_works_too(qtbot, core, recorder, window) -> None:
    bridge = EventsBridge()
    tray = TrayController(window, core, bridge, tray_available=False)
    receive(core, "+15035550142", "hello")
    bridge.storeEvents.emit(recorder.take())
    assert window.toasts == [("(503) 555-0142: hello", window.toasts[0][1])]
    assert tray.unread_count() == 1


def test_the_platform_decides_whether_there_is_a_tray(qtbot, core, window, bridge) -> None:
    tray = TrayController(window, core, bridge)
    assert tray.available() == QSystemTrayIcon.isSystemTrayAvailable()


def test_the_window_must_offer_the_tray_actions(qtbot, core, bridge) -> None:
    plain = QMainWindow()
    qtbot.addWidget(plain)
    with pytest.raises(TypeError):
        TrayController(plain, core, bridge)


@no_tray_integration
def test_with_a_tray_closing_hides_and_hints_once(
    qtbot, core, window, bridge, restore_quit_on_close, monkeypatch
) -> None:
    tray = TrayController(window, core, bridge, tray_available=True)
    icon = tray.tray_icon()
    assert icon is not None
    assert icon.toolTip() == "Twoway — no unread messages"
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(icon, "showMessage", lambda title, text, *_a: shown.append((title, text)))
    assert not QGuiApplication.quitOnLastWindowClosed()

    window.show()
    window.close()
    assert not window.isVisible()
    assert [title for title, _ in shown] == ["Twoway is still running"]
    qtbot.waitUntil(lambda: core.settings.tray_hint_shown)
    qtbot.waitUntil(lambda: SettingsFile(core.paths.settings).load().tray_hint_shown)
    window.show()
    window.close()
    assert len(shown) == 1, "the hint shows only once"

    quits: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(True))
    window.show()
    tray.quit()
    assert quits == [True]
    assert not window.isVisible()


@no_tray_integration
def test_with_a_tray_a_click_opens_the_conversation(
    qtbot, core, recorder, window, bridge, restore_quit_on_close, monkeypatch
) -> None:
    tray = TrayController(window, core, bridge, tray_available=True)
    icon = tray.tray_icon()
    assert icon is not None
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(icon, "showMessage", lambda title, text, *_a: shown.append((title, text)))
    receive(core, "+15035550142", "Is my cake ready?")
    events = added(recorder)
    bridge.messagesAdded.emit(events)
    assert shown == [("(503) 555-0142", "Is my cake ready?")]
    assert window.toasts == []
    assert icon.toolTip() == "Twoway — 1 unread message"

    icon.messageClicked.emit()
    assert window.opened == [events[0].conversation_id]
    assert window.raised == 1
    icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert window.opened == [events[0].conversation_id], "a plain tray click just shows"
    assert window.raised == 2
