"""First-run setup: sign in to Twilio, pick the number, pick how texts reach this computer.

Every network step runs in the backend; the pages only show a spinner and, when something
fails, the backend's plain sentence, and keep the user on the page to fix it.  Nothing
typed here is logged.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Final

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from desktop.config import WebhookPolicy
from desktop.domain.phone import display, region_of
from desktop.gateway.rest_types import AccountInfo
from desktop.secret_file import passphrase_problem
from desktop.secrets import INSTALL_HINT, SecretStorage, StorageKind
from desktop.setup import (
    SetupBackend,
    SetupResult,
    TunnelChoice,
    TwilioLogin,
    account_sid_problem,
    api_key_problem,
    auth_token_problem,
    tunnel_summary,
)
from desktop.ui.form_widgets import StatusLine, callout_frame, hint_label, secret_field
from desktop.ui.setup_backend import (
    FutureWatcher,
    NumberChooser,
    TunnelChooser,
    failure,
    guard_secrets,
    number_label,
    plain_error,
)

logger = logging.getLogger(__name__)

#: Typing must pause this long before the sign-in is checked with Twilio.
CHECK_AFTER_MS: Final = 700

LOGIN_PAGE, NUMBER_PAGE, TUNNEL_PAGE, SUMMARY_PAGE = range(4)


class _Page(QWizardPage):
    """Tells the wizard only when the page's completeness really changes, not per keystroke
    (each Python-side emit is a round trip through Qt, and PySide 6.12.0 leaks on it)."""

    def __init__(self) -> None:
        super().__init__()
        self._was_complete: bool | None = None

    def refresh_complete(self) -> None:
        complete = self.isComplete()
        if complete != self._was_complete:
            self._was_complete = complete
            self.completeChanged.emit()


class LoginPage(_Page):
    """Account SID and Auth Token (and optionally an API key), checked with Twilio as typed."""

    def __init__(self, backend: SetupBackend, watcher: FutureWatcher) -> None:
        super().__init__()
        self._backend = backend
        self._watcher = watcher
        self.setTitle("Connect your Twilio account")
        self.setSubTitle("Twoway sends and receives texts through your Twilio phone number.")

        self.account_sid = QLineEdit(self)
        self.account_sid.setObjectName("accountSid")
        self.account_sid.setAccessibleName("Account SID")
        self.account_sid.setPlaceholderText("AC…")
        self.auth_token = secret_field(self, "authToken", "Auth Token")
        self.use_api_key = QCheckBox("Send with an API key instead (optional)", self)
        self.use_api_key.setObjectName("useApiKey")
        self.api_key = QLineEdit(self)
        self.api_key.setObjectName("apiKey")
        self.api_key.setAccessibleName("API key SID")
        self.api_key.setPlaceholderText("SK…")
        self.api_secret = secret_field(self, "apiSecret", "API key secret")
        self._api_box = QWidget(self)
        api_form = QFormLayout(self._api_box)
        api_form.setContentsMargins(24, 0, 0, 0)
        api_form.addRow(
            hint_label(
                "Twilio signs incoming texts with your Auth Token, so it is always needed. "
                "An API key, if you add one, is used for sending and can be revoked on its own.",
                self._api_box,
            )
        )
        api_form.addRow("API key SID:", self.api_key)
        api_form.addRow("Secret:", self.api_secret)
        self._api_box.hide()

        self._build_storage_notice()
        self.status = StatusLine(self, object_name="loginStatus")
        self.demo_button = QPushButton("Try the demo", self)
        self.demo_button.setObjectName("tryDemoButton")
        self.demo_button.setAutoDefault(False)

        form = QFormLayout()
        form.addRow("Account SID:", self.account_sid)
        form.addRow("Auth Token:", self.auth_token)
        layout = QVBoxLayout(self)
        layout.addWidget(self.storage_notice)
        layout.addLayout(form)
        layout.addWidget(
            hint_label(
                "Where do I find these? Sign in to the "
                '<a href="https://console.twilio.com/">Twilio Console</a>: both are on the '
                "home page, under Account Info. Click “Show” to copy the Auth Token.",
                self,
            )
        )
        layout.addWidget(self.use_api_key)
        layout.addWidget(self._api_box)
        layout.addWidget(self.status)
        layout.addStretch(1)
        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        demo_row = QHBoxLayout()
        demo_row.addWidget(
            QLabel("No Twilio account yet? Look around with made-up customers first.", self), 1
        )
        demo_row.addWidget(self.demo_button)
        layout.addLayout(demo_row)

        self.account: AccountInfo | None = None
        self._checked_login: TwilioLogin | None = None
        self._check_token: int | None = None
        self._checking: TwilioLogin | None = None
        self._advance_when_checked = False
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_AFTER_MS)
        self._check_timer.timeout.connect(self._check_if_ready)
        for edit in (self.account_sid, self.auth_token, self.api_key, self.api_secret):
            edit.textChanged.connect(self._edited)
        for edit in (self.passphrase_field, self.passphrase_again):
            edit.textChanged.connect(self._passphrase_edited)
        self.use_api_key.toggled.connect(self._api_toggled)
        self.storage: SecretStorage | None = None
        try:
            storage = backend.secret_storage()
        except Exception:  # a backend that cannot tell: say nothing rather than guess
            logger.exception("Could not find where secrets are kept")
        else:
            watcher.watch(storage, self._storage_known)

    # -- where the secrets will be kept ---------------------------------------------------------

    def _build_storage_notice(self) -> None:
        """Said before anything is typed: no secure keyring here, and what to do about it."""
        self.storage_notice = callout_frame(self)
        self.storage_notice.setObjectName("storageNotice")
        self.storage_text = hint_label("", self.storage_notice)
        self.storage_text.setObjectName("storageText")
        self.passphrase_field = secret_field(self.storage_notice, "passphrase", "Passphrase")
        self.passphrase_again = secret_field(
            self.storage_notice, "passphraseAgain", "Passphrase again"
        )
        self._again_label = QLabel("Again:", self.storage_notice)
        form = QFormLayout(self.storage_notice)
        form.addRow(self.storage_text)
        form.addRow("Passphrase:", self.passphrase_field)
        form.addRow(self._again_label, self.passphrase_again)
        self.storage_notice.hide()

    def _storage_known(self, future: Future[SecretStorage]) -> None:
        error = failure(future)
        if error is not None:
            logger.warning("Could not find where secrets are kept: %s", error)
            return
        storage = future.result()
        self.storage = storage
        if storage.kind is StorageKind.NONE:
            self.storage_text.setText(
                "<b>This computer has no secure keyring</b>, so Twoway has no safe place for "
                f"your Auth Token yet. To get one, {INSTALL_HINT}. Or choose a passphrase "
                "here: Twoway keeps your credentials in an encrypted file and asks for the "
                "passphrase each time it starts. It is never stored anywhere, so keep it safe."
            )
            self.storage_notice.show()
        elif storage.kind is StorageKind.ENCRYPTED_FILE:
            self.storage_text.setText(
                "Your credentials are kept in an encrypted file on this computer. Enter the "
                "passphrase you chose for it."
            )
            self._again_label.hide()
            self.passphrase_again.hide()
            self.storage_notice.show()
        self.refresh_complete()

    def _needs_passphrase(self) -> bool:
        return self.storage is not None and self.storage.kind is not StorageKind.KEYRING

    def _new_passphrase(self) -> bool:
        return self.storage is not None and self.storage.kind is StorageKind.NONE

    def passphrase(self) -> str:
        """The passphrase typed (empty where the keyring keeps the secrets)."""
        return self.passphrase_field.text() if self._needs_passphrase() else ""

    def passphrase_problem(self) -> str | None:
        if not self._needs_passphrase():
            return None
        again = self.passphrase_again.text() if self._new_passphrase() else None
        if not self._new_passphrase() and self.passphrase_field.text():
            return None
        return passphrase_problem(self.passphrase_field.text(), again)

    def _passphrase_edited(self) -> None:
        if self.status.kind() == "error":
            self.status.clear()
        self.refresh_complete()

    def login(self) -> TwilioLogin:
        with_key = self.use_api_key.isChecked()
        return TwilioLogin(
            self.account_sid.text(),
            self.auth_token.text(),
            self.api_key.text() if with_key else "",
            self.api_secret.text() if with_key else "",
        ).stripped()

    def format_problem(self) -> str | None:
        login = self.login()
        return (
            account_sid_problem(login.account_sid)
            or auth_token_problem(login.auth_token)
            or api_key_problem(login.api_key, login.api_secret)
        )

    def isComplete(self) -> bool:
        login = self.login()
        return (
            bool(login.account_sid and login.auth_token)
            and not self.status.is_busy()
            and (not self._needs_passphrase() or bool(self.passphrase_field.text()))
        )

    def validatePage(self) -> bool:
        problem = self.passphrase_problem()
        if problem:
            self.status.show_error(problem)
            return False
        login = self.login()
        if self.account is not None and self._checked_login == login:
            return True
        problem = self.format_problem()
        if problem:
            self._check_timer.stop()
            self.status.show_error(problem)
            return False
        self._advance_when_checked = True
        if self._checking != login:
            self._start_check(login)
        return False

    def _api_toggled(self, on: bool) -> None:
        self._api_box.setVisible(on)
        self._edited()

    def _edited(self) -> None:
        """Any change makes an earlier answer from Twilio stale."""
        self.account = None
        self._checked_login = None
        self._advance_when_checked = False
        if self._check_token is not None:
            self._watcher.forget(self._check_token)
            self._check_token, self._checking = None, None
        self.status.clear()
        self.refresh_complete()
        self._check_timer.start()

    def _check_if_ready(self) -> None:
        """Check with Twilio as soon as what is typed looks complete; say what is off if not."""
        login = self.login()
        problem = self.format_problem()
        if problem is None:
            self._start_check(login)
        elif login.account_sid and login.auth_token:
            self.status.show_error(problem)

    def _start_check(self, login: TwilioLogin) -> None:
        self._check_timer.stop()
        guard_secrets(login=login)
        self._checking = login
        self.status.show_busy("Checking with Twilio…")
        self.refresh_complete()
        try:
            future = self._backend.check_login(login)
        except Exception as exc:  # a backend that fails before it even starts
            self._checking = None
            self._check_failed(plain_error(exc))
            return
        self._check_token = self._watcher.watch(future, self._checked)

    def _checked(self, future: Future[AccountInfo]) -> None:
        self._check_token, login, self._checking = None, self._checking, None
        error = failure(future)
        if error is not None:
            self._check_failed(plain_error(error))
            return
        account = future.result()
        self.account, self._checked_login = account, login
        name = account.friendly_name or account.account_sid
        count = len(account.sms_numbers)
        numbers = f"{count} number{'s' if count != 1 else ''} that can text"
        self.status.show_ok(f"Connected to {name} ({numbers}).")
        self.refresh_complete()
        if self._advance_when_checked:
            self._advance_when_checked = False
            wizard = self.wizard()
            if wizard is not None and wizard.currentPage() is self:
                wizard.next()

    def _check_failed(self, text: str) -> None:
        self._advance_when_checked = False
        self.status.show_error(text)
        self.refresh_complete()


class NumberPage(_Page):
    def __init__(self, login_page: LoginPage) -> None:
        super().__init__()
        self._login_page = login_page
        self.setTitle("Choose the number to text from")
        self.setSubTitle("Customers text this number, and your replies come from it.")
        self.chooser = NumberChooser(self)
        self.chooser.changed.connect(self.refresh_complete)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chooser)

    def initializePage(self) -> None:
        account = self._login_page.account
        previous = self.chooser.selected()
        self.chooser.set_numbers(
            account.numbers if account else (), previous.e164 if previous else ""
        )

    def isComplete(self) -> bool:
        return self.chooser.is_complete()


class TunnelPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("How should texts reach this computer?")
        self.setSubTitle("Twilio sends each text to an internet address. Pick how it reaches you.")
        self.chooser = TunnelChooser(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chooser)

    def validatePage(self) -> bool:
        self.chooser.show_problem()
        return self.chooser.problem() is None


class SummaryPage(_Page):
    """Shows what will happen, then applies it; Finish closes only once that worked."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__()
        self._setup = wizard
        self.setTitle("Ready to start")
        self.setSubTitle(
            "Check the details, then click Start texting: Twoway then checks that your "
            "number can send and receive texts (Help › Can I Text Yet?)."
        )
        self.setFinalPage(True)
        self.account = QLabel(self)
        self.number = QLabel(self)
        self.arrival = QLabel(self)
        self.secrets = QLabel(self)
        self._takeover_box = callout_frame(self)
        self.takeover = QLabel(self._takeover_box)
        QVBoxLayout(self._takeover_box).addWidget(self.takeover)
        for label in (self.account, self.number, self.arrival, self.secrets, self.takeover):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.arrival.setObjectName("summaryArrival")
        self.takeover.setObjectName("summaryTakeover")
        self.status = StatusLine(self, object_name="applyStatus")
        form = QFormLayout()
        form.addRow("Twilio account:", self.account)
        form.addRow("Your number:", self.number)
        form.addRow("New texts arrive:", self.arrival)
        form.addRow("Passwords kept in:", self.secrets)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(self._takeover_box)
        layout.addStretch(1)
        layout.addWidget(self.status)
        self._applied = False
        self._token: int | None = None

    def initializePage(self) -> None:
        self._applied = False
        self.status.clear()
        result = self._setup.build_result()
        account = self._setup.login_page.account
        if account is not None:
            name = account.friendly_name or "Your account"
            self.account.setText(f"{name} ({account.account_sid})")
        number = self._setup.number_page.chooser.selected()
        self.number.setText(number_label(number) if number else "")
        self.arrival.setText(
            tunnel_summary(
                result.tunnel,
                ngrok_domain=result.ngrok_domain,
                public_url=result.public_url,
                poll_interval_s=result.poll_interval_s,
            )
        )
        self.secrets.setText(
            "an encrypted file in Twoway's data folder, unlocked with your passphrase"
            if result.passphrase
            else self._setup.backend.keyring_location()
        )
        self.takeover.setText(self._takeover_text(result))
        self._takeover_box.setVisible(bool(self.takeover.text()))

    def _takeover_text(self, result: SetupResult) -> str:
        chooser = self._setup.number_page.chooser
        url = chooser.foreign_url()
        if url is None:
            return ""
        if result.tunnel is TunnelChoice.POLL:
            return f"Texts keep going to {url} too; Twoway only reads them from Twilio."
        when = " while Twoway runs" if chooser.restore_on_quit() else ""
        return f"Twoway will receive this number’s texts instead of {url}{when}."

    def isComplete(self) -> bool:
        return not self.status.is_busy()

    def validatePage(self) -> bool:
        if self._applied:
            return True
        result = self._setup.build_result()
        guard_secrets(result)
        self.status.show_busy("Saving your settings and connecting…")
        self.refresh_complete()
        try:
            future = self._setup.backend.apply_setup(result)
        except Exception as exc:
            self._failed(plain_error(exc))
            return False
        self._token = self._setup.watcher.watch(future, lambda done: self._done(done, result))
        return False

    def _done(self, future: Future[None], result: SetupResult) -> None:
        self._token = None
        error = failure(future)
        if error is not None:
            self._failed(plain_error(error))
            return
        self._applied = True
        self._setup.finished_with(result)
        self._setup.accept()

    def _failed(self, text: str) -> None:
        self.status.show_error(text)
        self.refresh_complete()


