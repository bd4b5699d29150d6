"""Which auto-reply a text gets: keywords as whole words, away once per window, never to
STOP/START/HELP or an opted-out customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desktop.domain.auto_reply import (
    AutoReplies,
    AwayMessage,
    KeywordRule,
    ReplyKind,
    decide,
    keyword_matches,
)
from desktop.domain.hours import BusinessHours

HOURS = BusinessHours.from_days(
    "UTC", {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
)
RULES = AutoReplies(
    AwayMessage(True, "We're closed; back at 9.", once_per_hours=12),
    (KeywordRule("HOURS", "We're open {hours}."), KeywordRule("address", "12 Main St.")),
)
OPEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday morning
CLOSED = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # Monday evening


def answer(
    body: str, *, now: datetime = CLOSED, opted_out: bool = False, last: datetime | None = None
):
    return decide(body, rules=RULES, hours=HOURS, now=now, opted_out=opted_out, last_away_at=last)


@pytest.mark.parametrize(
    ("word", "body", "matches"),
    [
        ("HOURS", "what are your hours?", True),
        ("HOURS", "Hours", True),
        ("hours", "HOURS!!", True),
        ("HOURS", "ourshourses", False),
        ("HOURS", "office-hours please", True),
        ("HOURS", "hours2go", False),
        ("ADDRESS", "your address, please", True),
        ("ADDRESS", "addresses", False),
        ("opening hours", "what are your Opening   Hours", True),
        ("opening hours", "opening at hours", False),
        ("café", "le CAFÉ?", True),
    ],
)
def test_keywords_match_whole_words_in_any_case(word: str, body: str, matches: bool) -> None:
    assert keyword_matches(word, body) is matches


def test_a_keyword_is_answered_open_or_closed_every_time() -> None:
    for now in (OPEN, CLOSED):
        decision = answer("What are your hours?", now=now, last=now)
        assert decision is not None
        assert decision.kind is ReplyKind.KEYWORD
        assert decision.template == "We're open {hours}."
    inside = answer("ourshourses", now=OPEN)
    assert inside is None


def test_the_away_message_goes_only_outside_hours_once_per_window() -> None:
    assert answer("Hi, can I book?", now=OPEN) is None
    first = answer("Hi, can I book?")
    assert first is not None
    assert first.kind is ReplyKind.AWAY
    assert answer("Anyone there?", last=CLOSED - timedelta(hours=11, minutes=59)) is None
    again = answer("Anyone there?", last=CLOSED - timedelta(hours=12))
    assert again is not None
    assert again.kind is ReplyKind.AWAY


def test_once_per_hours_zero_answers_every_text() -> None:
    rules = AutoReplies(AwayMessage(True, "Closed.", once_per_hours=0))
    decision = decide(
        "hi", rules=rules, hours=HOURS, now=CLOSED, opted_out=False, last_away_at=CLOSED
    )
    assert decision is not None


def test_a_disabled_or_empty_away_message_is_never_sent() -> None:
    for away in (AwayMessage(False, "Closed."), AwayMessage(True, "   ")):
        rules = AutoReplies(away)
        assert (
            decide("hi", rules=rules, hours=HOURS, now=CLOSED, opted_out=False, last_away_at=None)
            is None
        )


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop! ",
        "UNSUBSCRIBE",
        "cancel",
        "START",
        "unstop",
        "YES",
        "HELP",
        "info.",
        "StopAll",
    ],
)
def test_twilio_keywords_never_get_an_auto_reply(body: str) -> None:
    assert answer(body) is None
    assert answer(body, now=OPEN) is None


def test_an_opted_out_customer_gets_nothing() -> None:
    assert answer("what are your hours", opted_out=True) is None
    assert answer("hello?", opted_out=True) is None
