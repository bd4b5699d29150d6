"""Settings → Business hours: opening hours per weekday (with breaks), closed dates and
the time zone they are in.  The away message is sent outside these hours."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from functools import cache
from typing import Final

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.frontdesk_setup import FrontDeskSetup
from desktop.domain.hours import DAY_KEYS, BusinessHours, Interval, InvalidHours, zone_for
from desktop.frontdesk.setup_file import local_time_zone
from desktop.ui.form_widgets import hint_label
from desktop.ui.settings_pages import FrontDeskPage

DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RANGE_SPLIT_RE: Final = re.compile(r"\s*(?:-|–|—|\bto\b)\s*")
_ROLE = Qt.ItemDataRole.UserRole


def format_day(intervals: tuple[Interval, ...]) -> str:
    """ "8:00–12:00, 13:00–17:00" (empty for a closed day)."""
    return ", ".join(i.describe() for i in intervals)


def parse_day(day: str, text: str) -> tuple[Interval, ...]:
    """Read "8:00-12:00, 13:00-17:00" (commas or semicolons between stretches; an empty
    text is a closed day); raises InvalidHours naming the day."""
    intervals = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        ends = _RANGE_SPLIT_RE.split(part)
        if len(ends) != 2 or not all(ends):
            raise InvalidHours(
                f"{day}: “{part}” is not a stretch of hours; write it like 8:00–12:00."
            )
        try:
            intervals.append(Interval.parse(ends[0], ends[1]))
        except InvalidHours as exc:
            raise InvalidHours(f"{day}: {exc}") from None
    return tuple(intervals)


@cache
def time_zone_names() -> tuple[str, ...]:
    import zoneinfo

    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


class HoursPage(FrontDeskPage):
    title = "Business hours"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hoursPage")
        self.zone = QComboBox(self)
        self.zone.setObjectName("timeZone")
        self.zone.setAccessibleName("Time zone")
        self.zone.setEditable(True)
        self.zone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.zone.addItems(time_zone_names())
        completer = QCompleter(time_zone_names(), self.zone)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.zone.setCompleter(completer)
        here = local_time_zone()
        self.use_here = QPushButton(f"Use this computer’s ({here})", self)
        self.use_here.setObjectName("useComputerTimeZone")
        self.use_here.clicked.connect(lambda: self.zone.setCurrentText(here))

        week = QGroupBox("Open", self)
        week_form = QFormLayout(week)
        self.days: list[QLineEdit] = []
        for key, name in zip(DAY_KEYS, DAY_NAMES, strict=True):
            field = QLineEdit(week)
            field.setObjectName(f"hours_{key}")
            field.setAccessibleName(f"{name} opening hours")
            field.setPlaceholderText("Closed")
            self.days.append(field)
            week_form.addRow(f"{name}:", field)
        self.copy_monday = QPushButton("Same as Monday, Tuesday to Friday", week)
        self.copy_monday.setObjectName("copyMonday")
        self.copy_monday.clicked.connect(self._copy_monday)
        week_form.addRow("", self.copy_monday)
        week_form.addRow(
            hint_label(
                "Write each day’s hours like 8:00–12:00, 13:00–17:00 (a comma between the "
                "stretches, so a lunch break is closed). 22:00–2:00 runs past midnight. "
                "Leave a day empty when you are closed.",
                week,
            )
        )

        closed = QGroupBox("Closed dates (holidays)", self)
        self.closed = QListWidget(closed)
        self.closed.setObjectName("closedDates")
        self.closed.setAccessibleName("Closed dates")
        self.closed.setMaximumHeight(self.fontMetrics().lineSpacing() * 5)
        self.closed_date = QDateEdit(QDate.currentDate(), closed)
        self.closed_date.setObjectName("closedDateEdit")
        self.closed_date.setCalendarPopup(True)
        self.closed_date.setDisplayFormat("yyyy-MM-dd")
        self.add_closed = QPushButton("Add date", closed)
        self.add_closed.setObjectName("addClosedDate")
        self.remove_closed = QPushButton("Remove", closed)
        self.remove_closed.setObjectName("removeClosedDate")
        self.add_closed.clicked.connect(self._add_chosen_date)
        self.remove_closed.clicked.connect(self._remove_closed)
        controls = QHBoxLayout()
        controls.addWidget(self.closed_date)
        controls.addWidget(self.add_closed)
        controls.addWidget(self.remove_closed)
        controls.addStretch(1)
        closed_layout = QVBoxLayout(closed)
        closed_layout.addWidget(self.closed)
        closed_layout.addLayout(controls)

        zone_row = QHBoxLayout()
        zone_row.addWidget(self.zone, 1)
        zone_row.addWidget(self.use_here)
        top = QFormLayout()
        top.addRow("Time zone:", zone_row)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(week)
        layout.addWidget(closed)
        layout.addStretch(1)

    # -- FrontDeskPage ------------------------------------------------------------------------

    def show_setup(self, setup: FrontDeskSetup) -> None:
        hours = setup.business_hours
        self.zone.setCurrentText(hours.time_zone)
        for field, intervals in zip(self.days, hours.weekly, strict=True):
            field.setText(format_day(intervals))
        self.closed.clear()
        for day in sorted(hours.closed_dates):
            self.add_closed_date(day)

    def edit(self, setup: FrontDeskSetup) -> FrontDeskSetup:
        zone = self.zone.currentText().strip()
        try:
            zone_for(zone)
        except InvalidHours as exc:
            raise InvalidHours(f"Time zone: {exc}") from None
        weekly = tuple(
            parse_day(name, field.text()) for name, field in zip(DAY_NAMES, self.days, strict=True)
        )
        hours = BusinessHours(zone, weekly, frozenset(self.closed_dates()))
        return dataclasses.replace(setup, business_hours=hours)

    # -- closed dates -------------------------------------------------------------------------

    def closed_dates(self) -> list[date]:
        return [
            date.fromisoformat(self.closed.item(row).data(_ROLE))
            for row in range(self.closed.count())
        ]

    def add_closed_date(self, day: date) -> None:
        if day in self.closed_dates():
            return
        item = QListWidgetItem(day.strftime("%a %d %b %Y"))
        item.setData(_ROLE, day.isoformat())
        days = self.closed_dates()
        row = sum(1 for d in days if d < day)
        self.closed.insertItem(row, item)
        self.closed.setCurrentItem(item)

    def _add_chosen_date(self) -> None:
        chosen = self.closed_date.date()
        self.add_closed_date(date(chosen.year(), chosen.month(), chosen.day()))

    def _remove_closed(self) -> None:
        row = self.closed.currentRow()
        if row >= 0:
            self.closed.takeItem(row)

    def _copy_monday(self) -> None:
        for field in self.days[1:5]:
            field.setText(self.days[0].text())
