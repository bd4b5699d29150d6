"""The Qt side of :class:`desktop.setup.SetupBackend`, shared by the wizard and the settings.

The backend answers with futures that complete on worker threads; :class:`FutureWatcher`
brings them back to the GUI thread through :func:`desktop.ui.tasks.deliver`.  The
choosers here edit the parts of a :class:`desktop.setup.SetupResult` that both dialogs
offer — which number, and how Twilio reaches this computer — so the two dialogs cannot
drift apart.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from typing import Any, Final, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.phone import display, region_of
from desktop.gateway.rest_types import IncomingNumber
from desktop.logs import register_secret
from desktop.setup import (
    DEFAULT_POLL_INTERVAL_S,
    POLL_MAX_S,
    POLL_MIN_S,
    WEBHOOK_PATH,
    InputProblem,
    SetupResult,
    TunnelChoice,
    TwilioLogin,
    capabilities_text,
    ngrok_authtoken_problem,
    normalize_ngrok_domain,
    normalize_public_url,
    webhook_elsewhere,
)
from desktop.ui.form_widgets import (
    StatusLine,
    callout_frame,
    hint_label,
)
from desktop.ui.tasks import deliver

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: How long typing must pause before a problem is shown (not while a word is half typed).
SHOW_PROBLEM_AFTER_MS: Final = 450


def guard_secrets(result: SetupResult | None = None, login: TwilioLogin | None = None) -> None:
    """Make sure typed secrets are scrubbed from any log line, before they travel anywhere."""
    login = login or (result.login if result else None)
    values = [result.ngrok_authtoken, result.passphrase] if result else []
    if login is not None:
        values += [login.auth_token, login.api_secret]
    for value in values:
        register_secret(value)


def failure(future: Future[Any]) -> BaseException | None:
    """The error a finished future ended with (a cancellation counts as one), or None."""
    if future.cancelled():
        return CancelledError()
    return future.exception()


def plain_error(error: BaseException) -> str:
    """What to show for a failed backend call.

    Twoway's own exceptions say what happened in plain words by convention; anything
    else (a bug, an unexpected library error) is logged and summarised.
    """
    if isinstance(error, CancelledError):
        return "That was stopped before it finished. Please try again."
    if type(error).__module__.startswith("desktop."):
        return str(error) or "Something went wrong. Please try again."
    logger.error("Unexpected failure in setup", exc_info=error)
    return (
        "Something unexpected went wrong. Please try again; if it keeps happening, "
        "the details are in Twoway's log file."
    )


class FutureWatcher(QObject):
    """Calls back on the GUI thread when a backend future completes.

    The thread hop is :func:`desktop.ui.tasks.deliver`; this adds tokens, so a dialog can
    :meth:`forget` an answer it no longer wants (the user edited the login meanwhile).
    Results that arrive after :meth:`forget`, or after the dialog is gone, are dropped.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tokens = itertools.count(1)
        self._callbacks: dict[int, Callable[[Future[Any]], None]] = {}

    def watch(self, future: Future[T], on_done: Callable[[Future[T]], None]) -> int:
        token = next(self._tokens)
        self._callbacks[token] = on_done

        def arrived(_outcome: object) -> None:
            callback = self._callbacks.pop(token, None)
            if callback is not None:
                callback(future)

        deliver(future, arrived, arrived, context=self)
        return token

    def forget(self, token: int | None = None) -> None:
        """Drop the callback for ``token`` (all of them when None)."""
        if token is None:
            self._callbacks.clear()
        else:
            self._callbacks.pop(token, None)


def number_label(number: IncomingNumber) -> str:
    shown = display(number.e164, region_of(number.e164))
    name = number.friendly_name.strip()
    if name and name not in {number.e164, shown} and not name.replace(" ", "").isdigit():
        return f"{shown}  ·  {name}"
    return shown