class SetupWizard(QWizard):
    """The first-run wizard.  After ``exec()`` returns Accepted, :meth:`setup_result` holds
    what was applied; ``demo_requested()`` is True when the user chose the demo instead."""

    def __init__(self, backend: SetupBackend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.watcher = FutureWatcher(self)
        self._result: SetupResult | None = None
        self._demo_requested = False
        self.setObjectName("setupWizard")
        self.setWindowTitle("Set up Twoway")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start texting")
        self.login_page = LoginPage(backend, self.watcher)
        self.number_page = NumberPage(self.login_page)
        self.tunnel_page = TunnelPage()
        self.summary_page = SummaryPage(self)
        self.setPage(LOGIN_PAGE, self.login_page)
        self.setPage(NUMBER_PAGE, self.number_page)
        self.setPage(TUNNEL_PAGE, self.tunnel_page)
        self.setPage(SUMMARY_PAGE, self.summary_page)
        self.login_page.demo_button.clicked.connect(self._try_demo)
        self.resize(640, 520)

    def setup_result(self) -> SetupResult | None:
        return self._result

    def demo_requested(self) -> bool:
        return self._demo_requested

    def build_result(self) -> SetupResult:
        number = self.number_page.chooser.selected()
        tunnel, token, domain, url, interval = self.tunnel_page.chooser.values()
        chooser = self.number_page.chooser
        takes_over = chooser.takes_over() and tunnel is not TunnelChoice.POLL
        policy = (
            WebhookPolicy.RESTORE_ON_QUIT
            if takes_over and chooser.restore_on_quit()
            else WebhookPolicy.KEEP
        )
        return SetupResult(
            login=self.login_page.login(),
            phone_number=number.e164 if number else "",
            number_sid=number.sid if number else "",
            tunnel=tunnel,
            ngrok_authtoken=token if tunnel is TunnelChoice.NGROK else "",
            ngrok_domain=domain if tunnel is TunnelChoice.NGROK else "",
            public_url=url if tunnel is TunnelChoice.PUBLIC_URL else "",
            poll_interval_s=interval,
            take_over_foreign_webhook=takes_over,
            webhook_policy=policy.value,
            passphrase=self.login_page.passphrase(),
        )

    def finished_with(self, result: SetupResult) -> None:
        self._result = result
        number = display(result.phone_number, region_of(result.phone_number))
        logger.info("Setup finished for %s (%s)", number, result.tunnel.value)

    def reject(self) -> None:
        self.watcher.forget()  # answers that arrive later have nobody to tell
        super().reject()

    def _try_demo(self) -> None:
        self._demo_requested = True
        self.backend.start_demo()
        self.reject()
