"""The first-run wizard, driven like a user would, against a backend the test answers."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QWizard

from desktop.config import WebhookPolicy
from desktop.gateway.rest_types import AccountInfo, IncomingNumber, TwilioProblem
from desktop.secrets import SecretStorage, StorageKind
from desktop.setup import SetupResult, TunnelChoice, TwilioLogin
from desktop.ui.setup_wizard import (
    LOGIN_PAGE,
    NUMBER_PAGE,
    SUMMARY_PAGE,
    TUNNEL_PAGE,
    SetupWizard,
)

# The offscreen platform cannot resize native windows to fit; harmless for these tests.
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "5f1c" * 8
FRONT_DESK = IncomingNumber(
    "PN" + "1" * 32, "+15035550100", "Front desk", sms=True, mms=True, voice=True, sms_url=""
)
FAX = IncomingNumber(
    "PN" + "2" * 32, "+15035550101", "Fax line", sms=False, mms=False, voice=True, sms_url=""
)
CRM = IncomingNumber(
    "PN" + "3" * 32,
    "+15035550102",
    "Old CRM",
    sms=True,
    mms=False,
    voice=True,
    sms_url="https://crm.example.com/hooks/sms",
)
ACCOUNT = AccountInfo(SID, "Rosie's Bakery", "active", (FRONT_DESK, FAX, CRM))


class FakeSetupBackend:
    """Implements desktop.setup.SetupBackend; every future waits for the test to answer."""

    def __init__(self, login: TwilioLogin | None = None) -> None:
        self.logins: list[TwilioLogin] = []
        self.checks: list[Future[AccountInfo]] = []
        self.applied: list[SetupResult] = []
        self.applies: list[Future[None]] = []
        self.sign_outs: list[Future[None]] = []
        self.restores: list[Future[str]] = []
        self.demo_started = 0
        self.login = login
        self.storage = SecretStorage(StorageKind.KEYRING, "the test keyring")
        self.unlocks: list[str] = []
        self.unlock_futures: list[Future[None]] = []

    def check_login(self, login: TwilioLogin) -> Future[AccountInfo]:
        self.logins.append(login)
        self.checks.append(Future())
        return self.checks[-1]

    def apply_setup(self, result: SetupResult) -> Future[None]:
        self.applied.append(result)
        self.applies.append(Future())
        return self.applies[-1]

    def start_demo(self) -> None:
        self.demo_started += 1

    def sign_out(self) -> Future[None]:
        self.sign_outs.append(Future())
        return self.sign_outs[-1]

    def restore_previous_webhook(self) -> Future[str]:
        self.restores.append(Future())
        return self.restores[-1]

    def keyring_location(self) -> str:
        return "the test keyring"

    def secret_storage(self) -> Future[SecretStorage]:
        done: Future[SecretStorage] = Future()
        done.set_result(self.storage)
        return done

    def unlock(self, passphrase: str) -> Future[None]:
        self.unlocks.append(passphrase)
        self.unlock_futures.append(Future())
        return self.unlock_futures[-1]

    def current_login(self) -> TwilioLogin | None:
        return self.login


def answer(future: Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Complete ``future`` from a worker thread, as the real backend does."""

    def work() -> None:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


@pytest.fixture
def backend() -> FakeSetupBackend:
    return FakeSetupBackend()


@pytest.fixture
def wizard(qtbot, backend: FakeSetupBackend) -> SetupWizard:
    w = SetupWizard(backend)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def next_button(wizard: SetupWizard):
    return wizard.button(QWizard.WizardButton.NextButton)


def type_login(qtbot, wizard: SetupWizard, sid: str = SID, token: str = TOKEN) -> None:
    page = wizard.login_page
    page.account_sid.setFocus()
    qtbot.keyClicks(page.account_sid, sid)
    qtbot.keyClicks(page.auth_token, token)


def sign_in(qtbot, wizard: SetupWizard, backend: FakeSetupBackend) -> None:
    type_login(qtbot, wizard)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    answer(backend.checks[0], ACCOUNT)
    qtbot.waitUntil(lambda: wizard.currentId() == NUMBER_PAGE)


