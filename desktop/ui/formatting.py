"""How times and phone numbers read on screen: "2:45 PM", "Yesterday", "(503) 555-0142".

Painting asks for these strings for every visible row on every repaint, so results are
cached.  Phone-number formatting needs ``phonenumbers`` (tens of milliseconds to import),
which is loaded on first use, not at import time.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import lru_cache
from typing import Final

from PySide6.QtCore import QDate, QDateTime, QLocale, QTime

logger = logging.getLogger(__name__)

_MINUTE: Final = 60_000
_HOUR: Final = 60 * _MINUTE


def _locale() -> QLocale:
    return QLocale.system()


def local_date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000).date()


@lru_cache(maxsize=4096)
def clock(minute: int) -> str:
    """Short local time ("2:45 PM" or "14:45") of the minute ``minute`` (ms // 60000)."""
    moment = dt.datetime.fromtimestamp(minute * 60)
    return _locale().toString(QTime(moment.hour, moment.minute), QLocale.FormatType.ShortFormat)


def time_of(ms: int) -> str:
    return clock(ms // _MINUTE)


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def list_time(ms: int, now_ms: int) -> str:
    """The conversation list's time: today's clock, "Yesterday", a weekday, or a date."""
    if ms <= 0:
        return ""
    day, today = local_date(ms), local_date(now_ms)
    delta = (today - day).days
    if delta <= 0:
        return time_of(ms)
    if delta == 1:
        return "Yesterday"
    if delta < 7:
        return _locale().dayName(day.isoweekday(), QLocale.FormatType.ShortFormat)
    if day.year == today.year:
        return _locale().toString(_qdate(day), "MMM d")
    return _locale().toString(_qdate(day), QLocale.FormatType.ShortFormat)


def day_label(day: dt.date, today: dt.date) -> str:
    """The separator between days in a thread: "Today", "Yesterday", "Monday, March 3"."""
    delta = (today - day).days
    if delta == 0:
        return "Today"
    if delta == 1:
        return "Yesterday"
    name = _locale().dayName(day.isoweekday(), QLocale.FormatType.LongFormat)
    if 1 < delta < 7:
        return name
    if day.year == today.year:
        return f"{name}, {_locale().toString(_qdate(day), 'MMMM d')}"
    return _locale().toString(_qdate(day), "MMMM d, yyyy")


def full_timestamp(ms: int) -> str:
    moment = QDateTime.fromMSecsSinceEpoch(ms)
    return _locale().toString(moment, QLocale.FormatType.LongFormat)


def ago(ms: int | None, now_ms: int) -> str:
    """ "just now", "3 min ago", "2 h ago", "yesterday", or a date."""
    if not ms:
        return "never"
    delta = max(0, now_ms - ms)
    if delta < _MINUTE:
        return "just now"
    if delta < _HOUR:
        return f"{delta // _MINUTE} min ago"
    if delta < 24 * _HOUR and local_date(ms) == local_date(now_ms):
        return f"{delta // _HOUR} h ago"
    return f"on {list_time(ms, now_ms)}" if delta < 7 * 24 * _HOUR else list_time(ms, now_ms)


_NANP: Final = re.compile(r"\+1([2-9]\d{2})([2-9]\d{2})(\d{4})")


class NumberFormatter:
    """Formats E.164 numbers for staff ("(503) 555-0142" at home), cached per number.

    "Home" is the country of our own number: numbers from there read nationally,
    others internationally.  With ``defer=True`` (the app's first paint) phonenumbers is
    not imported: North American numbers are formatted by a rule that gives exactly
    what phonenumbers gives, anything else shows as stored until :meth:`load` ran.
    """

    def __init__(self, home_number: str = "", *, defer: bool = False) -> None:
        self._home_number = home_number
        self._region: str | None = None
        self._region_known = False
        self._cache: dict[str, str] = {}
        self._deferred = defer

    @property
    def home_number(self) -> str:
        return self._home_number

    @property
    def deferred(self) -> bool:
        return self._deferred

    def set_home_number(self, number: str) -> None:
        if number != self._home_number:
            self._home_number = number
            self._region_known = False
            self._cache.clear()

    def load(self) -> None:
        """Import phonenumbers (call off the GUI thread); later calls format exactly."""
        import desktop.domain.phone  # noqa: F401

    def loaded(self) -> None:
        """On the GUI thread, after :meth:`load`: stop deferring and forget quick results."""
        self._deferred = False
        self._cache.clear()

    def _quick(self, number: str) -> str:
        found = _NANP.fullmatch(number)
        if found is None:
            return number
        area, exchange, line = found.groups()
        if self._home_number.startswith("+1"):
            return f"({area}) {exchange}-{line}"
        return f"+1 {area}-{exchange}-{line}" if not self._home_number else number

    def __call__(self, number: str) -> str:
        text = self._cache.get(number)
        if text is not None:
            return text
        if self._deferred:
            text = self._quick(number)
            self._cache[number] = text
            return text
        from desktop.domain.phone import display, region_of

        try:
            if not self._region_known:
                self._region = region_of(self._home_number) if self._home_number else None
                self._region_known = True
            text = display(number, self._region)
        except Exception:  # a malformed stored number must not break painting
            logger.debug("Could not format a number", exc_info=True)
            text = number
        self._cache[number] = text
        return text
