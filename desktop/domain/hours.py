"""Business hours: when the front desk answers, in the business's own time zone.

Hours are wall-clock times ("08:00"–"12:00") per weekday, as staff think of them, so a
DST change moves nothing: 9 to 5 stays 9 to 5 on the clock.  An interval whose end is
not after its start runs past midnight ("22:00"–"02:00"), and belongs to the day it
starts on: a closed date closes the intervals that *start* that day, so a Friday night
shift still ends on a closed Saturday.

Everything is I/O-free; the time zone comes from the IANA database (``zoneinfo``, with the
``tzdata`` package where the OS has none, as on Windows).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAY_KEYS",
    "BusinessHours",
    "Interval",
    "InvalidHours",
    "parse_clock",
    "zone_for",
]

#: The weekday keys of the setup file, Monday first (``date.weekday()`` order).
DAY_KEYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CLOCK_RE: Final = re.compile(r"(\d{1,2}):(\d{2})")
_DAY_MINUTES: Final = 24 * 60
#: How far ahead :meth:`BusinessHours.next_opening` looks (closed dates can cover weeks).
_LOOKAHEAD_DAYS: Final = 400


class InvalidHours(ValueError):
    """Hours that make no sense; ``str()`` says what is wrong in plain words."""


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """Minutes after midnight for "HH:MM" ("24:00" only as an end: the end of the day)."""
    match = _CLOCK_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidHours(f"{text!r} is not a time; write it like 08:30 or 17:00.")
    hours, minutes = int(match[1]), int(match[2])
    if allow_24 and hours == 24 and minutes == 0:
        return _DAY_MINUTES
    if hours > 23 or minutes > 59:
        raise InvalidHours(f"{text!r} is not a time of day; use 00:00 to 23:59.")
    return hours * 60 + minutes


def zone_for(name: str) -> ZoneInfo:
    """The IANA zone called ``name`` ("America/Chicago"); raises :class:`InvalidHours`."""
    if not name or name.strip() != name or name.startswith(("/", ".")) or "\\" in name:
        raise InvalidHours(f"{name!r} is not a time zone name; use one like America/Chicago.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidHours(
            f"{name!r} is not a time zone Twoway knows; use one like America/Chicago."
        ) from None


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _human_clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Interval:
    """Open from ``start`` to ``end``, in minutes after midnight; ``end <= start`` means
    the interval ends the next day.  ``end`` may be 1440 ("24:00")."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < _DAY_MINUTES or not 0 <= self.end <= _DAY_MINUTES:
            raise InvalidHours("Times of day must lie between 00:00 and 24:00.")
        if self.start == self.end:
            raise InvalidHours(
                f"{_clock_text(self.start)}–{_clock_text(self.end)} opens and closes at the "
                "same time; use 00:00–24:00 for a whole day."
            )

    @classmethod
    def parse(cls, start: str, end: str) -> Interval:
        return cls(parse_clock(start), parse_clock(end, allow_24=True))

    @property
    def overnight(self) -> bool:
        return self.end <= self.start and self.end != _DAY_MINUTES

    @property
    def end_after_start_day(self) -> int:
        """The end in minutes after the *start day's* midnight (past 1440 when overnight)."""
        return self.end + _DAY_MINUTES if self.overnight else self.end

    def as_pair(self) -> tuple[str, str]:
        """("08:00", "12:00") as the setup file writes it."""
        end = "24:00" if self.end == _DAY_MINUTES else _clock_text(self.end)
        return (_clock_text(self.start), end)

    def describe(self) -> str:
        """ "8:00–12:00" for people (no leading zero)."""
        return f"{_human_clock(self.start)}–{_human_clock(self.end)}"


