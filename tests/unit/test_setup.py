"""The rules behind the setup wizard and the settings dialog, without Qt."""

from __future__ import annotations

import pytest

from desktop.config import TunnelMode, WebhookPolicy
from desktop.setup import (
    POLL_MAX_S,
    POLL_MIN_S,
    InputProblem,
    SetupResult,
    TunnelChoice,
    TwilioLogin,
    account_sid_problem,
    api_key_problem,
    auth_token_problem,
    capabilities_text,
    ngrok_authtoken_problem,
    normalize_ngrok_domain,
    normalize_public_url,
    poll_interval_problem,
    tunnel_summary,
    webhook_elsewhere,
)

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "5f1c" * 8
API_SECRET = "s3cr3t-api-secret-value"
NGROK_TOKEN = "2abcDEFghiJKLmnoPQRstu_3vwxYZ"


def test_tunnel_choices_match_the_settings_values() -> None:
    assert {c.value for c in TunnelChoice} == {m.value for m in TunnelMode}


def test_secrets_never_appear_in_repr() -> None:
    login = TwilioLogin(SID, TOKEN, "SK" + "1" * 32, API_SECRET)
    result = SetupResult(
        login=login,
        phone_number="+15035550100",
        number_sid="PN" + "1" * 32,
        tunnel=TunnelChoice.NGROK,
        ngrok_authtoken=NGROK_TOKEN,
        ngrok_domain="",
        public_url="",
        poll_interval_s=15,
        take_over_foreign_webhook=False,
        webhook_policy=WebhookPolicy.KEEP.value,
    )
    for text in (repr(login), repr(result), str(result), f"{login}"):
        assert TOKEN not in text
        assert API_SECRET not in text
        assert NGROK_TOKEN not in text
    assert SID in repr(login), "the SID is not secret and helps support"


def test_pasted_credentials_are_stripped() -> None:
    login = TwilioLogin(f" {SID}\n", f"{TOKEN} ", " ", "").stripped()
    assert login == TwilioLogin(SID, TOKEN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SID, None),
        (f"  {SID}  ", None),
        ("", "Paste your Account SID"),
        ("SK" + "0" * 32, "starts with AC"),
        (SID[:-1], "32 letters and digits"),
        (SID[:-1] + "z", "32 letters and digits"),
    ],
)
def test_account_sid_problem(text: str, expected: str | None) -> None:
    problem = account_sid_problem(text)
    assert problem is None if expected is None else expected in (problem or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(TOKEN, None), ("", "Paste your Auth Token"), (TOKEN[:-2], "32 letters and digits")],
)
def test_auth_token_problem(text: str, expected: str | None) -> None:
    problem = auth_token_problem(text)
    assert problem is None if expected is None else expected in (problem or "")


def test_api_key_is_all_or_nothing() -> None:
    key = "SK" + "a" * 32
    assert api_key_problem("", "") is None
    assert api_key_problem(key, API_SECRET) is None
    assert "starts with SK" in (api_key_problem("", API_SECRET) or "")
    assert "secret" in (api_key_problem(key, "") or "")
    assert "SK followed by 32" in (api_key_problem("AC" + "a" * 32, API_SECRET) or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://texts.example.com", "https://texts.example.com"),
        ("  https://Texts.Example.com/  ", "https://texts.example.com"),
        ("https://texts.example.com/twilio/sms", "https://texts.example.com"),
        ("https://example.com:8443/office/", "https://example.com:8443/office"),
        ("https://example.com/office/twilio/sms/", "https://example.com/office"),
    ],
)
def test_public_url_is_normalised(text: str, expected: str) -> None:
    assert normalize_public_url(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Type the public address"),
        ("texts.example.com", "Start the address with https://"),
        ("http://texts.example.com", "must start with https://, not http://"),
        ("ftp://texts.example.com", "Start the address with https://"),
        ("https://user:pw@texts.example.com", "user name and password"),
        ("https://texts.example.com/?a=1", "after a ? or #"),
        ("https://", "no web site name"),
        ("https://localhost:5000", "only works on this computer"),
        ("https://127.0.0.1", "only works on this computer"),
        ("https://192.168.1.20", "only works on this computer"),
        ("https://intranet", "full web site name"),
    ],
)
def test_public_url_problems(text: str, expected: str) -> None:
    with pytest.raises(InputProblem, match=expected.replace("?", r"\?")):
        normalize_public_url(text)


def test_ngrok_domain() -> None:
    assert normalize_ngrok_domain("") == ""
    assert normalize_ngrok_domain("  ") == ""
    assert normalize_ngrok_domain("https://Rosies.ngrok-free.app/") == "rosies.ngrok-free.app"
    assert normalize_ngrok_domain("rosies.ngrok-free.app") == "rosies.ngrok-free.app"
    with pytest.raises(InputProblem, match="not a domain name"):
        normalize_ngrok_domain("rosies ngrok")


def test_ngrok_authtoken() -> None:
    assert ngrok_authtoken_problem(NGROK_TOKEN) is None
    assert "Paste your ngrok authtoken" in (ngrok_authtoken_problem("") or "")
    assert ngrok_authtoken_problem("", token_stored=True) is None
    assert "does not look like" in (ngrok_authtoken_problem("short") or "")
    assert "does not look like" in (ngrok_authtoken_problem(NGROK_TOKEN + " x") or "")


def test_poll_interval_bounds() -> None:
    assert poll_interval_problem(POLL_MIN_S) is None
    assert poll_interval_problem(POLL_MAX_S) is None
    assert poll_interval_problem(15) is None
    assert "at most every 5 seconds" in (poll_interval_problem(POLL_MIN_S - 1) or "")
    assert "once an hour" in (poll_interval_problem(POLL_MAX_S + 1) or "")


@pytest.mark.parametrize(
    ("sms_url", "elsewhere"),
    [
        ("", False),
        ("   ", False),
        ("https://demo.twilio.com/welcome/sms/reply", False),
        ("https://old-session.ngrok-free.app/twilio/sms", False),
        ("https://crm.example.com/hooks/sms", True),
        ("https://handler.twilio.com/twiml/EH123", True),
    ],
)
def test_webhook_elsewhere(sms_url: str, elsewhere: bool) -> None:
    assert (webhook_elsewhere(sms_url) is not None) is elsewhere
    if elsewhere:
        assert webhook_elsewhere(sms_url) == sms_url


def test_capabilities_text() -> None:
    assert capabilities_text(True, True) == "Texts and pictures"
    assert capabilities_text(True, False) == "Texts only (no pictures)"
    assert capabilities_text(False, False) == "Cannot text"


def test_tunnel_summary() -> None:
    assert tunnel_summary(TunnelChoice.NGROK) == "Instantly, through ngrok."
    assert (
        tunnel_summary(TunnelChoice.NGROK, ngrok_domain="rosies.ngrok-free.app")
        == "Instantly, through ngrok at https://rosies.ngrok-free.app."
    )
    assert (
        tunnel_summary(TunnelChoice.PUBLIC_URL, public_url="https://texts.example.com")
        == "Instantly, at https://texts.example.com/twilio/sms."
    )
    poll = tunnel_summary(TunnelChoice.POLL, poll_interval_s=30)
    assert poll.startswith("Within 30 seconds")
    assert "Automatic replies are off" in poll
