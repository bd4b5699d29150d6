"""When the message database cannot be used: say what happened, offer the way out.

:class:`DamageDialog` is what :mod:`desktop.ui.store_guard` shows instead of a
half-started app when the database is damaged, empty, missing, read-only or locked (and
over the running window when damage is found later); :func:`show_damage_dialog` is also
what the status area's "Repair…" button opens.

Repair and restore run off the GUI thread (:mod:`desktop.ui.tasks`); their progress
lines come back as queued calls.  At start the store is not open, so they work on the
files directly; over the running window they go through
:meth:`desktop.core.Core.with_store_closed`, which stops everything that writes first.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.domain.store_health import HealthKind, StoreHealth
from desktop.store import backups as backups_module
from desktop.store.database import StoreError, StoreUnavailable
from desktop.store.repair import RepairImpossible
from desktop.ui import tasks
from desktop.ui.form_widgets import StatusLine, hint_label

if TYPE_CHECKING:
    from desktop.core import Core
    from desktop.recovery import RepairOutcome

logger = logging.getLogger(__name__)


class Outcome(Enum):
    QUIT = "quit"  # at start: quit; over the window: close the dialog, keep the window
    RETRY = "retry"
    REPAIRED = "repaired"
    RESTORED = "restored"


class DamageDialog(QDialog):
    """What happened to the database, in plain words, and Repair / Restore / Try again.

    ``at_start``: the store is not open and no window exists yet (Quit quits); otherwise
    the work goes through ``core.with_store_closed`` and the window stays.
    ``outcome`` tells the caller what happened once the dialog is closed.
    """

    def __init__(
        self,
        core: Core,
        health: StoreHealth,
        *,
        at_start: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("damageDialog")
        self.setWindowTitle(f"{APP_NAME}: {health.headline}")
        self.setMinimumWidth(520)
        self._core = core
        # Its work runs on this core's pool, whatever window (and core) came before it.
        tasks.use_pool(core.tasks)
        self._at_start = at_start
        self._busy = False
        self.health = health
        self.outcome = Outcome.QUIT
        self.repair_outcome: RepairOutcome | None = None

        layout = QVBoxLayout(self)
        self.headline = QLabel(health.headline, self)
        self.headline.setObjectName("damageHeadline")
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.headline.setFont(font)
        layout.addWidget(self.headline)
        self.message = QLabel(health.message, self)
        self.message.setObjectName("damageMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        details = f"{health.path}" + (f"\nSQLite said: {health.detail}" if health.detail else "")
        self.details = hint_label(details, self)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)

        self.backup_choice = QComboBox(self)
        self.backup_choice.setObjectName("backupChoice")
        self.backup_choice.setAccessibleName("Backup to restore")
        self._backups = backups_module.list_backups(core.paths.backups) if health.can_repair else []
        for backup in self._backups:
            kind = "daily backup" if backup.daily else "copy made before an upgrade"
            self.backup_choice.addItem(f"{backup.label} ({kind})", str(backup.path))
        self.backup_choice.setVisible(len(self._backups) > 1)
        layout.addWidget(self.backup_choice)

        self.status = StatusLine(self, object_name="damageStatus")
        layout.addWidget(self.status)
        self.report = QPlainTextEdit(self)
        self.report.setObjectName("repairReport")
        self.report.setAccessibleName("What the repair recovered")
        self.report.setReadOnly(True)
        self.report.hide()
        layout.addWidget(self.report, 1)

        row = QHBoxLayout()
        row.addStretch(1)
        self.quit_button = self._button(
            "Quit" if at_start else "Close", "quitButton", self.reject, row
        )
        self.retry_button = self._button("Try again", "retryButton", self._retry, row)
        self.restore_button = self._button(
            "Restore the backup", "restoreButton", self._restore, row
        )
        self.repair_button = self._button("Repair", "repairButton", self._repair, row)
        self.continue_button = self._button("Continue", "continueButton", self.accept, row)
        layout.addLayout(row)
        self.retry_button.setVisible(health.can_retry)
        self.restore_button.setVisible(bool(self._backups))
        if len(self._backups) == 1:
            self.restore_button.setText(f"Restore the backup of {self._backups[0].label}")
        self.repair_button.setVisible(health.can_repair)
        if health.kind in (HealthKind.EMPTY_FILE, HealthKind.MISSING):
            self.repair_button.setText("Rebuild from Twilio")
        self.continue_button.hide()
        default = next(
            (
                b
                for b in (self.repair_button, self.retry_button, self.quit_button)
                if not b.isHidden()
            ),
            self.quit_button,
        )
        if health.kind in (HealthKind.EMPTY_FILE, HealthKind.MISSING) and self._backups:
            default = self.restore_button
        default.setDefault(True)
        default.setFocus()

    def _button(
        self, text: str, name: str, slot: Callable[[], object], row: QHBoxLayout
    ) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    # -- the work ---------------------------------------------------------------------------

    def _run(self, busy_text: str, work: Callable[[], object], done: Outcome) -> None:
        self._busy = True
        for button in self._action_buttons():
            button.setEnabled(False)
        self.status.show_busy(busy_text)
        core = self._core

        def whole() -> object:
            if self._at_start:
                return work()
            return core.with_store_closed(work)

        tasks.run_in_background(
            whole, lambda result: self._finished(done, result), self._failed, context=self
        )

    def _action_buttons(self) -> list[QPushButton]:
        return [self.quit_button, self.retry_button, self.restore_button, self.repair_button]

    def _progress(self, line: str) -> None:
        """From the worker thread: show the newest progress line."""
        tasks.call_on_gui_thread(lambda: self._show_progress(line))

    def _show_progress(self, line: str) -> None:
        if self._busy:
            self.status.show_busy(line)

    def _repair(self) -> None:
        from desktop import recovery

        core = self._core
        database, backups = core.paths.database, core.paths.backups
        credentials = None if core.options.demo else core.credentials
        api_base_url = core.network.api_base_url

        def work() -> RepairOutcome:
            found, why_not = credentials, ""
            if core.options.demo:
                why_not = "the demo has no real Twilio message log"
            elif found is None:
                found, why_not = recovery.stored_credentials(core.secrets)
            return recovery.repair(
                database,
                backups,
                credentials=found,
                api_base_url=api_base_url,
                skipped=why_not,
                progress=self._progress,
            )

        self._run("Repairing…", work, Outcome.REPAIRED)

    def _restore(self) -> None:
        chosen = self.backup_choice.currentData() if self._backups else None
        if not chosen:
            return
        backup, database = Path(str(chosen)), self._core.paths.database

        def work() -> Path | None:
            return backups_module.restore(backup, database)

        self._run("Restoring the backup…", work, Outcome.RESTORED)

    def _retry(self) -> None:
        if self._at_start:
            self.outcome = Outcome.RETRY
            self.accept()
            return
        self._run("Trying again…", lambda: None, Outcome.RETRY)

    def _finished(self, done: Outcome, result: object) -> None:
        from desktop.recovery import RepairOutcome

        self._busy = False
        self.outcome = done
        for button in self._action_buttons():
            button.hide()
        if isinstance(result, RepairOutcome):
            self.repair_outcome = result
            self.status.show_ok("The database was rebuilt.")
            self.report.setPlainText("\n".join(result.lines()))
            self.report.show()
        elif done is Outcome.RESTORED:
            self.status.show_ok(
                "The backup is back in place. Texts that arrived after it was made are "
                "fetched from Twilio's message log when Twoway connects."
            )
        else:
            self.accept()
            return
        self.continue_button.show()
        self.continue_button.setDefault(True)
        self.continue_button.setFocus()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        for button in self._action_buttons():
            button.setEnabled(True)
        if isinstance(exc, StoreUnavailable):
            self.health = exc.health
            self.headline.setText(exc.health.headline)
            self.message.setText(exc.health.message)
            self.status.clear()
            return
        if isinstance(exc, (StoreError, OSError, sqlite3.Error, RepairImpossible)):
            text = str(exc) if not isinstance(exc, OSError) else _os_words(exc)
            self.status.show_error(text)
            return
        logger.error("The repair failed unexpectedly", exc_info=exc)
        self.status.show_error(
            "Something unexpected went wrong; nothing was changed if the repair had not "
            "finished. Details are in the log."
        )

    def reject(self) -> None:
        if self._busy:
            return  # Escape while working: the work finishes first
        super().reject()


def _os_words(exc: OSError) -> str:
    return f"Twoway could not write in its data folder ({exc.strerror or exc})."


def _health_of(core: Core, exc: BaseException) -> StoreHealth:
    if isinstance(exc, StoreUnavailable):
        return exc.health
    return core.store.mark_unusable(exc)


def show_damage_dialog(window: QWidget, core: Core) -> DamageDialog | None:
    """Over the running window (window-modal, not blocking); None when all is well."""
    health = core.store.health.current
    if health.ok:
        return None
    existing = window.findChild(DamageDialog, "damageDialog")
    if isinstance(existing, DamageDialog) and existing.isVisible():
        existing.raise_()
        return existing
    dialog = DamageDialog(core, health, at_start=False, parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def closed(_code: int) -> None:
        if dialog.outcome is not Outcome.QUIT:
            reload = getattr(window, "reload", None)
            if callable(reload):
                reload()

    dialog.finished.connect(closed)
    dialog.open()
    return dialog
