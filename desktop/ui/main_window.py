"""The main window (placeholder layout until the window issue lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QSplitter

from desktop import APP_NAME
from desktop.core import Core
from desktop.store import queries


class MainWindow(QMainWindow):
    def __init__(self, core: Core) -> None:
        super().__init__()
        self._core = core
        self.setWindowTitle(APP_NAME)
        splitter = QSplitter(self)
        self._list = QListWidget(splitter)
        self._list.setObjectName("conversationList")
        QLabel("Select a conversation", splitter).setObjectName("threadView")
        self.setCentralWidget(splitter)
        for row in queries.conversations(core.store.reader()):
            self._list.addItem(f"{row.contact_name or row.contact_number}: {row.snippet}")

    def conversation_count(self) -> int:
        return self._list.count()
