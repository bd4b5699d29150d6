"""Scheduled texts in the window: "Schedule…" beside Send, the date-and-time dialog, the
list of what is waiting (edit, cancel), and the question asked about texts found late.

Everything here calls :class:`desktop.messaging.Messaging`; nothing writes to the store
or talks to Twilio itself.  :class:`ScheduleControls` adds its button next to the
composer's Send button from outside, so the composer needs no change.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QDateTime, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.events import Event, MessageChanged, OutboxQueued
from desktop.domain.schedule import Holder, due_label
from desktop.messaging import CannotSend
from desktop.store.database import StoreUnavailable
from desktop.ui.tasks import deliver

if TYPE_CHECKING:
    from desktop.core import Core
    from desktop.store.scheduled import ScheduledText
    from desktop.ui.composer import ComposerBar

logger = logging.getLogger(__name__)

#: Texts are offered for the next working morning when it is already evening.
EVENING_HOUR: Final = 17
MORNING_HOUR: Final = 9

ALREADY_SENT: Final = "That text has already been sent; it can no longer be canceled."
TWILIO_HINT: Final = "Twilio will send it at that time, even if this computer is off."
LOCAL_HINT: Final = (
    "Twoway will send it at that time; keep this computer on and Twoway open. "
    "If it is more than an hour late, Twoway asks first."
)


def default_time(now: datetime) -> datetime:
    """A sensible first choice: the next quarter hour an hour from now during the working
    day; 9:00 today before it starts; 9:00 tomorrow once it is over (local time)."""
    soon = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    soon += timedelta(minutes=(15 - soon.minute % 15) % 15)
    morning = now.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if soon.date() == now.date() and soon.hour < MORNING_HOUR:
        return morning
    if soon.hour >= EVENING_HOUR or soon.date() != now.date():
        return morning + timedelta(days=1)
    return soon


def zone_text(moment: datetime) -> str:
    """ "Times are in CET (UTC+01:00)." for the dialog."""
    local = moment.astimezone()
    offset = local.strftime("%z")
    pretty = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = local.tzname() or pretty
    return f"Times are in {name} ({pretty})." if name != pretty else f"Times are in {pretty}."


def _qt(moment: datetime) -> QDateTime:
    """The same instant for Qt (shown in the local time zone)."""
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


class ScheduleDialog(QDialog):
    """Pick a date and time (local) and the text; Schedule calls the use case, and a
    refusal ("that time has already passed") is shown in the dialog, which stays open.

    Signals: ``scheduled(int)`` — the id of the message that now holds the text."""

    scheduled = Signal(int)

    def __init__(
        self,
        core: Core,
        our_number: str,
        contact_number: str,
        body: str,
        *,
        when: datetime | None = None,
        editing: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scheduleDialog")
        self.setWindowTitle("Edit scheduled text" if editing is not None else "Schedule text")
        self._core = core
        self._our_number = our_number
        self._contact = contact_number
        self._editing = editing
        layout = QVBoxLayout(self)

        layout.addWidget(QLabel("Send at:", self))
        self.when = QDateTimeEdit(self)
        self.when.setObjectName("scheduleWhen")
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("ddd d MMM yyyy  HH:mm")
        local_now = datetime.now().astimezone()
        self.when.setMinimumDateTime(_qt(local_now.replace(second=0, microsecond=0)))
        self.when.setDateTime(_qt(when or default_time(local_now)))
        self.when.dateTimeChanged.connect(self._update_hint)
        layout.addWidget(self.when)
        zone = QLabel(zone_text(local_now), self)
        zone.setObjectName("scheduleZone")
        layout.addWidget(zone)

        self.text = QPlainTextEdit(self)
        self.text.setObjectName("scheduleText")
        self.text.setPlainText(body)
        self.text.setAccessibleName("Text to send")
        self.text.setMinimumHeight(80)
        layout.addWidget(self.text)

        self.hint = QLabel(self)
        self.hint.setObjectName("scheduleHint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.error = QLabel(self)
        self.error.setObjectName("scheduleError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.hide()
        layout.addWidget(self.error)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok = buttons.addButton(
            "Save" if editing is not None else "Schedule", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok.setObjectName("scheduleConfirm")
        buttons.accepted.connect(self.confirm)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._update_hint()
        self.text.setFocus()

    def chosen(self) -> datetime:
        """The chosen moment, aware (UTC)."""
        return datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch(), UTC)

    def _update_hint(self) -> None:
        holder = self._core.messaging.holder_for(self._our_number, self.chosen())
        self.hint.setText(TWILIO_HINT if holder is Holder.TWILIO else LOCAL_HINT)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.ok.setEnabled(True)

    def confirm(self) -> None:
        self.error.hide()
        body = self.text.toPlainText()
        messaging = self._core.messaging
        self.ok.setEnabled(False)
        try:
            if self._editing is None:
                future = messaging.schedule(self._our_number, self._contact, body, self.chosen())
                deliver(future, lambda r: self._done(r.message_id), self._failed, context=self)
            else:
                edit = messaging.edit_scheduled(self._editing, body, self.chosen())
                deliver(edit, self._done, self._failed, context=self)
        except CannotSend as exc:
            self._show_error(str(exc))

    def _done(self, message_id: int) -> None:
        self.scheduled.emit(message_id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._show_error(str(exc) if isinstance(exc, CannotSend) else f"Not scheduled: {exc}")


def _describe(text: ScheduledText, now_ms: int) -> str:
    when = due_label(text.send_at, now_ms)
    who = "Twilio sends it" if text.kind is Holder.TWILIO else "Twoway sends it"
    body = " ".join(text.body.split())
    if len(body) > 80:
        body = body[:79] + "…"
    state = {"late": " (late)", "canceling": " (canceling…)"}.get(text.state, "")
    return f"{when}{state} — {body}  ·  {who}"


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


class ScheduledListDialog(QDialog):
    """The texts waiting in one conversation (or all), with Edit… and Cancel text."""

    def __init__(
        self, core: Core, conversation_id: int | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scheduledListDialog")
        self.setWindowTitle("Scheduled texts")
        self._core = core
        self._conversation_id = conversation_id
        self._texts: list[ScheduledText] = []
        layout = QVBoxLayout(self)
        self.list = QListWidget(self)
        self.list.setObjectName("scheduledList")
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda _item: self.edit_selected())
        layout.addWidget(self.list)
        self.empty = QLabel("Nothing is scheduled.", self)
        layout.addWidget(self.empty)
        row = QHBoxLayout()
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.clicked.connect(self.edit_selected)
        self.cancel_button = QPushButton("Cancel text", self)
        self.cancel_button.setObjectName("cancelScheduled")
        self.cancel_button.clicked.connect(self.cancel_selected)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        row.addWidget(self.edit_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(520, 320)
        self.reload()

    def reload(self) -> None:
        self._texts = self._core.messaging.scheduled_texts(self._conversation_id)
        self.list.clear()
        now = _now_ms()
        for text in self._texts:
            item = QListWidgetItem(_describe(text, now), self.list)
            item.setData(Qt.ItemDataRole.UserRole, text.message_id)
        self.empty.setVisible(not self._texts)
        if self._texts:
            self.list.setCurrentRow(0)
        self._update_buttons()

    def _selected(self) -> ScheduledText | None:
        row = self.list.currentRow()
        return self._texts[row] if 0 <= row < len(self._texts) else None

    def _update_buttons(self) -> None:
        text = self._selected()
        can_change = text is not None and text.state in ("pending", "late")
        self.edit_button.setEnabled(can_change)
        self.cancel_button.setEnabled(can_change)

    def edit_selected(self) -> None:
        text = self._selected()
        if text is None or text.state not in ("pending", "late"):
            return
        dialog = ScheduleDialog(
            self._core,
            text.our_number,
            text.contact_number,
            text.body,
            when=datetime.fromtimestamp(text.send_at / 1000, UTC),
            editing=text.message_id,
            parent=self,
        )
        dialog.scheduled.connect(lambda _id: self.reload())
        dialog.open()

    def cancel_selected(self) -> None:
        text = self._selected()
        if text is None:
            return
        deliver(
            self._core.messaging.cancel_scheduled(text.message_id),
            lambda _outcome: self.reload(),
            lambda exc: logger.warning("Cancel failed: %s", exc),
            context=self,
        )


class ScheduleControls(QObject):
    """The "Schedule…" button beside Send (its menu also lists what is scheduled).

    ``target()`` gives (our number, contact number) of the open conversation or draft."""

    def __init__(
        self,
        core: Core,
        composer: ComposerBar,
        target: Callable[[], tuple[str, str] | None],
        conversation_id: Callable[[], int | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._composer = composer
        self._target = target
        self._conversation_id = conversation_id
        send = composer.send_button
        self.button = QToolButton(send.parentWidget())
        self.button.setObjectName("scheduleButton")
        self.button.setText("Schedule…")
        self.button.setToolTip("Send this text later")
        self.button.setAccessibleName("Schedule")
        self.button.setAutoRaise(True)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.button)
        menu.addAction("Schedule this text…", self.open_dialog)
        menu.addAction("Scheduled texts…", self.open_list)
        self.button.setMenu(menu)
        self.button.clicked.connect(self.open_dialog)
        holder = send.parentWidget()
        row = holder.layout() if holder is not None else None
        if isinstance(row, QBoxLayout):
            row.insertWidget(row.indexOf(send), self.button, 0, Qt.AlignmentFlag.AlignBottom)
        self.dialog: ScheduleDialog | None = None

    def open_dialog(self) -> None:
        target = self._target()
        if target is None:
            return
        blocked = self._composer.blocked_reason
        if blocked is not None:
            self._composer.show_error(blocked)
            return
        dialog = ScheduleDialog(
            self._core, target[0], target[1], self._composer.text(), parent=self.button.window()
        )
        dialog.scheduled.connect(lambda _id: self._composer.reset())
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()

    def _closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    def edit(self, message_id: int) -> None:
        """The bubble's "Edit scheduled text…": the same dialog, filled in."""
        text = next(
            (t for t in self._core.messaging.scheduled_texts() if t.message_id == message_id),
            None,
        )
        if text is None or text.state not in ("pending", "late") or self.dialog is not None:
            return
        dialog = ScheduleDialog(
            self._core,
            text.our_number,
            text.contact_number,
            text.body,
            when=datetime.fromtimestamp(text.send_at / 1000, UTC),
            editing=message_id,
            parent=self.button.window(),
        )
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()

    def cancel(self, message_id: int) -> None:
        """The bubble's "Cancel scheduled text"; the bubble then says it was canceled."""
        deliver(
            self._core.messaging.cancel_scheduled(message_id),
            lambda outcome: None if outcome else self._composer.show_error(ALREADY_SENT),
            lambda exc: self._composer.show_error(f"Not canceled: {exc}"),
            context=self,
        )

    def open_list(self) -> None:
        dialog = ScheduledListDialog(
            self._core, self._conversation_id(), parent=self.button.window()
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()


class LateSendDialog(QDialog):
    """ "These texts were due while Twoway was not running": send now, or cancel."""

    def __init__(
        self, core: Core, texts: Sequence[ScheduledText], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("lateSendDialog")
        self.setWindowTitle("Scheduled texts are late")
        self._core = core
        self._texts = list(texts)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "These texts were due more than an hour ago, while this computer was asleep or "
            "Twoway was closed. Send them now, or cancel them?",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget(self)
        self.list.setObjectName("lateList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        now = _now_ms()
        for text in self._texts:
            item = QListWidgetItem(_describe(text, now), self.list)
            item.setData(Qt.ItemDataRole.UserRole, text.message_id)
            item.setSelected(True)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(self)
        self.send_now = buttons.addButton("Send now", QDialogButtonBox.ButtonRole.AcceptRole)
        self.send_now.setObjectName("lateSendNow")
        self.cancel_them = buttons.addButton(
            "Cancel them", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.cancel_them.setObjectName("lateCancel")
        later = buttons.addButton("Decide later", QDialogButtonBox.ButtonRole.RejectRole)
        self.send_now.clicked.connect(lambda: self._decide(send=True))
        self.cancel_them.clicked.connect(lambda: self._decide(send=False))
        later.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def _chosen(self) -> list[int]:
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.list.selectedItems()]

    def _decide(self, *, send: bool) -> None:
        messaging = self._core.messaging
        for message_id in self._chosen():
            future = (
                messaging.send_late_now(message_id) if send else messaging.cancel_late(message_id)
            )
            future.add_done_callback(lambda f: f.exception())  # outcomes show in the thread
        self.accept()


class LateSendWatcher(QObject):
    """Asks about late texts when the outbox finds some (after a sleep or a closed app).

    Feed it the bridge's ``storeEvents``; it looks (one small query) only after a message
    changed, and shows one dialog at a time."""

    def __init__(self, core: Core, parent: QWidget) -> None:
        super().__init__(parent)
        self._core = core
        self._parent = parent
        self.dialog: LateSendDialog | None = None
        self._asked: set[int] = set()
        self._check = QTimer(self)
        self._check.setSingleShot(True)
        self._check.setInterval(300)
        self._check.timeout.connect(self.check)
        self._check.start()  # texts left late by an earlier session are asked about too

    def on_events(self, events: Sequence[Event]) -> None:
        if any(isinstance(e, MessageChanged | OutboxQueued) for e in events):
            self._check.start()

    def check(self) -> None:
        if self.dialog is not None:
            return
        try:
            due = self._core.messaging.late_texts()
        except (StoreUnavailable, sqlite3.DatabaseError) as error:
            # A damaged or unreadable database is the damage dialog's to explain; nothing
            # can be sent from it meanwhile, so there is nothing late to ask about.
            logger.debug("Late texts not checked: %s", error)
            return
        late = [t for t in due if t.message_id not in self._asked]
        if not late:
            return
        self._asked.update(t.message_id for t in late)
        dialog = LateSendDialog(self._core, late, self._parent)
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()

    def _closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None