def _check_day(day: str, intervals: Sequence[Interval]) -> tuple[Interval, ...]:
    ordered = tuple(sorted(intervals, key=lambda i: i.start))
    for earlier, later in itertools.pairwise(ordered):
        if earlier.overnight or later.start < earlier.end_after_start_day:
            raise InvalidHours(
                f"On {day}, {earlier.describe()} and {later.describe()} overlap; "
                "list each stretch of opening hours once, in order."
            )
    return ordered


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening hours per weekday (Monday first), closed dates, and the zone they are in.

    No hours on any day means "never open": an away message then always applies.
    """

    time_zone: str = "UTC"
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        zone_for(self.time_zone)
        if len(self.weekly) != 7:
            raise InvalidHours("Business hours need an entry for each of the 7 weekdays.")
        checked = tuple(_check_day(_DAY_NAMES[index], day) for index, day in enumerate(self.weekly))
        object.__setattr__(self, "weekly", checked)
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))

    @classmethod
    def from_days(
        cls,
        time_zone: str,
        days: Mapping[str, Iterable[tuple[str, str]]],
        closed_dates: Iterable[date] = (),
    ) -> BusinessHours:
        """``{"mon": [("08:00", "12:00")], …}``; missing days are closed."""
        unknown = set(days) - set(DAY_KEYS)
        if unknown:
            raise InvalidHours(f"{sorted(unknown)[0]!r} is not a weekday; use mon … sun.")
        weekly = tuple(
            tuple(Interval.parse(start, end) for start, end in days.get(key, ()))
            for key in DAY_KEYS
        )
        return cls(time_zone, weekly, frozenset(closed_dates))

    @property
    def zone(self) -> ZoneInfo:
        return zone_for(self.time_zone)

    @property
    def has_hours(self) -> bool:
        return any(self.weekly)

    def _starting_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.closed_dates:
            return ()
        return self.weekly[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        """Whether the front desk is open at the instant ``at`` (timezone-aware)."""
        local = _local(at, self.zone)
        today = local.date()
        minute = local.hour * 60 + local.minute
        if any(i.start <= minute < i.end_after_start_day for i in self._starting_on(today)):
            return True
        yesterday = today - timedelta(days=1)
        return any(
            minute + _DAY_MINUTES < i.end_after_start_day
            for i in self._starting_on(yesterday)
            if i.overnight
        )

    def next_opening(self, at: datetime) -> datetime | None:
        """The first instant at or after ``at`` when the desk is open, in the business's zone;
        ``at`` itself when open now, None when it never opens again (no hours)."""
        zone = self.zone
        if self.is_open(at):
            return at.astimezone(zone)
        instant = at.astimezone(UTC)
        first_day = _local(at, zone).date()
        for offset in range(_LOOKAHEAD_DAYS):
            day = first_day + timedelta(days=offset)
            for interval in self._starting_on(day):
                opens = _wall_to_instant(day, interval.start, zone)
                if opens > instant:
                    return opens.astimezone(zone)
        return None

    def describe(self) -> str:
        """The weekly hours for customers: "Mon–Fri 8:00–12:00, 13:00–17:00; Sat 9:00–12:00;
        closed Sun".  Closed dates are left out (they are exceptions, not hours)."""
        if not self.has_hours:
            return "by appointment"
        groups: list[tuple[int, int, tuple[Interval, ...]]] = []
        for index, day in enumerate(self.weekly):
            if groups and groups[-1][2] == day and groups[-1][1] == index - 1:
                first, _, hours = groups[-1]
                groups[-1] = (first, index, hours)
            else:
                groups.append((index, index, day))
        open_parts: list[str] = []
        closed: list[str] = []
        for first, last, hours in groups:
            days = _day_span(first, last)
            if hours:
                open_parts.append(f"{days} " + ", ".join(i.describe() for i in hours))
            else:
                closed.append(days)
        text = "; ".join(open_parts)
        if closed:
            text += "; closed " + " and ".join(closed)
        return text


def _day_span(first: int, last: int) -> str:
    if first == last:
        return _DAY_NAMES[first]
    if last == first + 1:
        return f"{_DAY_NAMES[first]}, {_DAY_NAMES[last]}"
    return f"{_DAY_NAMES[first]}–{_DAY_NAMES[last]}"


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business hours need a timezone-aware time")
    return at.astimezone(zone)


def _wall_to_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which a wall clock in ``zone`` shows ``minute`` on ``day``
    or later.

    An ambiguous wall time (a fall-back night) is its first occurrence; a time skipped by a
    spring-forward jump is the moment of the jump, when the clock passes it — the same
    instants :meth:`BusinessHours.is_open` starts to say "open" at.
    """
    if minute >= _DAY_MINUTES:
        day, minute = day + timedelta(days=1), minute - _DAY_MINUTES
    target = datetime.combine(day, time(minute // 60, minute % 60))
    first = target.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier reading
    if first.astimezone(zone).replace(tzinfo=None) == target:
        return first
    # Skipped: the jump lies between the two readings; find it to the minute.
    low = target.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= target:
            high = middle
        else:
            low = middle
    return high.replace(second=0, microsecond=0)
