"""Business hours: breaks, nights past midnight, closed dates, DST and zone changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from desktop.domain.hours import BusinessHours, Interval, InvalidHours

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")

WEEKDAYS_WITH_LUNCH = {
    day: [("08:00", "12:00"), ("13:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")
}


def local(zone: ZoneInfo, *args: int) -> datetime:
    year, month, day, hour, minute = args
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_open_in_hours_closed_in_the_break_and_at_closing_time() -> None:
    hours = BusinessHours.from_days(
        "America/Chicago", {**WEEKDAYS_WITH_LUNCH, "sat": [("09:00", "12:00")]}
    )
    monday = (2026, 11, 30)
    assert not hours.is_open(local(CHICAGO, *monday, 7, 59))
    assert hours.is_open(local(CHICAGO, *monday, 8, 0))
    assert hours.is_open(local(CHICAGO, *monday, 11, 59))
    assert not hours.is_open(local(CHICAGO, *monday, 12, 30))  # lunch
    assert hours.is_open(local(CHICAGO, *monday, 13, 0))
    assert not hours.is_open(local(CHICAGO, *monday, 17, 0))  # the end is not open
    assert hours.is_open(local(CHICAGO, 2026, 12, 5, 10, 0))  # Saturday morning
    assert not hours.is_open(local(CHICAGO, 2026, 12, 6, 10, 0))  # Sunday


def test_the_same_instant_seen_from_another_zone_is_judged_in_the_business_zone() -> None:
    hours = BusinessHours.from_days("America/Chicago", WEEKDAYS_WITH_LUNCH)
    # 15:00 UTC on a Monday is 09:00 in Chicago.
    assert hours.is_open(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 11, 30, 16, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert not hours.is_open(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))


def test_hours_across_midnight_belong_to_the_day_they_start() -> None:
    hours = BusinessHours.from_days("America/Chicago", {"fri": [("22:00", "02:00")]})
    assert not hours.is_open(local(CHICAGO, 2026, 12, 4, 21, 59))
    assert hours.is_open(local(CHICAGO, 2026, 12, 4, 22, 0))
    assert hours.is_open(local(CHICAGO, 2026, 12, 4, 23, 59))
    assert hours.is_open(local(CHICAGO, 2026, 12, 5, 0, 0))
    assert hours.is_open(local(CHICAGO, 2026, 12, 5, 1, 59))
    assert not hours.is_open(local(CHICAGO, 2026, 12, 5, 2, 0))
    # Thursday night is not open: only Friday's shift runs past midnight.
    assert not hours.is_open(local(CHICAGO, 2026, 12, 4, 1, 0))

    saturday_closed = BusinessHours(hours.time_zone, hours.weekly, frozenset({date(2026, 12, 5)}))
    assert saturday_closed.is_open(local(CHICAGO, 2026, 12, 5, 1, 0))  # Friday's night goes on
    friday_closed = BusinessHours(hours.time_zone, hours.weekly, frozenset({date(2026, 12, 4)}))
    assert not friday_closed.is_open(local(CHICAGO, 2026, 12, 4, 23, 0))
    assert not friday_closed.is_open(local(CHICAGO, 2026, 12, 5, 1, 0))


def test_an_evening_until_24_00_ends_at_midnight() -> None:
    hours = BusinessHours.from_days("UTC", {"fri": [("20:00", "24:00")]})
    assert hours.is_open(datetime(2026, 12, 4, 23, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 12, 5, 0, 0, tzinfo=UTC))
    assert hours.weekly[4][0].as_pair() == ("20:00", "24:00")


def test_closed_dates_close_the_whole_day_and_next_opening_skips_them() -> None:
    christmas = date(2026, 12, 25)  # a Friday
    hours = BusinessHours.from_days(
        "America/Chicago", WEEKDAYS_WITH_LUNCH, closed_dates=[christmas, date(2026, 12, 28)]
    )
    assert not hours.is_open(local(CHICAGO, 2026, 12, 25, 10, 0))
    assert hours.is_open(local(CHICAGO, 2026, 12, 24, 10, 0))
    # Thursday evening → Friday closed, weekend, Monday closed → Tuesday 08:00.
    opening = hours.next_opening(local(CHICAGO, 2026, 12, 24, 18, 0))
    assert opening == local(CHICAGO, 2026, 12, 29, 8, 0)
    assert opening is not None
    assert opening.tzinfo == CHICAGO


def test_next_opening_is_now_when_open_the_break_end_when_at_lunch() -> None:
    hours = BusinessHours.from_days("America/Chicago", WEEKDAYS_WITH_LUNCH)
    now = local(CHICAGO, 2026, 11, 30, 10, 15)
    assert hours.next_opening(now) == now
    assert hours.next_opening(local(CHICAGO, 2026, 11, 30, 12, 5)) == local(
        CHICAGO, 2026, 11, 30, 13, 0
    )
    friday_evening = local(CHICAGO, 2026, 12, 4, 17, 30)
    assert hours.next_opening(friday_evening) == local(CHICAGO, 2026, 12, 7, 8, 0)


def test_no_hours_never_opens() -> None:
    hours = BusinessHours.from_days("UTC", {})
    assert not hours.has_hours
    assert not hours.is_open(datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert hours.next_opening(datetime(2026, 12, 1, 12, tzinfo=UTC)) is None


def test_dst_keeps_wall_clock_hours() -> None:
    """9 to 5 stays 9 to 5 on the clock when New York springs forward (8 March 2026)."""
    every_day = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    hours = BusinessHours.from_days("America/New_York", every_day)
    # Saturday: EST (UTC−5), opens at 14:00 UTC.
    assert not hours.is_open(datetime(2026, 3, 7, 13, 30, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 3, 7, 14, 0, tzinfo=UTC))
    # Sunday: EDT (UTC−4), opens at 13:00 UTC, closes at 21:00 UTC.
    assert hours.is_open(datetime(2026, 3, 8, 13, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 8, 21, 0, tzinfo=UTC))
    assert hours.next_opening(datetime(2026, 3, 7, 23, 0, tzinfo=UTC)) == datetime(
        2026, 3, 8, 13, 0, tzinfo=UTC
    )
    # Falling back (1 November 2026): Monday opens at 14:00 UTC again.
    assert hours.next_opening(datetime(2026, 11, 1, 22, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 14, 0, tzinfo=UTC
    )


def test_an_opening_time_skipped_by_the_dst_jump_opens_at_the_jump() -> None:
    hours = BusinessHours.from_days("America/New_York", {"sun": [("02:30", "05:00")]})
    jump = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 02:00 EST becomes 03:00 EDT
    assert not hours.is_open(jump - timedelta(minutes=1))
    assert hours.is_open(jump)
    assert hours.next_opening(datetime(2026, 3, 8, 5, 0, tzinfo=UTC)) == jump


def test_an_ambiguous_opening_time_opens_at_its_first_occurrence() -> None:
    hours = BusinessHours.from_days("America/New_York", {"sun": [("01:30", "03:00")]})
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    opening = hours.next_opening(datetime(2026, 11, 1, 4, 0, tzinfo=UTC))
    assert opening is not None
    # Compared in UTC: Python never equates an ambiguous local time with another zone's.
    assert opening.astimezone(UTC) == first
    assert hours.is_open(first)
    assert hours.is_open(first + timedelta(hours=1))  # 01:30 EST, the second time round
    assert not hours.is_open(datetime(2026, 11, 1, 8, 0, tzinfo=UTC))  # 03:00 EST


def test_changing_the_time_zone_moves_the_hours() -> None:
    instant = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 09:00 in LA, 17:00 in London
    days = {"mon": [("09:00", "17:00")]}
    assert BusinessHours.from_days("America/Los_Angeles", days).is_open(instant)
    assert not BusinessHours.from_days("Europe/London", days).is_open(instant)


def test_describe_groups_days_for_customers() -> None:
    hours = BusinessHours.from_days(
        "America/Chicago", {**WEEKDAYS_WITH_LUNCH, "sat": [("09:00", "12:00")]}
    )
    assert hours.describe() == "Mon–Fri 8:00–12:00, 13:00–17:00; Sat 9:00–12:00; closed Sun"
    split = BusinessHours.from_days(
        "UTC",
        {"mon": [("09:00", "17:00")], "tue": [("09:00", "17:00")], "thu": [("22:00", "02:00")]},
    )
    assert split.describe() == "Mon, Tue 9:00–17:00; Thu 22:00–2:00; closed Wed and Fri–Sun"


@pytest.mark.parametrize(
    ("days", "zone", "words"),
    [
        ({"mon": [("09:00", "12:00"), ("11:00", "14:00")]}, "UTC", "overlap"),
        ({"mon": [("22:00", "02:00"), ("23:00", "23:30")]}, "UTC", "overlap"),
        ({"mon": [("25:00", "26:00")]}, "UTC", "00:00 to 23:59"),
        ({"mon": [("9am", "5pm")]}, "UTC", "write it like"),
        ({"mon": [("09:00", "09:00")]}, "UTC", "same time"),
        ({"mon": [("24:00", "02:00")]}, "UTC", "00:00 to 23:59"),
        ({"monday": [("09:00", "17:00")]}, "UTC", "not a weekday"),
        ({}, "Mars/Olympus_Mons", "not a time zone"),
        ({}, "/etc/passwd", "not a time zone"),
        ({}, "../../etc/localtime", "not a time zone"),
    ],
)
def test_nonsense_hours_are_refused_in_words(
    days: dict[str, list[tuple[str, str]]], zone: str, words: str
) -> None:
    with pytest.raises(InvalidHours, match=words):
        BusinessHours.from_days(zone, days)


def test_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BusinessHours().is_open(datetime(2026, 1, 1, 12))


def test_intervals_are_kept_in_order() -> None:
    hours = BusinessHours.from_days("UTC", {"mon": [("13:00", "17:00"), ("08:00", "12:00")]})
    assert hours.weekly[0] == (Interval.parse("08:00", "12:00"), Interval.parse("13:00", "17:00"))
