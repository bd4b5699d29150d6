"""The front-desk setup file: the DESIGN.md shape, unknown keys kept, bad files refused whole."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from typing import Any

import pytest

from desktop.domain.frontdesk_setup import (
    SetupFileError,
    checked,
    default_setup,
    dump_setup,
    load_setup,
    parse_setup,
    setup_to_json,
)
from desktop.domain.quick_replies import QuickReply

FULL: dict[str, Any] = {
    "quick_replies": [
        {"name": "Directions", "text": "We're at 12 Main St."},
        {"name": "Confirm", "text": "See you soon, {first_name}!"},
    ],
    "business_hours": {
        "time_zone": "America/Chicago",
        "weekly": {
            "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
            "tue": [["08:00", "17:00"]],
            "wed": [],
            "thu": [["08:00", "17:00"]],
            "fri": [["22:00", "02:00"]],
            "sat": [["09:00", "24:00"]],
            "sun": [],
        },
        "closed_dates": ["2026-12-25", "2026-12-24"],
    },
    "auto_replies": {
        "away": {"enabled": True, "text": "Closed now. Hours: {hours}", "once_per_hours": 12},
        "keywords": [
            {"word": "HOURS", "text": "{hours}"},
            {"word": "ADDRESS", "text": "12 Main St."},
        ],
    },
}


def test_a_full_file_reads_into_the_typed_value_and_writes_back_the_same() -> None:
    setup = parse_setup(copy.deepcopy(FULL))
    assert setup.quick_replies[1] == QuickReply("Confirm", "See you soon, {first_name}!")
    assert setup.business_hours.time_zone == "America/Chicago"
    assert date(2026, 12, 25) in setup.business_hours.closed_dates
    assert setup.business_hours.weekly[4][0].overnight
    assert setup.auto_replies.away.once_per_hours == 12
    assert [k.word for k in setup.auto_replies.keywords] == ["HOURS", "ADDRESS"]
    written = setup_to_json(setup)
    expected = copy.deepcopy(FULL)
    expected["business_hours"]["closed_dates"].sort()
    assert written == expected
    assert load_setup(dump_setup(setup)) == setup


def test_unknown_keys_survive_a_round_trip_at_every_level() -> None:
    data = copy.deepcopy(FULL)
    data["signature"] = {"text": "— The front desk"}
    data["business_hours"]["holiday_note"] = "Closed for the holidays"
    data["auto_replies"]["delay_s"] = 5
    data["auto_replies"]["away"]["channels"] = ["sms"]
    data["quick_replies"][0]["emoji"] = "📍"
    data["auto_replies"]["keywords"][1]["match"] = "exact"
    setup = parse_setup(data)
    again = json.loads(dump_setup(load_setup(dump_setup(setup))))
    assert again["signature"] == {"text": "— The front desk"}
    assert again["business_hours"]["holiday_note"] == "Closed for the holidays"
    assert again["auto_replies"]["delay_s"] == 5
    assert again["auto_replies"]["away"]["channels"] == ["sms"]
    assert again["quick_replies"][0]["emoji"] == "📍"
    assert "emoji" not in again["quick_replies"][1]
    assert again["auto_replies"]["keywords"][1]["match"] == "exact"


def test_an_edited_value_keeps_the_unknown_keys_of_items_it_kept() -> None:
    import dataclasses

    data = copy.deepcopy(FULL)
    data["quick_replies"][1]["emoji"] = "✅"
    setup = parse_setup(data)
    edited = checked(dataclasses.replace(setup, quick_replies=setup.quick_replies[1:]))
    assert setup_to_json(edited)["quick_replies"] == [
        {"emoji": "✅", "name": "Confirm", "text": "See you soon, {first_name}!"}
    ]


def test_left_out_sections_take_the_defaults() -> None:
    defaults = default_setup("Europe/Paris")
    setup = parse_setup({"quick_replies": [{"name": "Hi", "text": "Hello!"}]}, defaults)
    assert setup.business_hours == defaults.business_hours
    assert setup.auto_replies == defaults.auto_replies
    assert parse_setup({}, defaults) == defaults


def test_the_default_is_weekdays_nine_to_five_with_nothing_automatic() -> None:
    setup = default_setup("America/Chicago")
    assert not setup.auto_replies.away.enabled
    assert setup.business_hours.describe() == "Mon–Fri 9:00–17:00; closed Sat, Sun"
    assert load_setup(dump_setup(setup)) == setup


def broken(path: list[str | int], value: object) -> dict[str, Any]:
    data = copy.deepcopy(FULL)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            broken(["quick_replies", 0, "name"], 3),
            "quick_replies[0].name: expected text, found a whole number",
        ),
        (
            broken(["quick_replies", 0, "text"], _DELETE),
            'quick_replies[0]: the key "text" is missing',
        ),
        (
            broken(["quick_replies", 1, "name"], " directions "),
            "already a quick reply called 'directions'",
        ),
        (broken(["quick_replies", 0, "name"], ""), "quick_replies[0].name is empty"),
        (broken(["quick_replies"], {"a": 1}), "quick_replies: expected a list"),
        (
            broken(["business_hours", "time_zone"], "Chicago"),
            "business_hours.time_zone: 'Chicago' is not a time zone",
        ),
        (
            broken(["business_hours", "time_zone"], _DELETE),
            'business_hours: the key "time_zone" is missing',
        ),
        (broken(["business_hours", "weekly", "tues"], []), '"tues" is not a weekday'),
        (
            broken(["business_hours", "weekly", "mon", 0], ["08:00"]),
            'expected a pair like ["08:00", "17:00"]',
        ),
        (broken(["business_hours", "weekly", "mon", 1], ["11:00", "14:00"]), "overlap"),
        (
            broken(["business_hours", "weekly", "tue", 0], ["8", "17:00"]),
            "business_hours.weekly.tue[0]: '8' is not a time",
        ),
        (
            broken(["business_hours", "closed_dates", 0], "25/12/2026"),
            "closed_dates[0]: '25/12/2026' is not a date",
        ),
        (broken(["business_hours", "closed_dates", 0], "20261225"), "is not a date"),
        (
            broken(["auto_replies", "away", "enabled"], "yes"),
            "auto_replies.away.enabled: expected true or false, found text",
        ),
        (broken(["auto_replies", "away", "once_per_hours"], -1), "once_per_hours must be between"),
        (
            broken(["auto_replies", "away", "once_per_hours"], "12"),
            "once_per_hours: expected a number, found text",
        ),
        (
            broken(["auto_replies", "away", "text"], ""),
            "empty although the away message is enabled",
        ),
        (
            broken(["auto_replies", "away", "text"], "Hi {firstname}"),
            "uses {firstname}, which is not a placeholder",
        ),
        (broken(["auto_replies", "keywords", 0, "word"], "STOP"), "one of Twilio's own keywords"),
        (broken(["auto_replies", "keywords", 0, "word"], "help!"), "one of Twilio's own keywords"),
        (broken(["auto_replies", "keywords", 1, "word"], "hours"), "has a rule already"),
        (
            broken(["auto_replies", "keywords", 0, "text"], "x" * 1601),
            "longer than the 1600 characters",
        ),
        ([1, 2], "one JSON object"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_reason(data: object, reason: str) -> None:
    with pytest.raises(SetupFileError, match=re.escape(reason)):
        parse_setup(data)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON: .* line 1, column 2"),
        (b"\xff\xfe{}", "not (text|valid JSON)"),
        ("[]", "one JSON object"),
    ],
)
def test_unreadable_text_is_refused(text: str | bytes, reason: str) -> None:
    with pytest.raises(SetupFileError, match=reason):
        load_setup(text)
