"""The settings dialog: edits go through the backend, secrets stay hidden, sign-out asks first."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QMessageBox

from desktop.config import Settings, TunnelMode, WebhookPolicy
from desktop.gateway.rest_types import TwilioProblem
from desktop.setup import TunnelChoice, TwilioLogin
from desktop.ui.settings_dialog import ACCOUNT_TAB, CONNECTION_TAB, SettingsDialog
from tests.gui.test_setup_wizard import (
    ACCOUNT,
    CRM,
    FRONT_DESK,
    SID,
    TOKEN,
    FakeSetupBackend,
    answer,
)

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

LOGIN = TwilioLogin(SID, TOKEN)
PREVIOUS = "https://crm.example.com/hooks/sms"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        phone_number=FRONT_DESK.e164,
        tunnel_mode=TunnelMode.NGROK,
        ngrok_domain="rosies.ngrok-free.app",
        previous_sms_urls={FRONT_DESK.sid: PREVIOUS},
        auto_reply_text="Thanks! We reply 9–5.",
        configured=True,
    )


@pytest.fixture
def backend() -> FakeSetupBackend:
    return FakeSetupBackend(LOGIN)


def open_dialog(qtbot, backend, settings, *, load: bool = True) -> SettingsDialog:
    dialog = SettingsDialog(backend, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    if load:
        assert backend.logins == [LOGIN], "the numbers come from Twilio"
        answer(backend.checks[0], ACCOUNT)
        qtbot.waitUntil(lambda: dialog.numbers.isEnabled())
    return dialog


def save(dialog: SettingsDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def confirm(qtbot, dialog: SettingsDialog, button_text: str) -> None:
    qtbot.waitUntil(lambda: dialog.confirmation is not None and dialog.confirmation.isVisible())
    box = dialog.confirmation
    assert box is not None
    (button,) = [b for b in box.buttons() if b.text() == button_text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_shows_the_account_and_where_secrets_are_kept_but_never_the_token(
    qtbot, backend, settings
) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    assert dialog.account_sid.text() == SID
    assert dialog.keyring.text() == "the test keyring"
    shown = [w.text() for w in dialog.findChildren(QLabel)] + [
        w.text() for w in dialog.findChildren(QLineEdit)
    ]
    assert not any(TOKEN in text for text in shown)


def test_the_current_number_is_preselected(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings.replace(phone_number=CRM.e164))
    assert dialog.numbers.selected() == CRM


def test_when_numbers_cannot_load_the_number_is_kept(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings, load=False)
    answer(backend.checks[0], error=TwilioProblem("Twoway cannot reach Twilio right now."))
    qtbot.waitUntil(lambda: dialog.numbers_status.kind() == "error")
    assert dialog.numbers_status.text() == (
        "Twoway cannot reach Twilio right now. Your number stays (503) 555-0100."
    )
    dialog.tunnel.set_choice(TunnelChoice.POLL)
    save(dialog)
    (result,) = backend.applied
    assert (result.phone_number, result.number_sid) == (FRONT_DESK.e164, "")


def test_saving_without_changes_does_not_restart_anything(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    with qtbot.waitSignal(dialog.accepted):
        save(dialog)
    assert backend.applied == []
    assert dialog.saved_result() is None


def test_a_change_is_applied_through_the_backend(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    dialog.tabs.setCurrentIndex(CONNECTION_TAB)
    dialog.tunnel.set_choice(TunnelChoice.POLL)
    dialog.tunnel.poll_interval.setValue(60)
    save(dialog)
    qtbot.waitUntil(lambda: len(backend.applies) == 1)
    assert dialog.isVisible()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    with qtbot.waitSignal(dialog.accepted):
        answer(backend.applies[0])
    result = backend.applied[0]
    assert result.login == LOGIN
    assert (result.tunnel, result.poll_interval_s) == (TunnelChoice.POLL, 60)
    assert result.ngrok_authtoken == "", "an empty token keeps the stored one"
    assert result.auto_reply_text is None, "the away message is in the front-desk setup"
    assert result.webhook_policy == WebhookPolicy.KEEP.value
    assert dialog.saved_result() == result
    assert settings.tunnel_mode is TunnelMode.NGROK, "the dialog never writes settings itself"


def test_a_bad_public_url_is_explained_on_its_tab(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    dialog.tunnel.set_choice(TunnelChoice.PUBLIC_URL)
    dialog.tunnel.public_url.setText("http://texts.example.com")
    dialog.tabs.setCurrentIndex(ACCOUNT_TAB)
    save(dialog)
    assert dialog.tabs.currentIndex() == CONNECTION_TAB
    assert "https://" in dialog.status.text()
    assert backend.applied == []
    assert dialog.isVisible()


def test_a_failed_save_keeps_the_dialog_open(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    dialog.tunnel.ngrok_token.setText("2abcDEFghiJKLmnoPQRstu_3vwxYZ")
    save(dialog)
    qtbot.waitUntil(lambda: len(backend.applies) == 1)
    assert backend.applied[0].ngrok_authtoken == "2abcDEFghiJKLmnoPQRstu_3vwxYZ"
    answer(backend.applies[0], error=TwilioProblem("ngrok did not accept this authtoken."))
    qtbot.waitUntil(lambda: dialog.status.kind() == "error")
    assert dialog.status.text() == "ngrok did not accept this authtoken."
    assert dialog.isVisible()
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()


def test_switching_to_another_apps_number_needs_a_yes(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    dialog.numbers.select(CRM.e164)
    save(dialog)
    assert backend.applied == []
    assert "Say whether Twoway may receive" in dialog.status.text()
    dialog.numbers._confirm.setChecked(True)
    dialog.restore_on_quit.setChecked(True)
    save(dialog)
    (result,) = backend.applied
    assert result.take_over_foreign_webhook
    assert (result.phone_number, result.number_sid) == (CRM.e164, CRM.sid)
    assert result.webhook_policy == WebhookPolicy.RESTORE_ON_QUIT.value


def test_sign_out_asks_first_then_signs_out(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    qtbot.mouseClick(dialog.sign_out_button, Qt.MouseButton.LeftButton)
    confirm(qtbot, dialog, "Cancel")
    assert backend.sign_outs == []
    assert dialog.isVisible()

    qtbot.mouseClick(dialog.sign_out_button, Qt.MouseButton.LeftButton)
    confirm(qtbot, dialog, "Sign out")
    qtbot.waitUntil(lambda: len(backend.sign_outs) == 1)
    with qtbot.waitSignal(dialog.finished) as finished:
        answer(backend.sign_outs[0])
    assert finished.args == [SettingsDialog.SIGNED_OUT]
    assert dialog.signed_out()


def test_restoring_the_previous_webhook(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    assert PREVIOUS in dialog.previous_text.text()
    assert dialog.restore_button.isEnabled()
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    confirm(qtbot, dialog, "Restore")
    qtbot.waitUntil(lambda: len(backend.restores) == 1)
    sentence = f"Texts to (503) 555-0100 go to {PREVIOUS} again."
    answer(backend.restores[0], sentence)
    qtbot.waitUntil(lambda: dialog.restore_status.kind() == "ok")
    assert dialog.restore_status.text() == sentence
    assert not dialog.restore_button.isEnabled()


def test_restore_is_off_when_no_previous_webhook_is_remembered(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings.replace(previous_sms_urls={}))
    assert not dialog.restore_button.isEnabled()
    assert not dialog.restore_on_quit.isEnabled()


def test_restore_is_offered_for_a_messaging_service_twoway_changed(
    qtbot, backend, settings
) -> None:
    from desktop.config import ServiceRoute

    route = ServiceRoute(inbound_request_url=PREVIOUS, number_sid=FRONT_DESK.sid)
    settings = settings.replace(
        previous_sms_urls={}, previous_service_routes={"MG" + "5" * 32: route}
    )
    dialog = open_dialog(qtbot, backend, settings)
    assert PREVIOUS in dialog.previous_text.text()
    assert dialog.restore_button.isEnabled()


def test_escape_closes_without_saving(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    dialog.tunnel.set_choice(TunnelChoice.POLL)
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.tabs, Qt.Key.Key_Escape)
    assert backend.applied == []
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_confirmations_do_not_block(qtbot, backend, settings) -> None:
    dialog = open_dialog(qtbot, backend, settings)
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.confirmation is not None)
    assert isinstance(dialog.confirmation, QMessageBox)
    assert dialog.confirmation.isVisible()
    confirm(qtbot, dialog, "Cancel")
    assert backend.restores == []
