"""Signing and TwiML parsing in the simulator agree with Twilio's own library."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from desktop.simulator.webhooks import TwimlError, TwimlReply, compute_signature, parse_reply

TOKEN = "12345678901234567890123456789012"
URL = "https://example.ngrok-free.app/twilio/sms?x=1"

params = st.lists(
    st.tuples(st.sampled_from(["Body", "From", "MediaUrl0", "To", "a", "B"]), st.text(max_size=20)),
    max_size=8,
)


@given(params)
def test_signature_validates_with_twilios_request_validator(pairs: list[tuple[str, str]]) -> None:
    signature = compute_signature(URL, pairs, TOKEN)
    assert RequestValidator(TOKEN).validate(URL, MultiDict(pairs), signature)


def test_signature_depends_on_token_url_and_every_value() -> None:
    pairs = [("Body", "hi"), ("From", "+15035550123")]
    signature = compute_signature(URL, pairs, TOKEN)
    validator = RequestValidator(TOKEN)
    assert not RequestValidator("x" * 32).validate(URL, dict(pairs), signature)
    assert not validator.validate(URL + "&y=2", dict(pairs), signature)
    assert not validator.validate(URL, {"Body": "hi!", "From": "+15035550123"}, signature)


def test_messaging_response_becomes_replies() -> None:
    twiml = MessagingResponse()
    twiml.message("Thanks!")
    message = twiml.message("", to="+15035550123", action="https://cb.example/status")
    message.body("See attached")
    message.media("https://img.example/a.png")
    assert parse_reply("text/xml; charset=utf-8", str(twiml)) == [
        TwimlReply("Thanks!"),
        TwimlReply(
            "See attached",
            ("https://img.example/a.png",),
            to="+15035550123",
            action="https://cb.example/status",
        ),
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "replies"),
    [
        ("text/xml", "<Response/>", []),
        ("application/xml", "", []),
        ("text/plain", "  Hello back ", [TwimlReply("Hello back")]),
    ],
)
def test_quiet_and_plain_text_answers(
    content_type: str, body: str, replies: list[TwimlReply]
) -> None:
    assert parse_reply(content_type, body) == replies


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("", "<Response/>", 12300),
        ("application/json", "{}", 12300),
        ("text/xml", "<Response>", 12100),
        ("text/xml", "<Nope/>", 12100),
    ],
)
def test_bad_answers_carry_twilios_error_code(content_type: str, body: str, code: int) -> None:
    with pytest.raises(TwimlError) as caught:
        parse_reply(content_type, body)
    assert caught.value.code == code
