"""Settings: the wizard's choices made editable, plus signing out and giving the number back.

The dialog reads the current :class:`desktop.config.Settings` but never writes it: every
change goes through :meth:`desktop.setup.SetupBackend.apply_setup`, which owns saving and
restarting services, so the running app and the file cannot disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Final, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.config import Settings, TunnelMode, WebhookPolicy
from desktop.domain.phone import display, region_of
from desktop.gateway.ingest import AUTO_REPLY_EVERY_S
from desktop.gateway.rest_types import AccountInfo
from desktop.setup import SetupBackend, SetupResult, TunnelChoice
from desktop.ui.form_widgets import StatusLine, hint_label
from desktop.ui.setup_backend import (
    FutureWatcher,
    NumberChooser,
    TunnelChooser,
    failure,
    guard_secrets,
    plain_error,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

ACCOUNT_TAB, CONNECTION_TAB, MESSAGES_TAB = range(3)


class SettingsDialog(QDialog):
    """Edit how Twoway works.  ``exec()`` returns Accepted after a successful save (or when
    nothing changed), Rejected on Cancel/Escape, and :attr:`SIGNED_OUT` after signing out
    (the caller then shows the setup wizard)."""

    SIGNED_OUT: Final = 2

    def __init__(
        self, backend: SetupBackend, core_settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._backend = backend
        self._settings = core_settings
        self._login = backend.current_login()
        self._watcher = FutureWatcher(self)
        self._signed_out = False
        self._saved: SetupResult | None = None
        self.confirmation: QMessageBox | None = None
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Twoway settings")

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._account_tab(), "Account")
        self.tabs.addTab(self._connection_tab(), "Connection")
        self.tabs.addTab(self._messages_tab(), "Messages")
        self.status = StatusLine(self, object_name="settingsStatus")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(620, 580)
        self._load_numbers()
        self._update_previous()

    # -- building -----------------------------------------------------------------------------

    def _account_tab(self) -> QWidget:
        tab = QWidget(self)
        account = QGroupBox("Twilio account", tab)
        form = QFormLayout(account)
        login = self._login
        self.account_sid = QLabel(login.account_sid if login else "Not signed in", account)
        self.account_sid.setObjectName("accountSid")
        self.account_sid.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Account SID:", self.account_sid)
        if login and login.api_key:
            form.addRow("Sending with API key:", QLabel(login.api_key, account))
        form.addRow("Auth Token:", QLabel("Saved (hidden)" if login else "—", account))
        self.keyring = QLabel(self._backend.keyring_location(), account)
        self.keyring.setObjectName("keyringLocation")
        self.keyring.setWordWrap(True)
        form.addRow("Passwords kept in:", self.keyring)
        self.sign_out_button = QPushButton("Sign out…", account)
        self.sign_out_button.setObjectName("signOutButton")
        self.sign_out_button.setEnabled(login is not None)
        self.sign_out_button.clicked.connect(self._ask_sign_out)
        sign_out_row = QHBoxLayout()
        sign_out_row.addWidget(
            hint_label("Removes your Twilio and ngrok passwords from this computer.", account), 1
        )
        sign_out_row.addWidget(self.sign_out_button)
        form.addRow(sign_out_row)

        number = QGroupBox("Your number", tab)
        self.numbers = NumberChooser(number, offer_restore_on_quit=False)
        self.numbers.setEnabled(False)
        self.numbers_status = StatusLine(number, object_name="numbersStatus")
        number_layout = QVBoxLayout(number)
        number_layout.addWidget(self.numbers, 1)
        number_layout.addWidget(self.numbers_status)
        self.numbers.changed.connect(self._update_previous)

        previous = QGroupBox("The number’s previous address", tab)
        self.previous_text = QLabel(previous)
        self.previous_text.setObjectName("previousAddress")
        self.previous_text.setWordWrap(True)
        self.previous_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restore_on_quit = QCheckBox(
            "Give texts back to that address whenever Twoway quits", previous
        )
        self.restore_on_quit.setObjectName("restoreOnQuit")
        self.restore_on_quit.setChecked(
            self._settings.webhook_policy is WebhookPolicy.RESTORE_ON_QUIT
        )
        self.restore_button = QPushButton("Restore the previous address now…", previous)
        self.restore_button.setObjectName("restoreWebhookButton")
        self.restore_button.setAccessibleDescription("Restore the number’s previous webhook")
        self.restore_button.clicked.connect(self._ask_restore)
        self.restore_status = StatusLine(previous, object_name="restoreStatus")
        previous_layout = QVBoxLayout(previous)
        previous_layout.addWidget(self.previous_text)
        previous_layout.addWidget(self.restore_on_quit)
        restore_row = QHBoxLayout()
        restore_row.addStretch(1)
        restore_row.addWidget(self.restore_button)
        previous_layout.addLayout(restore_row)
        previous_layout.addWidget(self.restore_status)

        layout = QVBoxLayout(tab)
        layout.addWidget(account)
        layout.addWidget(number, 1)
        layout.addWidget(previous)
        return tab

    def _connection_tab(self) -> QWidget:
        tab = QWidget(self)
        settings = self._settings
        self.tunnel = TunnelChooser(tab)
        self.tunnel.set_values(
            TunnelChoice(settings.tunnel_mode.value),
            ngrok_domain=settings.ngrok_domain,
            public_url=settings.public_url,
            poll_interval_s=settings.poll_interval_s,
            token_stored=settings.tunnel_mode is TunnelMode.NGROK,
        )
        layout = QVBoxLayout(tab)
        layout.addWidget(
            hint_label(
                "Twilio delivers each text to an internet address. Choose how that "
                "address reaches this computer.",
                tab,
            )
        )
        layout.addWidget(self.tunnel, 1)
        return tab

    def _messages_tab(self) -> QWidget:
        tab = QWidget(self)
        text = self._settings.auto_reply_text
        self.auto_reply_on = QCheckBox("Answer new texts automatically", tab)
        self.auto_reply_on.setObjectName("autoReplyEnabled")
        self.auto_reply_on.setChecked(bool(text.strip()))
        self.auto_reply = QPlainTextEdit(text, tab)
        self.auto_reply.setObjectName("autoReplyText")
        self.auto_reply.setAccessibleName("Automatic reply")
        self.auto_reply.setPlaceholderText(
            "Thanks for your text! We answer between 9 and 5, Monday to Friday."
        )
        self.auto_reply.setTabChangesFocus(True)
        self.auto_reply.setEnabled(self.auto_reply_on.isChecked())
        self.auto_reply_on.toggled.connect(self.auto_reply.setEnabled)
        hours = AUTO_REPLY_EVERY_S // 3600
        self.auto_reply.setFixedHeight(self.auto_reply.fontMetrics().lineSpacing() * 6)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.auto_reply_on)
        layout.addWidget(self.auto_reply)
        layout.addWidget(
            hint_label(
                f"Each customer gets it at most once every {hours} hours. It is not sent "
                "when Twoway checks Twilio every few seconds instead of receiving texts "
                "instantly, or for STOP, START and HELP.",
                tab,
            )
        )
        layout.addStretch(1)
        return tab

    # -- numbers and the previous address -----------------------------------------------------

    def _load_numbers(self) -> None:
        if self._login is None:
            self.numbers_status.show_info("Sign in to choose a number.")
            return
        self.numbers_status.show_busy("Loading your numbers from Twilio…")
        try:
            future = self._backend.check_login(self._login)
        except Exception as exc:
            self._numbers_failed(plain_error(exc))
            return
        self._watcher.watch(future, self._numbers_loaded)

    def _numbers_loaded(self, future: Future[AccountInfo]) -> None:
        error = failure(future)
        if error is not None:
            self._numbers_failed(plain_error(error))
            return
        self.numbers.set_numbers(future.result().numbers, self._settings.phone_number)
        self.numbers.setEnabled(True)
        self.numbers_status.clear()
        self._update_previous()

    def _numbers_failed(self, text: str) -> None:
        current = self._settings.phone_number
        keep = f" Your number stays {display(current, region_of(current))}." if current else ""
        self.numbers_status.show_error(f"{text}{keep}")

    def _previous_url(self) -> str | None:
        from desktop.sync.webhook_config import previous_address

        remembered = self._settings.previous_sms_urls
        number = self.numbers.selected()
        if number is not None:
            # The number's own SmsUrl, or its Messaging Service's address if Twoway changed that.
            return previous_address(self._settings, number.sid)
        if remembered:
            return next(iter(remembered.values()))
        return None

    def _update_previous(self) -> None:
        url = self._previous_url()
        takes_over = self.numbers.takes_over()
        if url:
            self.previous_text.setText(f"Before Twoway, texts to this number went to {url}.")
        elif takes_over:
            self.previous_text.setText(
                f"Texts to this number go to {self.numbers.foreign_url()} until you save."
            )
        else:
            self.previous_text.setText("Texts to this number did not go anywhere else before.")
        self.restore_on_quit.setEnabled(bool(url) or takes_over)
        self.restore_button.setEnabled(bool(url) and self._login is not None)

    # -- saving -------------------------------------------------------------------------------

    def build_result(self) -> SetupResult | None:
        """The edited choices, or None when signed out (nothing can be applied then)."""
        if self._login is None:
            return None
        tunnel, token, domain, url, interval = self.tunnel.values()
        number = self.numbers.selected()
        takes_over = self.numbers.takes_over() and tunnel is not TunnelChoice.POLL
        restore = self.restore_on_quit.isChecked() and self.restore_on_quit.isEnabled()
        policy = WebhookPolicy.RESTORE_ON_QUIT if restore else WebhookPolicy.KEEP
        return SetupResult(
            login=self._login,
            phone_number=number.e164 if number else self._settings.phone_number,
            number_sid=number.sid if number else "",
            tunnel=tunnel,
            ngrok_authtoken=token if tunnel is TunnelChoice.NGROK else "",
            ngrok_domain=domain,
            public_url=url,
            poll_interval_s=interval,
            take_over_foreign_webhook=takes_over,
            webhook_policy=policy.value,
            auto_reply_text=self.auto_reply.toPlainText().strip()
            if self.auto_reply_on.isChecked()
            else "",
        )

    def has_changes(self, result: SetupResult) -> bool:
        s = self._settings
        before = (
            s.phone_number,
            s.tunnel_mode.value,
            s.ngrok_domain,
            s.public_url,
            s.poll_interval_s,
            s.webhook_policy.value,
            s.auto_reply_text.strip(),
        )
        after = (
            result.phone_number,
            result.tunnel.value,
            result.ngrok_domain,
            result.public_url,
            result.poll_interval_s,
            result.webhook_policy,
            result.auto_reply_text,
        )
        return before != after or bool(result.ngrok_authtoken) or result.take_over_foreign_webhook

    def saved_result(self) -> SetupResult | None:
        """What was applied, after ``exec()`` returned Accepted (None when nothing changed)."""
        return self._saved

    def signed_out(self) -> bool:
        return self._signed_out

    def save(self) -> None:
        problem = self.tunnel.problem()
        if problem:
            self.tabs.setCurrentIndex(CONNECTION_TAB)
            self.tunnel.show_problem()
            self.status.show_error(problem)
            return
        result = self.build_result()
        if result is None or not self.has_changes(result):
            self.accept()
            return
        if result.tunnel is not TunnelChoice.POLL and not (
            self.numbers.is_complete() or self.numbers.selected() is None
        ):
            self.tabs.setCurrentIndex(ACCOUNT_TAB)
            self.status.show_error(
                "Say whether Twoway may receive this number’s texts (on the Account tab)."
            )
            return
        guard_secrets(result)
        self._run(
            "Saving and reconnecting…",
            lambda: self._backend.apply_setup(result),
            lambda _done: self._applied(result),
            self.status,
        )

    def _applied(self, result: SetupResult) -> None:
        self._saved = result
        self.accept()

    def reject(self) -> None:
        self._watcher.forget()
        super().reject()

    # -- sign out and restore -----------------------------------------------------------------

    def _ask(self, title: str, text: str, yes: str, on_yes: Callable[[], None]) -> None:
        """A non-blocking yes/cancel question (keeps the event loop, and tests, running)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Twoway", title, parent=self)
        box.setInformativeText(text)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)

        def answered(_code: int) -> None:
            self.confirmation = None
            if box.clickedButton() is yes_button:
                on_yes()
            box.deleteLater()

        box.finished.connect(answered)
        self.confirmation = box
        box.open()

    def _ask_sign_out(self) -> None:
        self._ask(
            "Sign out of Twilio?",
            "Twoway will remove your Twilio Auth Token, API key and ngrok authtoken from "
            f"{self._backend.keyring_location()} and stop receiving texts. Your conversations "
            "stay on this computer.",
            "Sign out",
            self._sign_out,
        )

    def _sign_out(self) -> None:
        self._run("Signing out…", self._backend.sign_out, self._after_sign_out, self.status)

    def _after_sign_out(self, _future: Future[None]) -> None:
        self._signed_out = True
        self.done(self.SIGNED_OUT)

    def _ask_restore(self) -> None:
        url = self._previous_url() or "the address it used before"
        self._ask(
            "Give texts back to the previous address?",
            f"Texts to this number will go to {url} again, and Twoway will stop receiving "
            "them instantly.",
            "Restore",
            self._restore,
        )

    def _restore(self) -> None:
        self._run(
            "Restoring the previous address…",
            self._backend.restore_previous_webhook,
            self._restored,
            self.restore_status,
        )

    def _restored(self, future: Future[str]) -> None:
        self.restore_status.show_ok(future.result())
        self.restore_button.setEnabled(False)

    # -- one way to run a backend call --------------------------------------------------------

    def _run(
        self,
        busy_text: str,
        start: Callable[[], Future[T]],
        on_success: Callable[[Future[T]], None],
        line: StatusLine,
    ) -> None:
        """Show ``busy_text`` on ``line`` with the buttons off, then report success or the
        plain reason it failed."""
        self._set_busy(True)
        line.show_busy(busy_text)

        def finished(future: Future[T]) -> None:
            self._set_busy(False)
            error = failure(future)
            if error is not None:
                line.show_error(plain_error(error))
                return
            line.clear()
            on_success(future)

        try:
            future = start()
        except Exception as exc:
            self._set_busy(False)
            line.show_error(plain_error(exc))
            return
        self._watcher.watch(future, finished)

    def _set_busy(self, busy: bool) -> None:
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        if save is not None:
            save.setEnabled(not busy)
        self.sign_out_button.setEnabled(not busy and self._login is not None)
        if busy:
            self.restore_button.setEnabled(False)
        else:
            self._update_previous()