class NumberChooser(QWidget):
    """Picks the number to text from, and asks before taking one over from another app.

    Signals: ``changed()`` whenever the choice or the confirmation changes.
    """

    changed = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, offer_restore_on_quit: bool = True
    ) -> None:
        super().__init__(parent)
        self._offer_restore_on_quit = offer_restore_on_quit
        self._numbers: list[IncomingNumber] = []
        self._list = QListWidget(self)
        self._list.setObjectName("numberList")
        self._list.setAccessibleName("Your Twilio numbers")
        self._list.setAlternatingRowColors(False)
        self._list.setStyleSheet("QListWidget#numberList::item { padding: 6px 4px; }")
        self._list.currentRowChanged.connect(self._selection_changed)
        self._note = hint_label("", self)
        self._note.hide()

        self._callout = callout_frame(self)
        self._elsewhere = QLabel(self._callout)
        self._elsewhere.setWordWrap(True)
        self._elsewhere.setObjectName("webhookElsewhere")
        self._elsewhere.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._confirm = QCheckBox("Yes, let Twoway receive this number’s texts", self._callout)
        self._confirm.setObjectName("confirmTakeOver")
        self._only_while_running = QCheckBox(
            "Only while Twoway runs: give them back to that address when I quit",
            self._callout,
        )
        self._only_while_running.setObjectName("restoreOnQuit")
        callout = QVBoxLayout(self._callout)
        callout.addWidget(self._elsewhere)
        callout.addWidget(self._confirm)
        callout.addWidget(self._only_while_running)
        self._only_while_running.setVisible(offer_restore_on_quit)
        self._callout.hide()
        self._confirm.toggled.connect(self._confirm_toggled)
        self._only_while_running.toggled.connect(lambda _on: self.changed.emit())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._list, 1)
        layout.addWidget(self._note)
        layout.addWidget(self._callout)

    def set_numbers(self, numbers: Sequence[IncomingNumber], preferred: str = "") -> None:
        """Offer the numbers that can text, ``preferred`` selected (else the first)."""
        texting = [n for n in numbers if n.sms]
        hidden = len(numbers) - len(texting)
        self._numbers = texting
        self._list.blockSignals(True)
        self._list.clear()
        for number in texting:
            item = QListWidgetItem(f"{number_label(number)}\n{capabilities_text(True, number.mms)}")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, item.text().replace("\n", ", "))
            item.setSizeHint(item.sizeHint())
            self._list.addItem(item)
        self._list.blockSignals(False)
        if not texting:
            self._note.setText(
                "None of the numbers on this account can send texts. Buy a number with SMS, "
                "or turn SMS on for one, in the Twilio Console, then come back."
            )
        elif hidden:
            self._note.setText(
                f"{hidden} number{'s' if hidden > 1 else ''} that cannot send texts "
                f"{'are' if hidden > 1 else 'is'} not shown."
            )
        self._note.setVisible(not texting or hidden > 0)
        index = next((i for i, n in enumerate(texting) if n.e164 == preferred), 0)
        self._confirm.setChecked(False)
        if texting:
            self._list.setCurrentRow(index)
        self._selection_changed(self._list.currentRow())

    def numbers(self) -> list[IncomingNumber]:
        return list(self._numbers)

    def selected(self) -> IncomingNumber | None:
        row = self._list.currentRow()
        return self._numbers[row] if 0 <= row < len(self._numbers) else None

    def select(self, e164: str) -> None:
        for row, number in enumerate(self._numbers):
            if number.e164 == e164:
                self._list.setCurrentRow(row)

    def foreign_url(self) -> str | None:
        number = self.selected()
        return None if number is None else webhook_elsewhere(number.sms_url)

    def is_complete(self) -> bool:
        """A number is chosen, and if its texts go elsewhere the user said yes."""
        return self.selected() is not None and (
            self.foreign_url() is None or self._confirm.isChecked()
        )

    def takes_over(self) -> bool:
        return self.foreign_url() is not None and self._confirm.isChecked()

    def restore_on_quit(self) -> bool:
        return (
            self._offer_restore_on_quit
            and self.takes_over()
            and self._only_while_running.isChecked()
        )

    def set_restore_on_quit(self, on: bool) -> None:
        self._only_while_running.setChecked(on)

    def _confirm_toggled(self, on: bool) -> None:
        self._only_while_running.setEnabled(on)
        self.changed.emit()

    def _selection_changed(self, _row: int) -> None:
        url = self.foreign_url()
        if url is not None:
            self._elsewhere.setText(
                f"This number currently sends texts to {url}. Let Twoway receive them "
                "instead? You can restore it later in Settings."
            )
        self._callout.setVisible(url is not None)
        self._only_while_running.setEnabled(self._confirm.isChecked())
        self.changed.emit()


