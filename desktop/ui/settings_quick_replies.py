"""Settings → Quick replies: saved texts staff insert by typing ``/`` in the composer."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.frontdesk_setup import MAX_NAME_CHARS, MAX_TEXT_CHARS, FrontDeskSetup
from desktop.domain.quick_replies import QuickReply
from desktop.ui.form_widgets import hint_label
from desktop.ui.settings_pages import FrontDeskPage

PLACEHOLDER_HINT = (
    "Type / and a few letters of a name in the message box to insert one. Placeholders are "
    "filled in for the customer: {first_name} and {name} (from the contact), {business} "
    "and {hours} (your opening hours). Anything left unfilled stays visible so you can "
    "complete it before sending."
)

_ROLE = Qt.ItemDataRole.UserRole


class QuickRepliesPage(FrontDeskPage):
    """A list of replies on the left; the chosen one's name and text on the right."""

    title = "Quick replies"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quickRepliesPage")
        self.list = QListWidget(self)
        self.list.setObjectName("quickReplyList")
        self.list.setAccessibleName("Quick replies")
        self.add_button = QPushButton("Add", self)
        self.add_button.setObjectName("addQuickReply")
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.setObjectName("deleteQuickReply")
        self.name = QLineEdit(self)
        self.name.setObjectName("quickReplyName")
        self.name.setMaxLength(MAX_NAME_CHARS)
        self.name.setPlaceholderText("Confirm appointment")
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("quickReplyText")
        self.text.setAccessibleName("Quick reply text")
        self.text.setTabChangesFocus(True)
        self.text.setPlaceholderText("Hi {first_name}, you're all set for tomorrow. See you then!")

        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.delete_button)
        left.addLayout(buttons)
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Text:", self.text)
        top = QHBoxLayout()
        top.addLayout(left, 2)
        top.addLayout(form, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(hint_label(PLACEHOLDER_HINT, self))

        self.list.currentItemChanged.connect(self._show_current)
        self.name.textEdited.connect(self._name_edited)
        self.text.textChanged.connect(self._text_edited)
        self.add_button.clicked.connect(self.add_reply)
        self.delete_button.clicked.connect(self.delete_current)
        self._loading = False

    # -- FrontDeskPage ------------------------------------------------------------------------

    def show_setup(self, setup: FrontDeskSetup) -> None:
        self.list.clear()
        for reply in setup.quick_replies:
            self._append(reply.name, reply.text)
        self.list.setCurrentRow(0 if self.list.count() else -1)
        self._show_current()

    def replies(self) -> tuple[QuickReply, ...]:
        found = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            name = " ".join(item.text().split())
            text: str = item.data(_ROLE) or ""
            found.append(QuickReply(name, text))
        return tuple(found)

    def edit(self, setup: FrontDeskSetup) -> FrontDeskSetup:
        seen: set[str] = set()
        replies = self.replies()
        for reply in replies:
            if not reply.name:
                raise ValueError(f"Give the quick reply “{_short(reply.text)}” a name.")
            if not reply.text.strip():
                raise ValueError(f"The quick reply “{reply.name}” has no text.")
            if len(reply.text) > MAX_TEXT_CHARS:
                raise ValueError(
                    f"The quick reply “{reply.name}” is longer than {MAX_TEXT_CHARS} characters."
                )
            if reply.name.casefold() in seen:
                raise ValueError(f"Two quick replies are called “{reply.name}”; rename one.")
            seen.add(reply.name.casefold())
        return dataclasses.replace(setup, quick_replies=replies)

    # -- editing ------------------------------------------------------------------------------

    def add_reply(self) -> None:
        taken = {self.list.item(row).text().casefold() for row in range(self.list.count())}
        name, number = "New reply", 2
        while name.casefold() in taken:
            name, number = f"New reply {number}", number + 1
        self._append(name, "")
        self.list.setCurrentRow(self.list.count() - 1)
        self.name.setFocus(Qt.FocusReason.OtherFocusReason)
        self.name.selectAll()

    def delete_current(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._show_current()

    def _append(self, name: str, text: str) -> None:
        item = QListWidgetItem(name)
        item.setData(_ROLE, text)
        self.list.addItem(item)

    def _show_current(self, *_args: object) -> None:
        item = self.list.currentItem()
        self._loading = True
        try:
            self.name.setText(item.text() if item else "")
            self.text.setPlainText(item.data(_ROLE) if item else "")
        finally:
            self._loading = False
        for widget in (self.name, self.text, self.delete_button):
            widget.setEnabled(item is not None)

    def _name_edited(self, text: str) -> None:
        item = self.list.currentItem()
        if item is not None:
            item.setText(text)

    def _text_edited(self) -> None:
        item = self.list.currentItem()
        if item is not None and not self._loading:
            item.setData(_ROLE, self.text.toPlainText())


def _short(text: str, limit: int = 30) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
