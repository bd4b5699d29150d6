"""Import… / Export… of the front-desk setup file in Settings (what ``twoway config
import|export`` reads and writes): quick replies, business hours and auto-replies."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWidget

from desktop.domain.frontdesk_setup import FrontDeskSetup, SetupFileError, dump_setup
from desktop.frontdesk.setup_file import write_atomically
from desktop.ui.form_widgets import StatusLine
from desktop.ui.settings_pages import FrontDeskPages
from desktop.ui.tasks import run_in_background

FILE_FILTER = "Twoway front-desk setup (*.json);;All files (*)"


def _summary(setup: FrontDeskSetup) -> str:
    replies = len(setup.quick_replies)
    keywords = len(setup.auto_replies.keywords)
    away = "on" if setup.auto_replies.away.enabled else "off"
    return (
        f"{replies} quick {'reply' if replies == 1 else 'replies'}, "
        f"{keywords} keyword {'answer' if keywords == 1 else 'answers'}, away message {away}"
    )


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class SetupFileButtons(QWidget):
    """Two buttons; results are reported on the dialog's status line."""

    def __init__(self, parent: QWidget, pages: FrontDeskPages, status: StatusLine) -> None:
        super().__init__(parent)
        self._pages = pages
        self._status = status
        self.import_button = QPushButton("Import…", self)
        self.import_button.setObjectName("importSetup")
        self.import_button.setToolTip(
            "Replace the quick replies, business hours and auto-replies with a setup file"
        )
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("exportSetup")
        self.export_button.setToolTip(
            "Save the quick replies, business hours and auto-replies as a file for another computer"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.import_button)
        layout.addWidget(self.export_button)
        self.import_button.clicked.connect(self._choose_import)
        self.export_button.clicked.connect(self._choose_export)

    def _choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import front-desk setup", str(Path.home()), FILE_FILTER
        )
        if name:
            self.import_from(Path(name))

    def _choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export front-desk setup", str(Path.home() / "twoway-setup.json"), FILE_FILTER
        )
        if name:
            self.export_to(Path(name))

    def _busy(self, busy: bool) -> None:
        self.import_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy)

    def import_from(self, path: Path) -> None:
        """Read ``path`` and put it in use at once (a bad file changes nothing)."""
        self._busy(True)
        self._status.show_busy(f"Importing {path.name}…")

        def done(setup: FrontDeskSetup) -> None:
            self._busy(False)
            self._pages.show_setup(setup)
            self._status.show_ok(f"Imported {path.name} ({_summary(setup)}); it is in use now.")

        def failed(exc: BaseException) -> None:
            self._busy(False)
            if isinstance(exc, SetupFileError):
                reason = str(exc)
            elif isinstance(exc, OSError):
                reason = f"it could not be read ({_os_reason(exc)})."
            else:
                raise exc
            self._status.show_error(f"{path.name} was not imported, nothing changed: {reason}")

        run_in_background(lambda: self._pages.desk.import_setup(path), done, failed, context=self)

    def export_to(self, path: Path) -> None:
        """Write what the pages show (saved or not) to ``path``."""
        try:
            setup = self._pages.edited()
        except ValueError as exc:
            self._status.show_error(f"Not exported: {exc}")
            return
        self._busy(True)
        self._status.show_busy(f"Exporting to {path.name}…")

        def done(_none: None) -> None:
            self._busy(False)
            self._status.show_ok(f"Exported {_summary(setup)} to {path}.")

        def failed(exc: BaseException) -> None:
            self._busy(False)
            if not isinstance(exc, OSError):
                raise exc
            self._status.show_error(f"Could not write {path.name}: {_os_reason(exc)}.")

        text = dump_setup(setup)
        run_in_background(lambda: write_atomically(path, text), done, failed, context=self)
