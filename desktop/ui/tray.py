"""The tray icon: unread count, a notification per inbound text, and "close hides".

A burst of texts (a backfill after a night offline, a group of customers answering the
same announcement) must not bury the desktop in pop-ups: the first text after a quiet
spell shows at once, later ones wait for the burst window to end and come as one summary
("5 new messages from 3 people").  That rule is :class:`NotificationCoalescer`, plain
Python, tested without Qt.  Without a system tray (some Linux desktops, the offscreen
test platform) notifications become in-window toasts and closing the window quits as usual.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from desktop import APP_NAME
from desktop.domain.events import ConversationChanged, MessageAdded
from desktop.domain.phone import display, region_of
from desktop.store import queries

if TYPE_CHECKING:
    from desktop.config import Settings
    from desktop.core import Core
    from desktop.store.queries import ConversationRow

logger = logging.getLogger(__name__)

#: How long a burst window lasts: texts arriving within it are summarised together.
COALESCE_MS: Final = 4000
#: How long a desktop notification stays up (the platform may shorten it).
NOTIFICATION_MS: Final = 8000
FIRST_LINE_CHARS: Final = 120


# --- Qt-free: what to say, and when -----------------------------------------------------------


class Notice:
    """One inbound text worth telling the user about.

    Who sent it and what it says may be read only when first asked for (``describe``): a
    burst of a thousand texts becomes one summary that names only the newest of them and
    counts the rest, so reading and formatting every one would be wasted."""

    __slots__ = ("_describe", "_details", "conversation_id")

    def __init__(
        self,
        conversation_id: int,
        sender: str = "",
        text: str = "",
        *,
        describe: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self._details: tuple[str, str] | None = (sender, text) if describe is None else None
        self._describe = describe

    def _read(self) -> tuple[str, str]:
        if self._details is None:
            assert self._describe is not None
            self._details, self._describe = self._describe(), None
        return self._details

    @property
    def sender(self) -> str:
        return self._read()[0]

    @property
    def text(self) -> str:
        return self._read()[1]


@dataclass(frozen=True, slots=True)
class Popup:
    """One notification on screen; clicking it opens ``conversation_id`` (the newest)."""

    title: str
    text: str
    conversation_id: int
    count: int = 1


def summarize(notices: Sequence[Notice]) -> Popup:
    """One notification for ``notices`` (oldest first, at least one)."""
    latest = notices[-1]
    if len(notices) == 1:
        return Popup(latest.sender, latest.text, latest.conversation_id)
    count = len(notices)
    people = len({n.conversation_id for n in notices})
    if people == 1:
        return Popup(
            latest.sender,
            f"{count} new messages. Latest: {latest.text}",
            latest.conversation_id,
            count,
        )
    return Popup(
        "New messages", f"{count} new messages from {people} people", latest.conversation_id, count
    )


class NotificationCoalescer:
    """Decides which notifications to show during a burst.

    :meth:`add` returns a popup to show now when no burst window is open (and opens one);
    inside a window it holds the notices back.  When the window ends the caller calls
    :meth:`window_ended`, which returns the summary of what was held back (and keeps the
    window open for another round) or None (and closes it).
    """

    def __init__(self) -> None:
        self._pending: list[Notice] = []
        self._open = False

    @property
    def window_open(self) -> bool:
        return self._open

    def add(self, notices: Sequence[Notice]) -> Popup | None:
        if not notices:
            return None
        if self._open:
            self._pending.extend(notices)
            return None
        self._open = True
        return summarize(notices)

    def window_ended(self) -> Popup | None:
        pending, self._pending = self._pending, []
        if not pending:
            self._open = False
            return None
        return summarize(pending)


def first_line(body: str, content_types: Sequence[str]) -> str:
    """What a notification says about a text: its first line, or what it carries."""
    for line in body.splitlines():
        text = " ".join(line.split())
        if text:
            if len(text) > FIRST_LINE_CHARS:
                return text[: FIRST_LINE_CHARS - 1].rstrip() + "…"
            return text
    if content_types and all(t.startswith("image/") for t in content_types):
        return "Picture message" if len(content_types) == 1 else f"{len(content_types)} pictures"
    if content_types:
        return "Attachment"
    return "New message"


def tooltip_text(unread: int) -> str:
    if unread <= 0:
        return f"{APP_NAME} — no unread messages"
    return f"{APP_NAME} — {unread} unread message{'s' if unread != 1 else ''}"


def badge_text(unread: int) -> str:
    return "" if unread <= 0 else ("99+" if unread > 99 else str(unread))


# --- Qt -----------------------------------------------------------------------------------------


@runtime_checkable
class TrayWindow(Protocol):
    """What the tray needs from the main window (besides being a QWidget)."""

    def open_conversation(self, conversation_id: int) -> None: ...

    def show_and_raise(self) -> None: ...

    def show_toast(self, text: str, conversation_id: int | None) -> None: ...


def badged_icon(base: QIcon, unread: int, side: int = 64) -> QIcon:
    """``base`` with a red count in the corner (the tray draws it scaled down)."""
    text = badge_text(unread)
    if not text or base.isNull():
        return base
    pixmap = base.pixmap(side, side)
    if pixmap.isNull():
        return base
    pixmap = pixmap.copy()
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    diameter = round(side * (0.62 if len(text) > 1 else 0.5))
    rect = QRect(side - diameter - 1, 1, diameter, diameter)
    if len(text) > 1:
        rect.setLeft(max(0, side - round(side * 0.78) - 1))
    path = QPainterPath()
    path.addRoundedRect(rect, diameter / 2, diameter / 2)
    painter.fillPath(path, QColor("#d93025"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(round(diameter * (0.62 if len(text) < 3 else 0.5)))
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pixmap)


def fallback_icon() -> QIcon:
    """A speech bubble, for when neither the window nor the application has an icon."""
    side = 64
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    bubble = QPainterPath()
    bubble.addRoundedRect(6, 8, 52, 38, 12, 12)
    tail = QPainterPath()
    tail.moveTo(16, 42)
    tail.lineTo(12, 58)
    tail.lineTo(30, 44)
    painter.fillPath(bubble.united(tail), QColor("#1f6fe5"))
    painter.setBrush(QColor("white"))
    painter.setPen(Qt.PenStyle.NoPen)
    for x in (20, 32, 44):
        painter.drawEllipse(QPoint(x, 27), 4, 4)
    painter.end()
    return QIcon(pixmap)


class TrayController(QObject):
    """Owns the tray icon and the notifications for ``window``.

    ``bridge`` may offer ``messagesAdded(list[MessageAdded])`` and
    ``conversationsChanged(list[int])``, or a single ``storeEvents(list[Event])``; the
    controller listens to whichever it has.  ``tray_available`` overrides the platform's
    answer (tests).  No signals.
    """

    def __init__(
        self,
        window: QWidget,
        core: Core,
        bridge: QObject,
        *,
        tray_available: bool | None = None,
    ) -> None:
        super().__init__(window)
        if not isinstance(window, TrayWindow):
            raise TypeError("The window needs open_conversation, show_and_raise and show_toast")
        self._window = window
        self._actions: TrayWindow = window
        self._core = core
        self._coalescer = NotificationCoalescer()
        self._unread = -1
        self._clicked_conversation: int | None = None
        self._quitting = False
        self._hinted = False
        self.coalesce_timer = QTimer(self)
        self.coalesce_timer.setSingleShot(True)
        self.coalesce_timer.setInterval(COALESCE_MS)
        self.coalesce_timer.timeout.connect(self._burst_window_ended)

        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self._tray: QSystemTrayIcon | None = None
        self._base_icon = self._choose_icon()
        if tray_available:
            self._tray = self._make_tray()
            app = QGuiApplication.instance()
            if isinstance(app, QGuiApplication):
                # Hiding the window must not end the app; Quit in the menu does.
                app.setQuitOnLastWindowClosed(False)
            window.installEventFilter(self)
        self._connect(bridge)
        self.refresh_unread()

    # -- public ---------------------------------------------------------------------------------

    def available(self) -> bool:
        """True when notifications go to the system tray (else to in-window toasts)."""
        return self._tray is not None

    def tray_icon(self) -> QSystemTrayIcon | None:
        return self._tray

    def unread_count(self) -> int:
        return max(self._unread, 0)

    def tooltip(self) -> str:
        return tooltip_text(self.unread_count())

    def refresh_unread(self) -> None:
        unread = queries.total_unread(self._core.store.reader())
        if unread == self._unread:
            return
        self._unread = unread
        if self._tray is not None:
            self._tray.setToolTip(tooltip_text(unread))
            self._tray.setIcon(badged_icon(self._base_icon, unread))

    def on_messages_added(self, events: Sequence[object]) -> None:
        notices = self._notices([e for e in events if isinstance(e, MessageAdded)])
        popup = self._coalescer.add(notices)
        if popup is not None:
            self._show(popup)
            self.coalesce_timer.start()
        self.refresh_unread()

    def on_conversations_changed(self, _conversation_ids: Sequence[object]) -> None:
        self.refresh_unread()

    def on_store_events(self, events: Sequence[object]) -> None:
        added = [e for e in events if isinstance(e, MessageAdded)]
        if added:
            self.on_messages_added(added)
        elif any(isinstance(e, ConversationChanged) for e in events):
            self.refresh_unread()

    def open_conversation(self, conversation_id: int | None) -> None:
        """Bring the window up on ``conversation_id`` (or as it was when None)."""
        if conversation_id is not None:
            self._actions.open_conversation(conversation_id)
        self._actions.show_and_raise()

    def quit(self) -> None:
        """Quit for real (the tray menu's Quit): the window closes instead of hiding."""
        self._quitting = True
        if self._tray is not None:
            self._tray.hide()
        self._window.close()
        QApplication.quit()

    # -- building -------------------------------------------------------------------------------

    def _choose_icon(self) -> QIcon:
        for candidate in (self._window.windowIcon(), QGuiApplication.windowIcon()):
            if not candidate.isNull():
                return candidate
        return fallback_icon()

    def _make_tray(self) -> QSystemTrayIcon:
        tray = QSystemTrayIcon(self._base_icon, self)
        menu = QMenu(self._window)
        menu.setObjectName("trayMenu")
        open_action = menu.addAction(f"Open {APP_NAME}")
        open_action.triggered.connect(lambda: self.open_conversation(None))
        menu.addSeparator()
        quit_action = menu.addAction("Quit")
        quit_action.triggered.connect(self.quit)
        tray.setContextMenu(menu)
        tray.activated.connect(self._activated)
        tray.messageClicked.connect(self._notification_clicked)
        tray.show()
        return tray

    def _connect(self, bridge: QObject) -> None:
        messages = getattr(bridge, "messagesAdded", None)
        changed = getattr(bridge, "conversationsChanged", None)
        events = getattr(bridge, "storeEvents", None)
        if messages is not None:
            messages.connect(self.on_messages_added)
            if changed is not None:
                changed.connect(self.on_conversations_changed)
        elif events is not None:
            events.connect(self.on_store_events)
        else:
            raise TypeError("The bridge has neither messagesAdded nor storeEvents")

    # -- notifications --------------------------------------------------------------------------

    def _notices(self, added: Sequence[MessageAdded]) -> list[Notice]:
        return [
            Notice(event.conversation_id, describe=functools.partial(self._describe, event))
            for event in added
            if event.notify and event.direction == "inbound"
        ]

    def _describe(self, event: MessageAdded) -> tuple[str, str]:
        """Who sent the text and its first line (only for the notices a popup names)."""
        reader = self._core.store.reader()
        found = queries.messages_by_id(reader, [event.message_id])
        row = queries.conversation(reader, event.conversation_id)
        if not found:  # gone already (a repair): still say who wrote
            if row is None:
                return APP_NAME, "New message"
            return self._sender_name(row, row.contact_number), "New message"
        message = found[0]
        types = [m.content_type for m in message.media]
        if not types and message.num_media:
            types = ["image/*"] * message.num_media
        return self._sender_name(row, message.from_number), first_line(message.body, types)

    @staticmethod
    def _sender_name(row: ConversationRow | None, from_number: str) -> str:
        if row is not None and row.contact_name.strip():
            return row.contact_name.strip()
        return display(from_number, region_of(row.our_number if row is not None else ""))

    def _burst_window_ended(self) -> None:
        popup = self._coalescer.window_ended()
        if popup is not None:
            self._show(popup)
            self.coalesce_timer.start()

    def _show(self, popup: Popup) -> None:
        self._clicked_conversation = popup.conversation_id
        window_in_use = self._window.isVisible() and self._window.isActiveWindow()
        if self._tray is not None and not window_in_use:
            self._tray.showMessage(popup.title, popup.text, self._base_icon, NOTIFICATION_MS)
        else:
            self._actions.show_toast(f"{popup.title}: {popup.text}", popup.conversation_id)

    def _notification_clicked(self) -> None:
        conversation_id, self._clicked_conversation = self._clicked_conversation, None
        self.open_conversation(conversation_id)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self._notification_clicked()

    # -- closing hides --------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._window
            and event.type() == QEvent.Type.Close
            and self._tray is not None
            and not self._quitting
        ):
            event.ignore()
            self._window.hide()
            self.hint_once()
            return True
        return super().eventFilter(watched, event)

    def show_hidden_hint(self) -> None:
        """The "still running" message."""
        if self._tray is None:
            return
        self._tray.showMessage(
            f"{APP_NAME} is still running",
            "New texts will still pop up here. To quit, right-click this icon and choose Quit.",
            self._base_icon,
            NOTIFICATION_MS,
        )

    def hint_once(self) -> None:
        """Say "still running" the first time the window is closed, ever."""
        if self._hinted or self._core.settings.tray_hint_shown or self._tray is None:
            return
        self._hinted = True  # the saved setting follows on a background thread
        self.show_hidden_hint()
        # The settings file is fsynced: not on the GUI thread.
        saved = self._core.update_settings(lambda s: s.replace(tray_hint_shown=True))
        saved.add_done_callback(_log_save_failure)


def _log_save_failure(future: Future[Settings]) -> None:
    error = future.exception()
    if error is not None:
        logger.warning("Could not remember that the tray hint was shown: %s", error)
