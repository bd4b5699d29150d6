"""The contacts table's model: name, number, note; name and note editable in place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.domain.phone import display
from desktop.store.contacts import ContactRow

NAME, NUMBER, NOTE = range(3)
HEADERS: Final = ("Name", "Number", "Note")
Index = QModelIndex | QPersistentModelIndex


class ContactsModel(QAbstractTableModel):
    """Rows as the front desk read them; an edit calls ``on_edit(row, name, note)`` and
    shows the new value at once (the store's writer saves it)."""

    def __init__(
        self, on_edit: Callable[[ContactRow, str, str], None], home_region: str = "US"
    ) -> None:
        super().__init__()
        self._rows: list[ContactRow] = []
        self._on_edit = on_edit
        self._region = home_region

    def set_rows(self, rows: Sequence[ContactRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> ContactRow:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return row.name
            if column == NUMBER:
                return display(row.e164, self._region)
            return " · ".join(row.note.splitlines())
        if role == Qt.ItemDataRole.EditRole:
            return (row.name, row.e164, row.note)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.e164 if column == NUMBER else (row.note or None)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() in (NAME, NOTE):
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() not in (NAME, NOTE):
            return False
        row = self._rows[index.row()]
        text = str(value)
        name, note = (text, row.note) if index.column() == NAME else (row.name, text)
        if (name, note) == (row.name, row.note):
            return False
        updated = row._replace(name=" ".join(name.split()), note=note.strip())
        self._rows[index.row()] = updated
        self.dataChanged.emit(index, index)
        self._on_edit(row, updated.name, updated.note)
        return True
