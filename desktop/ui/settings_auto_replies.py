"""Settings → Auto-replies: the away message (outside business hours) and keyword rules.

They are answered straight away in Twilio's webhook response, so they need Twoway to
receive texts instantly (not when it checks Twilio every few seconds), and never go to
STOP, START and HELP (Twilio answers those itself) or to a customer who opted out.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.auto_reply import AutoReplies, AwayMessage, KeywordRule, reserved_keyword
from desktop.domain.frontdesk_setup import MAX_ONCE_PER_HOURS, FrontDeskSetup
from desktop.domain.quick_replies import PLACEHOLDERS, unknown_placeholders
from desktop.ui.form_widgets import hint_label
from desktop.ui.settings_pages import FrontDeskPage

_KNOWN = ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def _check_placeholders(where: str, text: str) -> None:
    unknown = unknown_placeholders(text)
    if unknown:
        raise ValueError(
            f"{where} uses {{{unknown[0]}}}, which is not a placeholder; use {_KNOWN}."
        )


class AutoRepliesPage(FrontDeskPage):
    title = "Auto-replies"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("autoRepliesPage")

        away = QGroupBox("Away message", self)
        self.away_on = QCheckBox("Answer texts that arrive outside business hours", away)
        self.away_on.setObjectName("awayEnabled")
        self.away_text = QPlainTextEdit(away)
        self.away_text.setObjectName("awayText")
        self.away_text.setAccessibleName("Away message")
        self.away_text.setTabChangesFocus(True)
        self.away_text.setPlaceholderText(
            "Thanks for your text! We're closed right now; our hours are {hours}."
        )
        self.away_text.setFixedHeight(self.away_text.fontMetrics().lineSpacing() * 4 + 12)
        self.once_per = QDoubleSpinBox(away)
        self.once_per.setObjectName("awayOncePerHours")
        self.once_per.setAccessibleName("Hours between away messages to one customer")
        self.once_per.setRange(0, MAX_ONCE_PER_HOURS)
        self.once_per.setDecimals(0)
        self.once_per.setSuffix(" hours")
        self.once_per.setSpecialValueText("every text")
        self.away_on.toggled.connect(self._enable_away)
        once_row = QHBoxLayout()
        once_row.addWidget(QLabel("Each customer gets it at most once every", away))
        once_row.addWidget(self.once_per)
        once_row.addStretch(1)
        away_layout = QVBoxLayout(away)
        away_layout.addWidget(self.away_on)
        away_layout.addWidget(self.away_text)
        away_layout.addLayout(once_row)

        keywords = QGroupBox("Keyword answers", self)
        self.keywords = QTableWidget(0, 2, keywords)
        self.keywords.setObjectName("keywordRules")
        self.keywords.setAccessibleName("Keyword answers")
        self.keywords.setHorizontalHeaderLabels(["When a text has the word", "Answer"])
        header = self.keywords.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.keywords.verticalHeader().hide()
        self.keywords.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.add_keyword = QPushButton("Add", keywords)
        self.add_keyword.setObjectName("addKeywordRule")
        self.remove_keyword = QPushButton("Remove", keywords)
        self.remove_keyword.setObjectName("removeKeywordRule")
        self.add_keyword.clicked.connect(lambda: self._add_rule())
        self.remove_keyword.clicked.connect(self._remove_rule)
        keyword_buttons = QHBoxLayout()
        keyword_buttons.addWidget(self.add_keyword)
        keyword_buttons.addWidget(self.remove_keyword)
        keyword_buttons.addStretch(1)
        keyword_layout = QVBoxLayout(keywords)
        keyword_layout.addWidget(self.keywords, 1)
        keyword_layout.addLayout(keyword_buttons)
        keyword_layout.addWidget(
            hint_label(
                "A keyword matches as a whole word in any case: HOURS answers “what are "
                "your hours?”, any time of day, every time it is asked.",
                keywords,
            )
        )

        layout = QVBoxLayout(self)
        layout.addWidget(away)
        layout.addWidget(keywords, 1)
        layout.addWidget(
            hint_label(
                f"Placeholders: {_KNOWN}. Automatic answers go out only while Twoway receives "
                "texts instantly, never to STOP, START or HELP (Twilio answers those) nor to a "
                "customer who opted out.",
                self,
            )
        )

    def _enable_away(self, on: bool) -> None:
        self.away_text.setEnabled(on)
        self.once_per.setEnabled(on)

    # -- FrontDeskPage ------------------------------------------------------------------------

    def show_setup(self, setup: FrontDeskSetup) -> None:
        away = setup.auto_replies.away
        self.away_on.setChecked(away.enabled)
        self.away_text.setPlainText(away.text)
        self.once_per.setDecimals(0 if float(away.once_per_hours).is_integer() else 1)
        self.once_per.setValue(away.once_per_hours)
        self._enable_away(away.enabled)
        self.keywords.setRowCount(0)
        for rule in setup.auto_replies.keywords:
            self._add_rule(rule.word, rule.text)

    def rules(self) -> tuple[KeywordRule, ...]:
        found = []
        for row in range(self.keywords.rowCount()):
            word_item, text_item = self.keywords.item(row, 0), self.keywords.item(row, 1)
            word = " ".join((word_item.text() if word_item else "").split())
            text = text_item.text() if text_item else ""
            if word or text.strip():
                found.append(KeywordRule(word, text))
        return tuple(found)

    def edit(self, setup: FrontDeskSetup) -> FrontDeskSetup:
        text = self.away_text.toPlainText().strip()
        enabled = self.away_on.isChecked()
        if enabled and not text:
            raise ValueError("Write the away message, or turn it off.")
        _check_placeholders("The away message", text)
        seen: set[str] = set()
        rules = self.rules()
        for rule in rules:
            if not rule.word:
                raise ValueError(f"Say which word the answer “{rule.text[:30]}” is for.")
            if reserved_keyword(rule.word):
                raise ValueError(
                    f"{rule.word} is one of Twilio's own keywords (STOP, START, HELP…); "
                    "Twilio answers it itself."
                )
            if not rule.text.strip():
                raise ValueError(f"Write the answer for {rule.word}.")
            if rule.word.casefold() in seen:
                raise ValueError(f"{rule.word} has two answers; keep one.")
            seen.add(rule.word.casefold())
            _check_placeholders(f"The answer for {rule.word}", rule.text)
        away = AwayMessage(enabled, text, float(self.once_per.value()))
        return dataclasses.replace(setup, auto_replies=AutoReplies(away, rules))

    # -- keyword rows -------------------------------------------------------------------------

    def _add_rule(self, word: str = "", text: str = "") -> None:
        row = self.keywords.rowCount()
        self.keywords.insertRow(row)
        word_item = QTableWidgetItem(word)
        self.keywords.setItem(row, 0, word_item)
        self.keywords.setItem(row, 1, QTableWidgetItem(text))
        if not word:
            self.keywords.setCurrentCell(row, 0)
            self.keywords.editItem(word_item)

    def _remove_rule(self) -> None:
        row = self.keywords.currentRow()
        if row >= 0:
            self.keywords.removeRow(row)