def test_happy_path_produces_the_setup_result(qtbot, wizard, backend) -> None:
    sign_in(qtbot, wizard, backend)
    assert backend.logins == [TwilioLogin(SID, TOKEN)]

    assert wizard.number_page.chooser.selected() == FRONT_DESK
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == TUNNEL_PAGE

    chooser = wizard.tunnel_page.chooser
    chooser.set_choice(TunnelChoice.POLL)
    chooser.poll_interval.setValue(30)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == SUMMARY_PAGE
    assert "Within 30 seconds" in wizard.summary_page.arrival.text()
    assert wizard.summary_page.secrets.text() == "the test keyring"

    finish = wizard.button(QWizard.WizardButton.FinishButton)
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.applies) == 1)
    assert wizard.isVisible(), "the wizard waits until the settings are applied"
    assert wizard.summary_page.status.is_busy()
    assert not finish.isEnabled()

    with qtbot.waitSignal(wizard.accepted):
        answer(backend.applies[0])
    expected = SetupResult(
        login=TwilioLogin(SID, TOKEN),
        phone_number="+15035550100",
        number_sid=FRONT_DESK.sid,
        tunnel=TunnelChoice.POLL,
        ngrok_authtoken="",
        ngrok_domain="",
        public_url="",
        poll_interval_s=30,
        take_over_foreign_webhook=False,
        webhook_policy=WebhookPolicy.KEEP.value,
    )
    assert backend.applied == [expected]
    assert wizard.setup_result() == expected
    assert wizard.result() == QDialog.DialogCode.Accepted


def test_the_login_is_checked_once_typing_pauses(qtbot, wizard, backend) -> None:
    type_login(qtbot, wizard)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    assert wizard.login_page.status.is_busy()
    answer(backend.checks[0], ACCOUNT)
    qtbot.waitUntil(lambda: wizard.login_page.status.kind() == "ok")
    assert "Rosie's Bakery" in wizard.login_page.status.text()
    assert wizard.currentId() == LOGIN_PAGE, "only Next moves on"
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == NUMBER_PAGE
    assert len(backend.checks) == 1, "a checked login is not checked again"


def test_secrets_are_typed_into_password_fields(wizard) -> None:
    page = wizard.login_page
    assert page.auth_token.echoMode() == QLineEdit.EchoMode.Password
    assert page.api_secret.echoMode() == QLineEdit.EchoMode.Password
    assert wizard.tunnel_page.chooser.ngrok_token.echoMode() == QLineEdit.EchoMode.Password


@pytest.mark.parametrize(
    "problem",
    [
        TwilioProblem(
            "Twilio did not accept this Account SID and Auth Token. Copy both again from "
            "the Twilio Console.",
            code=20003,
            status=401,
            permanent=True,
        ),
        TwilioProblem("Twoway cannot reach Twilio. Check that this computer is online."),
    ],
    ids=["bad-credentials", "network-down"],
)
def test_a_failed_sign_in_is_explained_and_keeps_the_user_on_the_page(
    qtbot, wizard, backend, problem
) -> None:
    type_login(qtbot, wizard)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    answer(backend.checks[0], error=problem)
    qtbot.waitUntil(lambda: wizard.login_page.status.kind() == "error")
    assert wizard.login_page.status.text() == str(problem)
    assert wizard.currentId() == LOGIN_PAGE

    # Trying again asks Twilio again (the network may be back).
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 2)
    answer(backend.checks[1], ACCOUNT)
    qtbot.waitUntil(lambda: wizard.currentId() == NUMBER_PAGE)


def test_an_unexpected_error_is_not_shown_raw(qtbot, wizard, backend) -> None:
    type_login(qtbot, wizard)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    answer(backend.checks[0], error=KeyError("internal_field"))
    qtbot.waitUntil(lambda: wizard.login_page.status.kind() == "error")
    assert "internal_field" not in wizard.login_page.status.text()
    assert "log file" in wizard.login_page.status.text()


def test_malformed_credentials_are_explained_without_asking_twilio(qtbot, wizard, backend) -> None:
    type_login(qtbot, wizard, sid="SK" + "0" * 32)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert "starts with AC" in wizard.login_page.status.text()
    assert backend.checks == []
    assert wizard.currentId() == LOGIN_PAGE


def test_an_answer_for_an_edited_login_is_ignored(qtbot, wizard, backend) -> None:
    type_login(qtbot, wizard)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    qtbot.keyClick(wizard.login_page.auth_token, Qt.Key.Key_Backspace)
    answer(backend.checks[0], ACCOUNT)
    QApplication.processEvents()  # the answer was posted before answer() returned
    assert wizard.currentId() == LOGIN_PAGE
    assert wizard.login_page.account is None


def test_only_numbers_that_can_text_are_offered(qtbot, wizard, backend) -> None:
    sign_in(qtbot, wizard, backend)
    chooser = wizard.number_page.chooser
    assert [n.e164 for n in chooser.numbers()] == ["+15035550100", "+15035550102"]
    items = chooser.findChild(type(chooser._list), "numberList")
    texts = [items.item(i).text() for i in range(items.count())]
    assert texts[0] == "(503) 555-0100  ·  Front desk\nTexts and pictures"
    assert texts[1].endswith("Texts only (no pictures)")
    assert "1 number that cannot send texts is not shown." in chooser._note.text()


