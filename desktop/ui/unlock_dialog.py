"""Asks for the passphrase of the encrypted credentials file, then connects.

Shown at start when the credentials live in the encrypted file (no secure keyring on this
computer) and from the status area's "Unlock" button.  The passphrase is checked off the
GUI thread (deriving the key takes about a tenth of a second); a wrong one keeps the dialog
open with a plain sentence.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QVBoxLayout, QWidget

from desktop.logs import register_secret
from desktop.setup import SetupBackend
from desktop.ui.form_widgets import StatusLine, hint_label, secret_field
from desktop.ui.setup_backend import FutureWatcher, failure, plain_error

logger = logging.getLogger(__name__)


class UnlockDialog(QDialog):
    def __init__(self, backend: SetupBackend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self._watcher = FutureWatcher(self)
        self.setObjectName("unlockDialog")
        self.setWindowTitle("Unlock Twoway")
        self.passphrase = secret_field(self, "unlockPassphrase", "Passphrase")
        self.status = StatusLine(self, object_name="unlockStatus")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Unlock")
        ok.setEnabled(False)
        self.buttons.accepted.connect(self._unlock)
        self.buttons.rejected.connect(self.reject)
        self.passphrase.textChanged.connect(self._edited)

        layout = QVBoxLayout(self)
        layout.addWidget(
            hint_label(
                "This computer has no secure keyring, so your Twilio credentials are kept in "
                "an encrypted file. Enter the passphrase you chose for it to start texting.",
                self,
            )
        )
        form = QFormLayout()
        form.addRow("Passphrase:", self.passphrase)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.passphrase.setFocus()

    def _edited(self, text: str) -> None:
        if not self.status.is_busy():
            self.status.clear()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(text) and not self.status.is_busy())

    def _unlock(self) -> None:
        passphrase = self.passphrase.text()
        if not passphrase:
            return
        register_secret(passphrase)
        self.status.show_busy("Unlocking…")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self._watcher.watch(self._backend.unlock(passphrase), self._done)

    def _done(self, future: Future[None]) -> None:
        error = failure(future)
        if error is not None:
            self.status.show_error(plain_error(error))
            self.passphrase.selectAll()
            self.passphrase.setFocus()
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            return
        logger.info("Unlocked the encrypted credentials")
        self.accept()

    def reject(self) -> None:
        self._watcher.forget()
        super().reject()
