"""Ctrl+N: text someone new, typing the number the way it was written down.

The number is read with our own number's country as the default, so "(503) 555-0142"
works in Portland and "020 7946 0958" in London; what is wrong with a number is said in
words once typing pauses, and Send stays off until the number is one Twilio can text.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.phone import (
    InvalidNumber,
    OurNumber,
    choose_sender,
    display,
    number_kind,
    region_of,
    to_e164,
)
from desktop.setup import capabilities_text
from desktop.store import queries
from desktop.ui.form_widgets import StatusLine

if TYPE_CHECKING:
    from desktop.core import Core

logger = logging.getLogger(__name__)

#: ``exec()`` results besides Accepted/Rejected: the user asked to sign in or unlock first.
WANTS_SETUP: Final = 2
WANTS_UNLOCK: Final = 3

#: Typing must pause this long before a problem with the number is shown.
EXPLAIN_AFTER_MS: Final = 400
FALLBACK_REGION: Final = "US"


def no_number_reason(core: Core) -> tuple[str, int | None]:
    """Why there is no number to text from, in words, and the dialog code that fixes it.

    Only a signed-in account can truly "have no phone numbers"; before signing in (or
    while the passwords are locked) there is simply nothing to ask Twilio yet.
    """
    from desktop.domain.connection import Link

    if core.options.demo:
        return ("The demo’s numbers are still being set up; try again in a moment.", None)
    if core.connection.snapshot.link is Link.LOCKED:
        return (
            "Your Twilio sign-in is locked with a passphrase. Unlock it to text from your number.",
            WANTS_UNLOCK,
        )
    if core.credentials is None:
        return (
            "You are not signed in to Twilio yet, so there is no number to text from. "
            "Sign in and choose your number to start texting.",
            WANTS_SETUP,
        )
    return (str(choose_sender("", []).warning), None)


def sending_numbers(rows: list[queries.NumberRow], preferred: str) -> list[OurNumber]:
    """Our numbers that can text, the user's chosen one first (choose_sender breaks ties
    in list order).  Before the first sync there are no rows: offer the configured number."""
    numbers = [OurNumber(r.e164, r.sms, r.mms, r.friendly_name) for r in rows if r.sms]
    if not rows and preferred:
        numbers = [OurNumber(preferred, True, False)]
    numbers.sort(key=lambda n: n.e164 != preferred)
    return numbers


class NewConversationDialog(QDialog):
    """Asks for a number, the number to send from, and the first message.

    After ``exec()`` returns Accepted, :meth:`result_conversation` gives
    ``(our_number_e164, contact_e164, first_message)``.
    """

    def __init__(self, core: Core, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._ours = sending_numbers(
            queries.our_numbers(core.store.reader()), core.settings.phone_number
        )
        self._home_region = (
            region_of(self._ours[0].e164) if self._ours else None
        ) or FALLBACK_REGION
        self._contact: str | None = None
        self._problem: str | None = "Type the phone number to text."
        self._chosen_by_user = False
        self._result: tuple[str, str, str] | None = None

        self.setObjectName("newConversationDialog")
        self.setWindowTitle("New conversation")
        self.number = QLineEdit(self)
        self.number.setObjectName("newConversationNumber")
        self.number.setAccessibleName("Phone number to text")
        self.number.setPlaceholderText(
            "Like (503) 555-0142" if self._home_region in ("US", "CA") else "Phone number"
        )
        self.number_status = StatusLine(self, object_name="numberProblem")
        self.sender_choice = QComboBox(self)
        self.sender_choice.setObjectName("senderChoice")
        self.sender_choice.setAccessibleName("Send from")
        for ours in self._ours:
            name = f"  ·  {ours.friendly_name}" if ours.friendly_name else ""
            shown = display(ours.e164, self._home_region)
            self.sender_choice.addItem(
                f"{shown}{name}  ({capabilities_text(True, ours.mms)})", ours.e164
            )
        self.sender_choice.setEnabled(len(self._ours) > 1)
        self.sender_status = StatusLine(self, object_name="senderWarning")
        self.message = QPlainTextEdit(self)
        self.message.setObjectName("newConversationMessage")
        self.message.setAccessibleName("First message")
        self.message.setPlaceholderText(
            "Type the first message. Enter sends, Shift+Enter adds a line."
        )
        self.message.setTabChangesFocus(True)
        self.message.setFixedHeight(self.message.fontMetrics().lineSpacing() * 5)
        self.message.installEventFilter(self)

        self.buttons = QDialogButtonBox(self)
        send = self.buttons.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        assert isinstance(send, QPushButton)
        self.send_button = send
        self.send_button.setObjectName("newConversationSend")
        self.send_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        #: Shown when there is no number because of the setup: "Sign in…" / "Unlock…".
        self.fix_button: QPushButton | None = None
        if not self._ours:
            reason, code = no_number_reason(core)
            self._no_number = reason
            if code is not None:
                fix_text = "Sign in…" if code == WANTS_SETUP else "Unlock…"
                fix = self.buttons.addButton(fix_text, QDialogButtonBox.ButtonRole.ActionRole)
                assert isinstance(fix, QPushButton)
                fix.setObjectName("newConversationFixSetup")
                fix.clicked.connect(lambda: self.done(code))
                self.fix_button = fix
        else:
            self._no_number = ""
        self.buttons.accepted.connect(self.send)
        self.buttons.rejected.connect(self.reject)

        # A grid rather than a form layout: the form sizes the wrapped explanations by
        # their size hint and leaves gaps, the grid asks their height for the real width.
        form = QGridLayout()
        form.setColumnStretch(1, 1)
        rows = (
            ("&To:", self.number, self.number_status),
            ("&From:", self.sender_choice, self.sender_status),
            ("&Message:", self.message, None),
        )
        for row, (text, field, status) in enumerate(rows):
            label = QLabel(text, self)
            label.setBuddy(field)
            single_line = status is not None
            vertical = Qt.AlignmentFlag.AlignVCenter if single_line else Qt.AlignmentFlag.AlignTop
            form.addWidget(label, row * 2, 0, Qt.AlignmentFlag.AlignRight | vertical)
            form.addWidget(field, row * 2, 1)
            if status is not None:
                form.addWidget(status, row * 2 + 1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setTabOrder(self.number, self.message)
        self.setTabOrder(self.message, self.sender_choice)

        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_now)
        self._explain_timer = QTimer(self)
        self._explain_timer.setSingleShot(True)
        self._explain_timer.setInterval(EXPLAIN_AFTER_MS)
        self._explain_timer.timeout.connect(self._explain)
        self.number.textChanged.connect(self._number_changed)
        self.number.returnPressed.connect(self._number_entered)
        self.message.textChanged.connect(self._update_send)
        self.sender_choice.activated.connect(self._sender_picked)
        self._suggest_sender(None)
        self.number.setFocus()
        self._update_send()
        self.resize(500, self.sizeHint().height())
        self._fit()

    # -- what the dialog produced -------------------------------------------------------------

    def result_conversation(self) -> tuple[str, str, str] | None:
        return self._result

    def contact_e164(self) -> str | None:
        """The typed number in E.164 when it is valid, else None."""
        return self._contact

    def sender_e164(self) -> str | None:
        data = self.sender_choice.currentData()
        return data if isinstance(data, str) else None

    # -- typing -------------------------------------------------------------------------------

    def _number_changed(self, text: str) -> None:
        try:
            self._contact, self._problem = to_e164(text, self._home_region), None
        except InvalidNumber as problem:
            self._contact, self._problem = None, str(problem)
        if self._contact is not None:
            self._explain_timer.stop()
            self._explain()
        else:
            self.number_status.clear()
            self._suggest_sender(None)
            if text.strip():
                self._explain_timer.start()
        self._update_send()
        self._fit()

    def _explain(self) -> None:
        """Say what is wrong (or which number this is) once typing pauses."""
        contact = self._contact
        if contact is None:
            if self._problem and self.number.text().strip():
                self.number_status.show_error(self._problem)
                self._fit()
            return
        shown = display(contact, self._home_region)
        if number_kind(contact) == "landline":
            self.number_status.show_warning(
                f"{shown} looks like a landline. Texts to landlines usually do not arrive."
            )
        else:
            self.number_status.show_ok(shown)
        self._suggest_sender(contact)
        self._fit()

    def _fit(self) -> None:
        """Grow or shrink to the explanations shown, once the layout has taken them in."""
        self._fit_timer.start()

    def _fit_now(self) -> None:
        """Keeps the width the user chose."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        height = self.heightForWidth(self.width())
        self.resize(self.width(), max(height, self.minimumSizeHint().height()))

    def _suggest_sender(self, contact: str | None) -> None:
        """Pick the best of our numbers for ``contact`` (unless the user chose one) and say
        when it is a poor fit; with no number that can text, say that instead."""
        if not self._ours:
            self.sender_status.show_error(self._no_number)
            return
        if contact is None:
            self.sender_status.clear()
            return
        choice = choose_sender(contact, self._ours)
        if choice.number is not None and not self._chosen_by_user:
            self.sender_choice.setCurrentIndex(self.sender_choice.findData(choice.number.e164))
        if choice.warning and choice.number and self.sender_e164() == choice.number.e164:
            self.sender_status.show_warning(choice.warning)
        else:
            self.sender_status.clear()

    def _sender_picked(self, _index: int) -> None:
        self._chosen_by_user = True
        if self._contact is not None:
            self._suggest_sender(self._contact)

    def _update_send(self) -> None:
        self.send_button.setEnabled(
            self._contact is not None
            and bool(self.message.toPlainText().strip())
            and self.sender_e164() is not None
        )

    def _number_entered(self) -> None:
        """Enter in the number field: explain a bad number now, or move on to the message."""
        if self._contact is None:
            self._explain_timer.stop()
            self.number_status.show_error(self._problem or "Type the phone number to text.")
            self._fit()
        elif not self.message.toPlainText().strip():
            self.message.setFocus()

    # -- sending ------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the message sends; Shift+Enter adds a line, as in the main composer."""
        if (
            watched is self.message
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.send()
            return True
        return super().eventFilter(watched, event)

    def send(self) -> None:
        sender, contact = self.sender_e164(), self._contact
        text = self.message.toPlainText().strip()
        if contact is None:
            self._number_entered()
            self.number.setFocus()
            return
        if sender is None or not text:
            if not text:
                self.message.setFocus()
            return
        self._result = (sender, contact, text)
        self.accept()
