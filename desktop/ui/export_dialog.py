"""File → Export conversations…: choose a file (JSON or CSV), then watch it being written.

The work is :func:`desktop.frontdesk.export_job.export_conversations` on a worker thread;
progress comes back to the GUI thread through :func:`desktop.ui.tasks.call_on_gui_thread`,
at most a few times a second, so a database of a million messages never floods the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.frontdesk.export_job import ExportResult, ExportStopped, export_conversations
from desktop.store.export import DatabaseDamaged
from desktop.ui.form_widgets import StatusLine
from desktop.ui.tasks import call_on_gui_thread, run_in_background

logger = logging.getLogger(__name__)

JSON_FILTER: Final = "JSON (*.json)"
CSV_FILTER: Final = "CSV spreadsheet (*.csv)"
_REPORT_EVERY_S: Final = 0.1


def choose_export_file(parent: QWidget) -> tuple[Path, str] | None:
    """Ask where to save; the chosen filter (or the name's ending) picks the format."""
    start = str(Path.home() / "twoway-conversations.json")
    name, chosen = QFileDialog.getSaveFileName(
        parent, "Export conversations", start, f"{JSON_FILTER};;{CSV_FILTER}"
    )
    if not name:
        return None
    path = Path(name)
    fmt = "csv" if chosen == CSV_FILTER or path.suffix.lower() == ".csv" else "json"
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(f"{path.name}.{fmt}")
    return path, fmt


class ExportDialog(QDialog):
    """Progress, Stop, and the outcome in words.

    Signals: ``finished_export(object)`` — the :class:`ExportResult`, or None when it
    failed or was stopped (the reason is on :attr:`status`).
    """

    finished_export = Signal(object)

    def __init__(
        self,
        database: Path,
        media_dir: Path,
        output: Path,
        fmt: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._database = database
        self._media_dir = media_dir
        self.output = output
        self.fmt = fmt
        self._stop = threading.Event()
        self._running = False
        self._last_report = 0.0
        self.result_value: ExportResult | None = None
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export conversations")
        self.what = QLabel(f"Exporting every conversation to {output.name} ({fmt.upper()})…", self)
        self.what.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("exportProgress")
        self.bar.setRange(0, 0)
        self.step = QLabel("", self)
        self.step.setObjectName("exportStep")
        self.status = StatusLine(self, object_name="exportStatus")
        self.buttons = QDialogButtonBox(self)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopExport")
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.what)
        layout.addWidget(self.bar)
        layout.addWidget(self.step)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(520, 200)

    def start(self) -> None:
        self._running = True
        run_in_background(self._work, self._done, self._failed, context=self)

    def stop(self) -> None:
        self._stop.set()
        self.stop_button.setEnabled(False)
        self.step.setText("Stopping…")

    def reject(self) -> None:
        """Escape or Close: stops a running export first (nothing is left behind)."""
        if self._running:
            self.stop()
        super().reject()

    # -- worker side --------------------------------------------------------------------------

    def _work(self) -> ExportResult:
        return export_conversations(
            self._database,
            self._media_dir,
            self.output,
            self.fmt,
            progress=self._progress_from_worker,
            stop=self._stop,
        )

    def _progress_from_worker(self, done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if done not in (0, total) and now - self._last_report < _REPORT_EVERY_S:
            return
        self._last_report = now
        call_on_gui_thread(lambda: self._show_progress(done, total, what))

    # -- GUI side -----------------------------------------------------------------------------

    def _show_progress(self, done: int, total: int, what: str) -> None:
        if not self._running:
            return
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done if total else 1)
        verb = "Copying" if what == "pictures" else "Writing"
        self.step.setText(f"{verb} {what}: {done:,} of {total:,}")

    def _finish(self) -> None:
        self._running = False
        self.stop_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self.close_button.setFocus()

    def _done(self, result: ExportResult) -> None:
        self._finish()
        self.result_value = result
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.step.setText("")
        self.what.setText(f"Finished exporting to {self.output.name}.")
        pictures = ""
        if result.pictures_dir is not None:
            noun = "picture" if result.pictures == 1 else "pictures"
            pictures = f", and {result.pictures:,} {noun} in the folder {result.pictures_dir.name}"
        missing = (
            f" {result.missing_pictures:,} pictures were never downloaded and are not included."
            if result.missing_pictures
            else ""
        )
        self.status.show_ok(
            f"Exported {result.messages:,} messages to {result.path}{pictures}.{missing}"
        )
        self.finished_export.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self._finish()
        self.step.setText("")
        if isinstance(exc, ExportStopped):
            self.status.show_info("Stopped; nothing was written.")
        elif isinstance(exc, DatabaseDamaged):
            self.status.show_error(
                "The message database is damaged, so nothing was exported. Repair it first "
                "(the status area offers it), then export again."
            )
        elif isinstance(exc, OSError):
            self.status.show_error(f"Could not write the export: {exc.strerror or exc}.")
        else:
            logger.error("The export failed", exc_info=exc)
            self.status.show_error(
                "The export failed unexpectedly; the details are in Twoway's log file."
            )
        self.finished_export.emit(None)
