""" "Can I text yet?": the readiness checks in a dialog, each with its state and what to do.

The checks themselves are Qt-free (:mod:`desktop.readiness`); this dialog only runs them
off the GUI thread (:func:`desktop.ui.tasks.run_in_background`) and shows the report:
a summary line, then one row per check (a mark, the title, the detail, the fix), then the
account's other texting numbers with their registration.  "Check again" re-runs them;
Escape closes.  Opened from Help › Can I Text Yet?, the status area, and after setup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.connection import ConnectionSnapshot
from desktop.readiness.model import Check, NumberSection, Report, summary
from desktop.ui import theme
from desktop.ui.form_widgets import StatusLine, problem_color, quiet_color, warning_color
from desktop.ui.tasks import run_in_background

logger = logging.getLogger(__name__)

#: What each verdict looks like: a mark and a word for screen readers.
_MARKS: Final = {True: ("✓", "Fine"), False: ("✗", "Needs attention"), None: ("–", "Not needed")}


def _key(snapshot: ConnectionSnapshot) -> tuple[object, ...]:
    return (snapshot.link, snapshot.public_url, snapshot.number_points_here, snapshot.problem)


def _label(text: str, parent: QWidget, *, bold: bool = False, object_name: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if bold:
        font = label.font()
        font.setBold(True)
        label.setFont(font)
    if object_name:
        label.setObjectName(object_name)
    return label


class CheckRow(QFrame):
    """One check: mark, title, detail and (unless fine) what to do."""

    def __init__(self, check: Check, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = check
        self.setObjectName(f"readinessCheck_{check.id}")
        mark_text, verdict = _MARKS[check.ok]
        self.setAccessibleName(f"{check.title}: {verdict}")
        self.setAccessibleDescription(f"{check.detail} {check.fix}".strip())
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 6, 0, 6)
        outer.setSpacing(10)
        self.mark = QLabel(mark_text, self)
        self.mark.setObjectName("readinessMark")
        font = self.mark.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.mark.setFont(font)
        self.mark.setFixedWidth(self.mark.fontMetrics().horizontalAdvance("✓✓"))
        self.mark.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        outer.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignTop)
        lines = QVBoxLayout()
        lines.setSpacing(2)
        lines.addWidget(_label(check.title + check.state_note, self, bold=True))
        self.detail = _label(check.detail, self, object_name="readinessDetail")
        lines.addWidget(self.detail)
        self.fix: QLabel | None = None
        if check.ok is False:
            self.fix = _label(f"What to do: {check.fix}", self, object_name="readinessFix")
            lines.addWidget(self.fix)
        outer.addLayout(lines, 1)
        self._colour()

    def _colour(self) -> None:
        palette = self.palette()
        if self.check.ok is True:
            color = theme.current().success
        elif self.check.ok is False:
            color = problem_color(palette)
        else:
            color = quiet_color(palette)
        self.mark.setStyleSheet(f"color: {color.name()};")
        if self.check.ok is None:
            self.detail.setStyleSheet(f"color: {quiet_color(palette).name()};")
        if self.fix is not None:
            self.fix.setStyleSheet(f"color: {warning_color(palette).name()};")


class ReadinessPanel(QDialog):
    """The readiness dialog; ``run`` does the (blocking) checks and returns the report."""

    def __init__(
        self,
        run: Callable[[], Report],
        parent: QWidget | None = None,
        *,
        snapshot: ConnectionSnapshot | None = None,
    ) -> None:
        super().__init__(parent)
        self._run = run
        self._busy = False
        self.report: Report | None = None
        self.setObjectName("readinessPanel")
        self.setWindowTitle("Can I text yet?")
        self.resize(620, 640)
        layout = QVBoxLayout(self)
        self.summary = _label("", self, bold=True, object_name="readinessSummary")
        layout.addWidget(self.summary)
        self.status = StatusLine(self, object_name="readinessStatus")
        layout.addWidget(self.status)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self._scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.recheck = QPushButton("Check again", self)
        self.recheck.setObjectName("readinessRecheck")
        buttons.addButton(self.recheck, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.recheck.clicked.connect(self.start)
        layout.addWidget(buttons)
        self.rows: list[CheckRow] = []
        self._seen = _key(snapshot) if snapshot is not None else None
        self._stale = False
        self.start()

    def on_connection(self, snapshot: ConnectionSnapshot) -> None:
        """Re-check when how texts reach Twoway changed (the tunnel came up, the number was
        pointed here after setup); not for every sync tick."""
        key = _key(snapshot)
        if self._seen is None:
            self._seen = key
            return
        if key == self._seen or not self.isVisible():
            return
        self._seen = key
        if self._busy:
            self._stale = True  # once this run is done
        else:
            self.start()

    def start(self) -> None:
        """Run the checks again (ignored while a run is going)."""
        if self._busy:
            return
        self._busy = True
        self.recheck.setEnabled(False)
        self.status.show_busy("Checking with Twilio and testing the connection…")
        run_in_background(self._run, self._show, self._failed, context=self)

    def is_busy(self) -> bool:
        return self._busy

    def _failed(self, error: BaseException) -> None:
        logger.warning("The readiness check failed: %s", type(error).__name__)
        self._busy = False
        self.recheck.setEnabled(True)
        self.status.show_error(f"The check could not run: {error}")

    def _show(self, report: Report) -> None:
        self._busy = False
        self.recheck.setEnabled(True)
        if self._stale:
            self._stale = False
            self.start()
        self.report = report
        self.status.clear()
        about = f" ({report.phone_number})" if report.phone_number else ""
        self.summary.setText(summary(report) + about)
        color = None if report.ready else problem_color(self.palette())
        self.summary.setStyleSheet(f"color: {color.name()};" if color else "")
        body = QWidget(self._scroll)
        column = QVBoxLayout(body)
        self.rows = [CheckRow(check, body) for check in report.checks]
        for row in self.rows:
            column.addWidget(row)
        for section in report.other_numbers:
            column.addWidget(self._section(section, body))
        column.addStretch(1)
        self._scroll.setWidget(body)

    def _section(self, section: NumberSection, parent: QWidget) -> QWidget:
        box = QFrame(parent)
        box.setObjectName("readinessNumber")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 14, 0, 0)
        state = "ready to text" if section.ready else "not ready to text yet"
        heading = _label(f"{section.label} ({section.phone_number}): {state}", box, bold=True)
        heading.setAccessibleName(heading.text())
        layout.addWidget(heading)
        layout.addWidget(
            _label(
                "Another number on this account. Twoway receives its texts from Twilio's "
                "message log rather than instantly.",
                box,
            )
        )
        for check in section.checks:
            row = CheckRow(check, box)
            self.rows.append(row)
            layout.addWidget(row)
        return box

    def row(self, check_id: str) -> CheckRow:
        """The first row for ``check_id`` (for tests and accessibility tools)."""
        return next(r for r in self.rows if r.check.id == check_id)
