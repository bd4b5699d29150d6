"""File → Contacts…: everyone Twoway knows by name, searchable, with name and note edited
in place, and contacts in and out as CSV (``name,number,note``, what ``twoway contacts
import|export`` read and write)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.frontdesk.contacts_csv import UnreadableFile
from desktop.frontdesk.service import ContactsPreview, FrontDesk
from desktop.frontdesk.setup_file import write_atomically
from desktop.store.contacts import ContactRow, UpsertCounts
from desktop.ui.contacts_import import ContactsImportDialog
from desktop.ui.contacts_model import NAME, NOTE, NUMBER, ContactsModel
from desktop.ui.form_widgets import StatusLine
from desktop.ui.tasks import deliver, run_in_background

logger = logging.getLogger(__name__)

CSV_FILTER = "Contacts (*.csv);;All files (*)"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnreadableFile):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    logger.error("Unexpected failure with contacts", exc_info=exc)
    return "something unexpected went wrong; the details are in Twoway's log file"


class ContactsDialog(QDialog):
    """The contacts table with a search field, Import… and Export…."""

    def __init__(self, desk: FrontDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.region = desk.default_region()
        self.import_dialog: ContactsImportDialog | None = None
        self.setObjectName("contactsDialog")
        self.setWindowTitle("Contacts")

        self.search = QLineEdit(self)
        self.search.setObjectName("contactsSearch")
        self.search.setPlaceholderText("Search names, numbers and notes")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search contacts")
        self.model = ContactsModel(self._edited, self.region)
        self.sorted = QSortFilterProxyModel(self)
        self.sorted.setSourceModel(self.model)
        self.sorted.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView(self)
        self.table.setObjectName("contactsTable")
        self.table.setAccessibleName("Contacts")
        self.table.setModel(self.sorted)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NUMBER, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NOTE, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(NAME, 200)

        self.status = StatusLine(self, object_name="contactsStatus")
        self.import_button = QPushButton("Import…", self)
        self.import_button.setObjectName("importContacts")
        self.import_button.setToolTip("Add contacts from a CSV file (name, number, note)")
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("exportContacts")
        self.export_button.setToolTip("Save every contact as a CSV file")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.export_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(720, 520)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self.reload)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, lambda: self.search.setFocus())
        self.import_button.clicked.connect(self._choose_import)
        self.export_button.clicked.connect(self._choose_export)
        self.reload()

    # -- the table ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the contacts matching the search (a quick read on this thread's connection)."""
        self._search_timer.stop()
        rows = self.desk.contacts(self.search.text().strip())
        self.model.set_rows(rows)
        if not rows and not self.search.text().strip():
            self.status.show_info(
                "No contacts yet. Name a conversation, or import a CSV file with name, "
                "number and note columns."
            )
        elif self.status.isVisible() and not self.status.is_busy():
            self.status.clear()

    def _edited(self, row: ContactRow, name: str, note: str) -> None:
        deliver(
            self.desk.update_contact(row.id, name, note),
            None,
            lambda exc: self.status.show_error(f"The change was not saved: {_reason(exc)}."),
            context=self,
        )

    def shown_rows(self) -> list[ContactRow]:
        """The rows in the order the table shows them (for tests)."""
        return [
            self.model.row_at(self.sorted.mapToSource(self.sorted.index(r, 0)).row())
            for r in range(self.sorted.rowCount())
        ]

    # -- import -------------------------------------------------------------------------------

    def _choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import contacts", str(Path.home()), CSV_FILTER)
        if name:
            self.preview_import(Path(name))

    def _set_busy(self, busy: bool) -> None:
        self.import_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy)

    def preview_import(self, path: Path) -> None:
        """Read ``path`` off the GUI thread, then show what importing it would do."""
        self._set_busy(True)
        self.status.show_busy(f"Reading {path.name}…")

        def read(preview: ContactsPreview) -> None:
            self._set_busy(False)
            self.status.clear()
            dialog = self.import_dialog = ContactsImportDialog(path, preview, self.region, self)
            dialog.accepted.connect(lambda: self._import(preview))
            dialog.finished.connect(lambda _code: setattr(self, "import_dialog", None))
            dialog.open()

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.status.show_error(f"{path.name} was not imported: {_reason(exc)}")

        run_in_background(
            lambda: self.desk.preview_contacts_import(path), read, failed, context=self
        )

    def _import(self, preview: ContactsPreview) -> None:
        self._set_busy(True)
        self.status.show_busy("Importing…")
        skipped = len(preview.bad_rows)
        in_file = preview.preview.duplicates_in_file

        def done(counts: UpsertCounts) -> None:
            self._set_busy(False)
            self.reload()
            merged = counts.merged + in_file
            tail = f"; {skipped} rows could not be read" if skipped else ""
            self.status.show_ok(
                f"Added {counts.added} contacts, merged {merged} into existing ones{tail}."
            )

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.status.show_error(f"Nothing was imported: {_reason(exc)}.")

        deliver(self.desk.import_contacts(preview), done, failed, context=self)

    # -- export -------------------------------------------------------------------------------

    def _choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export contacts", str(Path.home() / "contacts.csv"), CSV_FILTER
        )
        if name:
            self.export_to(Path(name))

    def export_to(self, path: Path) -> None:
        self._set_busy(True)
        self.status.show_busy(f"Exporting to {path.name}…")

        def write() -> int:
            buffer = io.StringIO(newline="")
            count = self.desk.export_contacts(buffer)
            write_atomically(path, buffer.getvalue())
            return count

        def done(count: int) -> None:
            self._set_busy(False)
            self.status.show_ok(f"Exported {count} contacts to {path}.")

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.status.show_error(f"Could not write {path.name}: {_reason(exc)}.")

        run_in_background(write, done, failed, context=self)
