"""Quick replies: placeholders filled, unknown ones left visible, `/` lookup."""

from __future__ import annotations

import pytest

from desktop.domain.quick_replies import (
    QuickReply,
    RenderContext,
    lookup,
    render,
    unknown_placeholders,
)

CONTEXT = RenderContext(
    name="Maria Alvarez", business="Demo Dental Care", hours="Mon–Fri 9:00–17:00"
)


def test_known_placeholders_are_filled() -> None:
    text = render("Hi {first_name}! {business} is open {hours}. See you, {name}.", CONTEXT)
    assert text == "Hi Maria! Demo Dental Care is open Mon–Fri 9:00–17:00. See you, Maria Alvarez."


@pytest.mark.parametrize(
    "template",
    [
        "{",
        "}",
        "{}",
        "{{first_name}}",
        "{ first_name }",
        "Bring {Friday} forms",
        "{0}",
        "{name",
        "a}b{c",
    ],
)
def test_braces_that_are_not_placeholders_stay_as_typed(template: str) -> None:
    rendered = render(template, CONTEXT)
    assert rendered == template.replace("{first_name}", "Maria")


def test_an_unknown_placeholder_stays_visible_and_is_reported() -> None:
    assert render("Hi {firstname}, {first_name}", CONTEXT) == "Hi {firstname}, Maria"
    assert unknown_placeholders("{firstname} {name} {firstname} {when}") == ["firstname", "when"]


def test_a_missing_value_stays_visible_in_the_composer_and_is_dropped_in_auto_replies() -> None:
    nameless = RenderContext(business="Demo Dental Care")
    assert render("Hi {first_name}, thanks!", nameless) == "Hi {first_name}, thanks!"
    assert render("Hi {first_name}, thanks!", nameless, keep_missing=False) == "Hi, thanks!"
    assert render("Hi  {name} !\nBye", nameless, keep_missing=False) == "Hi!\nBye"


REPLIES = [
    QuickReply("Directions", "We're at 12 Main St, parking behind the building."),
    QuickReply("Appointment confirmed", "You're booked, {first_name}!"),
    QuickReply("Running late", "We're running about 15 minutes late today."),
    QuickReply("Insurance", "We take most dental plans."),
    QuickReply("Dir", "Short one."),
]


def names(found: list[QuickReply]) -> list[str]:
    return [r.name for r in found]


def test_lookup_prefers_exact_then_prefix_then_word_then_letters_then_text() -> None:
    assert names(lookup("/dir", REPLIES)) == ["Dir", "Directions"]
    assert names(lookup("conf", REPLIES)) == ["Appointment confirmed"]  # a word of the name
    assert names(lookup("apt", REPLIES)) == ["Appointment confirmed"]  # letters in order
    assert names(lookup("parking", REPLIES)) == ["Directions"]  # only the text has it
    assert names(lookup("RUN", REPLIES)) == ["Running late"]
    assert lookup("zzz", REPLIES) == []


def test_an_empty_lookup_lists_every_reply_in_order_up_to_the_limit() -> None:
    assert names(lookup("/", REPLIES)) == [r.name for r in REPLIES]
    assert len(lookup("", REPLIES, limit=2)) == 2