def test_taking_over_another_apps_number_needs_a_yes(qtbot, wizard, backend) -> None:
    sign_in(qtbot, wizard, backend)
    chooser = wizard.number_page.chooser
    chooser.select(CRM.e164)
    assert chooser._elsewhere.isVisible()
    assert chooser._elsewhere.text() == (
        "This number currently sends texts to https://crm.example.com/hooks/sms. Let Twoway "
        "receive them instead? You can restore it later in Settings."
    )
    assert not next_button(wizard).isEnabled()
    assert not chooser._only_while_running.isEnabled()

    chooser._confirm.setChecked(True)
    assert next_button(wizard).isEnabled()
    chooser._only_while_running.setChecked(True)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    chooser_t = wizard.tunnel_page.chooser
    chooser_t.ngrok_token.setText("2abcDEFghiJKLmnoPQRstu_3vwxYZ")
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == SUMMARY_PAGE
    assert "instead of https://crm.example.com/hooks/sms while Twoway runs" in (
        wizard.summary_page.takeover.text()
    )
    result = wizard.build_result()
    assert result.take_over_foreign_webhook
    assert result.webhook_policy == WebhookPolicy.RESTORE_ON_QUIT.value
    assert result.number_sid == CRM.sid
    assert result.ngrok_authtoken == "2abcDEFghiJKLmnoPQRstu_3vwxYZ"


def test_polling_leaves_another_apps_webhook_alone(qtbot, wizard, backend) -> None:
    sign_in(qtbot, wizard, backend)
    wizard.number_page.chooser.select(CRM.e164)
    wizard.number_page.chooser._confirm.setChecked(True)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    wizard.tunnel_page.chooser.set_choice(TunnelChoice.POLL)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert not wizard.build_result().take_over_foreign_webhook
    assert "Texts keep going to https://crm.example.com" in wizard.summary_page.takeover.text()


def go_to_tunnel_page(qtbot, wizard, backend) -> None:
    sign_in(qtbot, wizard, backend)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == TUNNEL_PAGE


def test_ngrok_needs_an_authtoken(qtbot, wizard, backend) -> None:
    go_to_tunnel_page(qtbot, wizard, backend)
    chooser = wizard.tunnel_page.chooser
    assert chooser.choice() is TunnelChoice.NGROK
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == TUNNEL_PAGE
    assert "ngrok authtoken" in chooser.problem_line.text()

    qtbot.keyClicks(chooser.ngrok_token, "2abcDEFghiJKLmnoPQRstu_3vwxYZ")
    qtbot.keyClicks(chooser.ngrok_domain, "not a domain")
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert "not a domain name" in chooser.problem_line.text()
    chooser.ngrok_domain.setText("https://Rosies.ngrok-free.app/")
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == SUMMARY_PAGE
    assert wizard.build_result().ngrok_domain == "rosies.ngrok-free.app"
    assert "https://rosies.ngrok-free.app" in wizard.summary_page.arrival.text()


def test_a_public_url_must_be_https(qtbot, wizard, backend) -> None:
    go_to_tunnel_page(qtbot, wizard, backend)
    chooser = wizard.tunnel_page.chooser
    chooser.set_choice(TunnelChoice.PUBLIC_URL)
    qtbot.keyClicks(chooser.public_url, "http://texts.example.com")
    qtbot.waitUntil(lambda: chooser.problem_line.kind() == "error")  # shown once typing pauses
    assert "https://" in chooser.problem_line.text()
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == TUNNEL_PAGE

    chooser.public_url.setText("https://texts.example.com/twilio/sms")
    assert (
        chooser.problem_line.text()
        == "Twilio will send texts to https://texts.example.com/twilio/sms"
    )
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == SUMMARY_PAGE
    result = wizard.build_result()
    assert (result.tunnel, result.public_url) == (
        TunnelChoice.PUBLIC_URL,
        "https://texts.example.com",
    )


def test_the_poll_interval_stays_within_bounds(qtbot, wizard, backend) -> None:
    go_to_tunnel_page(qtbot, wizard, backend)
    chooser = wizard.tunnel_page.chooser
    chooser.set_choice(TunnelChoice.POLL)
    assert chooser.poll_interval.value() == 15
    assert chooser.poll_interval.isEnabled()
    assert not chooser.ngrok_token.isEnabled()
    chooser.poll_interval.setValue(1)
    assert chooser.poll_interval.value() == 5
    chooser.poll_interval.setValue(100_000)
    assert chooser.poll_interval.value() == 3600


