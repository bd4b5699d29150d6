"""The contacts import preview: how many will be added and merged, and which rows of the
file cannot be read (line number and reason), before anything is stored."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.phone import country_name
from desktop.frontdesk.service import ContactsPreview


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary(preview: ContactsPreview) -> str:
    bad = len(preview.bad_rows)
    parts = [
        f"{_count(preview.new, 'new contact', 'new contacts')} will be added",
        f"{_count(preview.merging, 'row', 'rows')} merged into contacts you have (same number)",
    ]
    text = "; ".join(parts) + "."
    if bad:
        text += f" {_count(bad, 'row', 'rows')} cannot be read and will be left out:"
    return text


class ContactsImportDialog(QDialog):
    """Import or Cancel; ``exec()``/``open()`` Accepted means "import these"."""

    def __init__(
        self, path: Path, preview: ContactsPreview, region: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.preview = preview
        self.setObjectName("contactsImportDialog")
        self.setWindowTitle(f"Import contacts from {path.name}")
        self.summary = QLabel(summary(preview), self)
        self.summary.setObjectName("importSummary")
        self.summary.setWordWrap(True)
        self.bad_rows = QTableWidget(len(preview.bad_rows), 3, self)
        self.bad_rows.setObjectName("unreadableRows")
        self.bad_rows.setAccessibleName("Rows that cannot be read")
        self.bad_rows.setHorizontalHeaderLabels(["Line", "Why", "What it says"])
        self.bad_rows.verticalHeader().hide()
        self.bad_rows.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.bad_rows.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for row, bad in enumerate(preview.bad_rows):
            self.bad_rows.setItem(row, 0, QTableWidgetItem(str(bad.line)))
            self.bad_rows.setItem(row, 1, QTableWidgetItem(bad.reason))
            self.bad_rows.setItem(row, 2, QTableWidgetItem(bad.text))
        self.bad_rows.setColumnWidth(1, 300)
        self.bad_rows.setVisible(bool(preview.bad_rows))
        region_hint = QLabel(
            "Numbers written without a country code are read as numbers in "
            f"{country_name(region) or region}, like yours.",
            self,
        )
        region_hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.import_button.setObjectName("confirmImport")
        self.import_button.setEnabled(preview.preview.readable)
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.bad_rows, 1)
        if not preview.preview.readable:
            nothing = QLabel("No contact in this file could be read; nothing can be imported.")
            nothing.setWordWrap(True)
            layout.addWidget(nothing)
        layout.addWidget(region_hint)
        layout.addWidget(self.buttons)
        self.resize(640, 420 if preview.bad_rows else 200)
