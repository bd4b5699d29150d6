"""Settings: the wizard's choices made editable, signing out and giving the number back,
and the front desk (quick replies, business hours, auto-replies) with its setup file.

The dialog reads the current :class:`desktop.config.Settings` but never writes it: every
account or connection change goes through :meth:`desktop.setup.SetupBackend.apply_setup`,
which owns saving and restarting services, so the running app and the file cannot
disagree.  The front-desk pages save through ``FrontDesk.replace_setup`` — a file in the
data folder, so they save signed out and in the demo too.

More pages: subclass :class:`desktop.ui.settings_pages.SettingsPage` and pass it in
``extra_pages`` (or append to :attr:`SettingsDialog.pages` before ``exec()`` via
:meth:`SettingsDialog.add_page`); Save checks every page, then waits for every page's save.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Final, TypeVar

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
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.config import Settings, TunnelMode, WebhookPolicy
from desktop.domain.phone import display, region_of
from desktop.gateway.rest_types import AccountInfo
from desktop.setup import SetupBackend, SetupResult, TunnelChoice
from desktop.ui.form_widgets import StatusLine, hint_label
from desktop.ui.settings_pages import FrontDeskPages, SettingsPage
from desktop.ui.settings_setup_file import SetupFileButtons
from desktop.ui.setup_backend import (
    FutureWatcher,
    NumberChooser,
    TunnelChooser,
    failure,
    guard_secrets,
    plain_error,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.frontdesk.service import FrontDesk

logger = logging.getLogger(__name__)
T = TypeVar("T")

ACCOUNT_TAB, CONNECTION_TAB = range(2)


class SettingsDialog(QDialog):
    """Edit how Twoway works.  ``exec()`` returns Accepted after a successful save (or when
    nothing changed), Rejected on Cancel/Escape, and :attr:`SIGNED_OUT` after signing out
    (the caller then shows the setup wizard)."""

    SIGNED_OUT: Final = 2

    def __init__(
        self,
        backend: SetupBackend,
        core_settings: Settings,
        parent: QWidget | None = None,
        *,
        front_desk: FrontDesk | None = None,
        extra_pages: Sequence[SettingsPage] = (),
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
        #: Pages after the built-in Account and Connection tabs, in tab order.
        self.pages: list[SettingsPage] = []
        self.front_desk: FrontDeskPages | None = None
        self.setup_file: SetupFileButtons | None = None
        self.status = StatusLine(self, object_name="settingsStatus")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        if front_desk is not None:
            desk_pages = self._add_front_desk(front_desk)
            self.setup_file = SetupFileButtons(self, desk_pages, self.status)
            bottom.addWidget(self.setup_file)
        for page in extra_pages:
            self.add_page(page)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(680, 640)
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

    def _add_front_desk(self, desk: FrontDesk) -> FrontDeskPages:
        from desktop.ui.settings_auto_replies import AutoRepliesPage
        from desktop.ui.settings_hours import HoursPage
        from desktop.ui.settings_quick_replies import QuickRepliesPage

        pages = [QuickRepliesPage(self), HoursPage(self), AutoRepliesPage(self)]
        self.front_desk = FrontDeskPages(desk, pages)
        for page in pages:
            self.tabs.addTab(page, page.title)
        return self.front_desk

    def add_page(self, page: SettingsPage) -> None:
        """Add a tab whose checks and save join the dialog's Save."""
        self.pages.append(page)
        self.tabs.addTab(page, page.title)

    def page(self, title: str) -> QWidget:
        """The tab called ``title`` (for tests and for opening the dialog on a page)."""
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) == title:
                widget = self.tabs.widget(index)
                assert widget is not None
                return widget
        raise KeyError(title)

    def show_page(self, title: str) -> None:
        self.tabs.setCurrentWidget(self.page(title))

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
            auto_reply_text=None,  # the away message lives in the front-desk setup now
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
        )
        after = (
            result.phone_number,
            result.tunnel.value,
            result.ngrok_domain,
            result.public_url,
            result.poll_interval_s,
            result.webhook_policy,
        )
        return before != after or bool(result.ngrok_authtoken) or result.take_over_foreign_webhook

    def saved_result(self) -> SetupResult | None:
        """What was applied, after ``exec()`` returned Accepted (None when nothing changed)."""
        return self._saved

    def signed_out(self) -> bool:
        return self._signed_out

    def save(self) -> None:
        """Check every page, then save each that changed; close when all are saved."""
        problem = self.tunnel.problem()
        if problem:
            self.tabs.setCurrentIndex(CONNECTION_TAB)
            self.tunnel.show_problem()
            self.status.show_error(problem)
            return
        if self.front_desk is not None:
            found = self.front_desk.problem()
            if found is not None:
                self.tabs.setCurrentWidget(found[0])
                self.status.show_error(found[1])
                return
        for page in self.pages:
            text = page.problem()
            if text:
                self.tabs.setCurrentWidget(page)
                self.status.show_error(text)
                return
        result = self.build_result()
        if result is not None and not self.has_changes(result):
            result = None
        if (
            result is not None
            and result.tunnel is not TunnelChoice.POLL
            and not (self.numbers.is_complete() or self.numbers.selected() is None)
        ):
            self.tabs.setCurrentIndex(ACCOUNT_TAB)
            self.status.show_error(
                "Say whether Twoway may receive this number’s texts (on the Account tab)."
            )
            return
        # Local pages first: they cannot be half-applied by a reconnect that fails.
        saves: list[Callable[[], Future[Any] | None]] = []
        if self.front_desk is not None:
            saves.append(self.front_desk.start_save)
        saves.extend(page.start_save for page in self.pages)
        if result is not None:
            guard_secrets(result)
            applied = result
            saves.append(lambda: self._backend.apply_setup(applied))
        self._save_next(saves, result)

    def _save_next(
        self, saves: list[Callable[[], Future[Any] | None]], result: SetupResult | None
    ) -> None:
        """Start the first save left; when it succeeds, the next; then close."""
        if not saves:
            self._saved = result
            self.accept()
            return
        start = saves.pop(0)
        try:
            future = start()
        except Exception as exc:
            self.status.show_error(plain_error(exc))
            return
        if future is None:
            self._save_next(saves, result)
            return
        busy = "Saving and reconnecting…" if not saves and result is not None else "Saving…"
        self._run(busy, lambda: future, lambda _done: self._save_next(saves, result), self.status)

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