def test_a_failed_apply_keeps_the_wizard_open(qtbot, wizard, backend) -> None:
    go_to_tunnel_page(qtbot, wizard, backend)
    wizard.tunnel_page.chooser.set_choice(TunnelChoice.POLL)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: len(backend.applies) == 1)
    problem = TwilioProblem("Twoway could not change where this number sends its texts.")
    answer(backend.applies[0], error=problem)
    qtbot.waitUntil(lambda: wizard.summary_page.status.kind() == "error")
    assert wizard.summary_page.status.text() == str(problem)
    assert wizard.isVisible()
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert wizard.setup_result() is None


def test_try_the_demo(qtbot, wizard, backend) -> None:
    with qtbot.waitSignal(wizard.rejected):
        qtbot.mouseClick(wizard.login_page.demo_button, Qt.MouseButton.LeftButton)
    assert backend.demo_started == 1
    assert wizard.demo_requested()


def test_escape_cancels_even_while_checking(qtbot, wizard, backend) -> None:
    type_login(qtbot, wizard)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    with qtbot.waitSignal(wizard.rejected):
        qtbot.keyClick(wizard.login_page.account_sid, Qt.Key.Key_Escape)
    answer(backend.checks[0], ACCOUNT)  # a late answer has nobody to tell
    QApplication.processEvents()
    assert wizard.setup_result() is None
    assert not wizard.isVisible()


def test_the_token_is_never_logged_or_shown_in_repr(qtbot, wizard, backend, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    go_to_tunnel_page(qtbot, wizard, backend)
    wizard.tunnel_page.chooser.set_choice(TunnelChoice.POLL)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: len(backend.applies) == 1)
    answer(backend.applies[0])
    qtbot.waitUntil(lambda: wizard.setup_result() is not None)
    assert TOKEN not in repr(wizard.setup_result())
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_an_answer_after_the_wizard_is_gone_is_harmless(qtbot, backend, caplog) -> None:
    wizard = SetupWizard(backend)
    wizard.show()
    type_login(qtbot, wizard)
    wizard.next()
    assert len(backend.checks) == 1
    with qtbot.waitSignal(wizard.destroyed):
        wizard.deleteLater()
    answer(backend.checks[0], ACCOUNT)
    QApplication.processEvents()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_a_cancelled_check_is_explained(qtbot, wizard, backend) -> None:
    type_login(qtbot, wizard)
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    assert backend.checks[0].cancel()
    qtbot.waitUntil(lambda: wizard.login_page.status.kind() == "error")
    assert "stopped before it finished" in wizard.login_page.status.text()
    assert wizard.currentId() == LOGIN_PAGE


def test_typed_secrets_are_scrubbed_from_logs_once_used(qtbot, wizard, backend) -> None:
    from desktop.logs import redact

    token = "9e7d" * 8  # used by no other test: the scrub list is process-wide
    type_login(qtbot, wizard, token=token)
    assert token in redact(f"before use: {token}"), "typing alone registers nothing"
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert token not in redact(f"a library error mentioning {token}")


def test_without_a_keyring_the_first_page_says_so_and_offers_a_passphrase(qtbot) -> None:
    backend = FakeSetupBackend()
    backend.storage = SecretStorage(StorageKind.NONE, "nowhere (no secure keyring is available)")
    wizard = SetupWizard(backend)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    page = wizard.login_page
    # Before anything is typed: the problem and what to install are on screen.
    qtbot.waitUntil(page.storage_notice.isVisible)
    assert "no secure keyring" in page.storage_text.text()
    assert "gnome-keyring" in page.storage_text.text()
    assert page.passphrase_field.echoMode() == page.passphrase_field.EchoMode.Password

    type_login(qtbot, wizard)
    assert not page.isComplete(), "no passphrase yet: nowhere safe to keep the token"
    qtbot.keyClicks(page.passphrase_field, "harbor lights 42")
    qtbot.keyClicks(page.passphrase_again, "harbor lights 43")
    assert page.isComplete()
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    assert "not the same" in page.status.text()
    assert wizard.currentId() == LOGIN_PAGE

    page.passphrase_again.clear()
    qtbot.keyClicks(page.passphrase_again, "harbor lights 42")
    qtbot.mouseClick(next_button(wizard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backend.checks) == 1)
    answer(backend.checks[0], ACCOUNT)
    qtbot.waitUntil(lambda: wizard.currentId() == NUMBER_PAGE)
    assert wizard.build_result().passphrase == "harbor lights 42"
    assert "harbor lights" not in repr(wizard.build_result())


def test_with_a_keyring_no_passphrase_is_asked(qtbot, wizard, backend) -> None:
    page = wizard.login_page
    qtbot.waitUntil(lambda: page.storage is not None)
    assert not page.storage_notice.isVisible()
    sign_in(qtbot, wizard, backend)
    assert wizard.build_result().passphrase == ""
