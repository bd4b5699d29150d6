"""Recognising the replies Twilio acts on, so the thread can say what happened."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain.optout import (
    HELP_WORDS,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    Keyword,
    classify,
    keyword_for,
)


@pytest.mark.parametrize(
    "body",
    ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"],
)
def test_twilios_opt_out_words(body: str) -> None:
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["START", "YES", "UNSTOP"])
def test_twilios_opt_in_words(body: str) -> None:
    assert classify(body) is Keyword.OPT_IN


@pytest.mark.parametrize("body", ["HELP", "INFO"])
def test_twilios_help_words(body: str) -> None:
    assert classify(body) is Keyword.HELP


@pytest.mark.parametrize(
    "body",
    ["stop", "Stop", "sToP", " STOP ", "\tstop\n", "STOP.", "Stop!", "stop!!!", "Stop?", "STOP !"],
)
def test_case_whitespace_and_trailing_punctuation_do_not_matter(body: str) -> None:
    assert classify(body) is Keyword.OPT_OUT


def test_phone_added_trailing_punctuation_on_other_keywords() -> None:
    assert classify("Yes!") is Keyword.OPT_IN
    assert classify("help?") is Keyword.HELP
    assert classify("Unsubscribe…") is Keyword.OPT_OUT  # a typographic ellipsis


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "STOP PLEASE",
        "stop it",
        "PLEASE CANCEL",
        "STOP ALL",
        "Can you help?",
        "yes please",
        "I'll be there at the end",
        "stopped",
        "stopp",
        "unstoppable",
        "OPT-OUT",  # not one of Twilio's words
        "ARRET",  # Twilio's default list is English only
        "",
        "   ",
        "!!!",
        "🛑",
        "STOP 🛑",
        "quıt",  # dotless i: looks like QUIT to str.upper(), not to Twilio
    ],
)
def test_anything_else_is_an_ordinary_message(body: str) -> None:
    assert classify(body) is Keyword.NONE


def test_leading_punctuation_is_not_trimmed() -> None:
    # Twilio matches the word alone; only what phones append after it is forgiven.
    assert classify("...stop") is Keyword.NONE


def test_keyword_sets_are_disjoint() -> None:
    assert not OPT_OUT_WORDS & OPT_IN_WORDS
    assert not OPT_OUT_WORDS & HELP_WORDS
    assert not OPT_IN_WORDS & HELP_WORDS


@given(st.text(max_size=30))
def test_multi_word_messages_are_never_keywords(text: str) -> None:
    assert classify(f"STOP {text} x") is Keyword.NONE


@given(st.sampled_from(sorted(OPT_OUT_WORDS)), st.sampled_from([".", "!", "!!", " .", "?!", ""]))
def test_every_opt_out_word_survives_casing_and_punctuation(word: str, tail: str) -> None:
    assert classify(f"  {word.lower()}{tail}  ") is Keyword.OPT_OUT
    assert classify(word.title() + tail) is Keyword.OPT_OUT


@pytest.mark.parametrize(
    ("body", "opt_out_type", "expected"),
    [
        ("ARRET", "STOP", Keyword.OPT_OUT),  # a service's custom keyword
        ("reprendre", "start", Keyword.OPT_IN),
        ("AIDE", "HELP", Keyword.HELP),
        ("STOP", "", Keyword.OPT_OUT),  # no verdict: the default words still count
        ("ARRET", "", Keyword.NONE),
        ("ARRET", "SOMETHING-NEW", Keyword.NONE),
    ],
)
def test_advanced_opt_out_type_wins_over_the_words(
    body: str, opt_out_type: str, expected: Keyword
) -> None:
    assert keyword_for(body, opt_out_type) is expected