class TunnelChooser(QWidget):
    """How Twilio reaches this computer: ngrok, an address the user has, or polling.

    Problems with what was typed appear under the field once typing pauses;
    :meth:`problem` gives the current one at once.  No signals: the dialogs ask for
    :meth:`problem` and :meth:`values` when the user goes on.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._token_stored = False
        self._group = QButtonGroup(self)
        self._ngrok = QRadioButton("Use ngrok (recommended) — texts arrive instantly", self)
        self._ngrok.setObjectName("tunnelNgrok")
        self._public = QRadioButton("I have a public HTTPS address for this computer", self)
        self._public.setObjectName("tunnelPublicUrl")
        self._poll = QRadioButton("No tunnel — check Twilio for new texts regularly", self)
        self._poll.setObjectName("tunnelPoll")
        for button in (self._ngrok, self._public, self._poll):
            self._group.addButton(button)

        self._ngrok_box = QWidget(self)
        self.ngrok_token = QLineEdit(self._ngrok_box)
        self.ngrok_token.setObjectName("ngrokAuthtoken")
        self.ngrok_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.ngrok_token.setAccessibleName("ngrok authtoken")
        self.ngrok_domain = QLineEdit(self._ngrok_box)
        self.ngrok_domain.setObjectName("ngrokDomain")
        self.ngrok_domain.setPlaceholderText("Optional, like shop-name.ngrok-free.app")
        self.ngrok_domain.setAccessibleName("ngrok domain (optional)")
        ngrok_form = QFormLayout(self._ngrok_box)
        ngrok_form.addRow(
            hint_label(
                'Free at <a href="https://dashboard.ngrok.com/">dashboard.ngrok.com</a>: copy '
                "“Your Authtoken”. A reserved domain keeps the same address after restarts.",
                self._ngrok_box,
            )
        )
        ngrok_form.addRow("Authtoken:", self.ngrok_token)
        ngrok_form.addRow("Domain:", self.ngrok_domain)

        self._public_box = QWidget(self)
        self.public_url = QLineEdit(self._public_box)
        self.public_url.setObjectName("publicUrl")
        self.public_url.setPlaceholderText("https://texts.example.com")
        self.public_url.setAccessibleName("Public address")
        self._public_hint = hint_label(
            "For offices whose IT forwards an address to this computer.", self._public_box
        )
        public_form = QFormLayout(self._public_box)
        public_form.addRow(self._public_hint)
        public_form.addRow("Address:", self.public_url)

        self._poll_box = QWidget(self)
        self.poll_interval = QSpinBox(self._poll_box)
        self.poll_interval.setObjectName("pollInterval")
        self.poll_interval.setRange(POLL_MIN_S, POLL_MAX_S)
        self.poll_interval.setValue(DEFAULT_POLL_INTERVAL_S)
        self.poll_interval.setSuffix(" seconds")
        self.poll_interval.setAccessibleName("Check every (seconds)")
        poll_row = QHBoxLayout()
        poll_row.addWidget(QLabel("Check every", self._poll_box))
        poll_row.addWidget(self.poll_interval)
        poll_row.addStretch(1)
        poll_layout = QVBoxLayout(self._poll_box)
        poll_layout.addLayout(poll_row)
        poll_layout.addWidget(
            hint_label(
                "Simplest to set up. Texts show up a little later, and automatic replies "
                "are not sent.",
                self._poll_box,
            )
        )

        self.problem_line = StatusLine(self, object_name="tunnelProblem")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button, box in (
            (self._ngrok, self._ngrok_box),
            (self._public, self._public_box),
            (self._poll, self._poll_box),
        ):
            layout.addWidget(button)
            inner = box.layout()
            assert inner is not None
            inner.setContentsMargins(28, 0, 0, 8)
            layout.addWidget(box)
        layout.addWidget(self.problem_line)
        layout.addStretch(1)

        self._problem_timer = QTimer(self)
        self._problem_timer.setSingleShot(True)
        self._problem_timer.setInterval(SHOW_PROBLEM_AFTER_MS)
        self._problem_timer.timeout.connect(self.show_problem)
        for edit in (self.ngrok_token, self.ngrok_domain, self.public_url):
            edit.textChanged.connect(self._edited)
        self.poll_interval.valueChanged.connect(self._edited)
        self._group.buttonToggled.connect(self._choice_toggled)
        self._ngrok.setChecked(True)

    def set_values(
        self,
        choice: TunnelChoice,
        *,
        ngrok_domain: str = "",
        public_url: str = "",
        poll_interval_s: int = DEFAULT_POLL_INTERVAL_S,
        token_stored: bool = False,
    ) -> None:
        self._token_stored = token_stored
        if token_stored:
            self.ngrok_token.setPlaceholderText("Saved — type a new one to replace it")
        self.ngrok_domain.setText(ngrok_domain)
        self.public_url.setText(public_url)
        self.poll_interval.setValue(poll_interval_s)
        self._button(choice).setChecked(True)
        self.problem_line.clear()

    def choice(self) -> TunnelChoice:
        if self._public.isChecked():
            return TunnelChoice.PUBLIC_URL
        if self._poll.isChecked():
            return TunnelChoice.POLL
        return TunnelChoice.NGROK

    def set_choice(self, choice: TunnelChoice) -> None:
        self._button(choice).setChecked(True)

    def _button(self, choice: TunnelChoice) -> QRadioButton:
        return {
            TunnelChoice.NGROK: self._ngrok,
            TunnelChoice.PUBLIC_URL: self._public,
            TunnelChoice.POLL: self._poll,
        }[choice]

    def problem(self) -> str | None:
        """What stops the current choice from working, or None."""
        choice = self.choice()
        try:
            if choice is TunnelChoice.NGROK:
                normalize_ngrok_domain(self.ngrok_domain.text())
                return ngrok_authtoken_problem(
                    self.ngrok_token.text(), token_stored=self._token_stored
                )
            if choice is TunnelChoice.PUBLIC_URL:
                normalize_public_url(self.public_url.text())
        except InputProblem as problem:
            return str(problem)
        return None

    def show_problem(self) -> None:
        """Show what is wrong now (used when the user tries to go on)."""
        self._problem_timer.stop()
        problem = self.problem()
        if problem:
            self.problem_line.show_error(problem)
        elif self.choice() is TunnelChoice.PUBLIC_URL:
            url = normalize_public_url(self.public_url.text())
            self.problem_line.show_info(f"Twilio will send texts to {url}{WEBHOOK_PATH}")
        else:
            self.problem_line.clear()

    def values(self) -> tuple[TunnelChoice, str, str, str, int]:
        """(choice, ngrok authtoken, ngrok domain, public URL, poll interval), normalised.

        Only call when :meth:`problem` is None; fields of other choices are kept as typed
        (normalised when valid) so switching back and forth loses nothing.
        """
        try:
            domain = normalize_ngrok_domain(self.ngrok_domain.text())
        except InputProblem:
            domain = self.ngrok_domain.text().strip()
        try:
            url = normalize_public_url(self.public_url.text())
        except InputProblem:
            url = self.public_url.text().strip()
        return (
            self.choice(),
            self.ngrok_token.text().strip(),
            domain,
            url,
            self.poll_interval.value(),
        )

    def _edited(self) -> None:
        if self.problem() is None:
            self.show_problem()  # clear an old complaint at once
        else:
            self._problem_timer.start()

    def _choice_toggled(self, _button: object, checked: bool) -> None:
        if not checked:
            return
        choice = self.choice()
        self._ngrok_box.setEnabled(choice is TunnelChoice.NGROK)
        self._public_box.setEnabled(choice is TunnelChoice.PUBLIC_URL)
        self._poll_box.setEnabled(choice is TunnelChoice.POLL)
        self.problem_line.clear()
        if choice is TunnelChoice.PUBLIC_URL and self.problem() is None:
            self.show_problem()
