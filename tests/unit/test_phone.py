"""Numbers as staff type them, how they are shown, and which of our numbers texts them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain.phone import (
    InvalidNumber,
    OurNumber,
    SenderChoice,
    choose_sender,
    display,
    is_short_code,
    number_kind,
    region_of,
    to_e164,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# Fictional or published example numbers that libphonenumber accepts as valid.
US_PORTLAND = "+15035550142"
US_DC = "+12025550143"
CA_TORONTO = "+14165550123"
US_TOLL_FREE = "+18005550199"
GB_LONDON = "+442079460958"
GB_MOBILE = "+447400123456"
DE_BERLIN = "+4930901820"
DE_MOBILE = "+4915123456789"
AU_MOBILE = "+61491570006"
JM_KINGSTON = "+18765550123"

# --- to_e164: what people paste ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(503) 555-0142", "US", US_PORTLAND),
        ("503.555.0142", "US", US_PORTLAND),
        ("503-555-0142", "US", US_PORTLAND),
        ("5035550142", "US", US_PORTLAND),
        ("1 (503) 555-0142", "US", US_PORTLAND),
        ("+1 503 555 0142", "GB", US_PORTLAND),
        ("  (503) 555-0142\n", "US", US_PORTLAND),
        ("(416) 555-0123", "CA", CA_TORONTO),
        ("416-555-0123", "US", CA_TORONTO),  # one numbering plan for the US and Canada
        ("1-800-555-0199", "US", US_TOLL_FREE),
        ("+44 20 7946 0958", "US", GB_LONDON),
        ("00 44 20 7946 0958", "US", GB_LONDON),  # "00" is how most of the world dials out
        ("0044 20 7946 0958", "DE", GB_LONDON),
        ("011 44 20 7946 0958", "US", GB_LONDON),  # North America's own exit code
        ("020 7946 0958", "GB", GB_LONDON),
        ("07400 123456", "GB", GB_MOBILE),
        ("030 901820", "DE", DE_BERLIN),
        ("+49 (0)30 901820", "US", DE_BERLIN),  # the "(0)" Europeans write
        ("0151 23456789", "DE", DE_MOBILE),
        ("0491 570 006", "AU", AU_MOBILE),
        ("+61 491 570 006", "us", AU_MOBILE),  # region code in any case
    ],
)
def test_accepts_numbers_as_people_write_them(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


def test_vanity_letters_are_dialled_as_digits() -> None:
    assert to_e164("1-800-FLOWERS", "US") == "+18003569377"


def test_an_extension_is_dropped_because_texts_cannot_reach_one() -> None:
    assert to_e164("+1 503 555 0142 ext. 12", "US") == US_PORTLAND


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "US", "Type the phone number to text."),
        ("   ", "US", "Type the phone number to text."),
        ("503-555-014", "US", "That number is too short for the United States."),
        ("911", "US", "That number is too short for the United States."),
        ("503-555-01422", "US", "That number is too long for the United States."),
        ("020 7946 09581", "GB", "That number is too long for the United Kingdom."),
        ("+49 30", "US", "That number is too short for Germany."),
        ("555-0142", "US", "That number is missing its area code."),
        ("+999 123 4567", "US", "+999 is not a country code."),
        ("00 999 123 4567", "US", "+999 is not a country code."),
        ("hello", "US", "That doesn't look like a phone number."),
        ("call me", "US", "That doesn't look like a phone number."),
        ("abc123", "US", "That doesn't look like a phone number."),
        ("+", "US", "Type the whole number after the +"),
        ("+44", "US", "Type the whole number after the +"),
        ("12345", "US", "12345 looks like a short code."),
        ("12 345", "GB", "12345 looks like a short code."),
        ("+1 555 555 5555", "US", "That is not a valid number in the United States."),
        ("1234567890123456789", "US", "That number is too long to be a phone number."),
        ("5035550142", "ZZ", "Start the number with + and its country code"),
    ],
)
def test_rejections_say_what_is_wrong(raw: str, region: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        to_e164(raw, region)
    assert str(caught.value).startswith(reason)


def test_a_foreign_number_typed_without_plus_gets_a_hint() -> None:
    with pytest.raises(InvalidNumber) as caught:
        to_e164("44 20 7946 0958", "US")
    assert str(caught.value) == (
        "That number is too long for the United States. Check for an extra digit. "
        "If it is from another country, start it with + and the country code."
    )


def test_no_foreign_hint_when_the_digits_mean_nothing_abroad() -> None:
    with pytest.raises(InvalidNumber) as caught:
        to_e164("503-555-01", "US")
    assert "another country" not in str(caught.value)


def test_short_code_message_tells_staff_what_to_do_instead() -> None:
    with pytest.raises(InvalidNumber, match="cannot text short codes; type the full phone number"):
        to_e164("12345", "US")


def test_invalid_number_is_a_value_error() -> None:
    # Callers that only know ValueError (form validation, CLI) still catch it.
    with pytest.raises(ValueError, match="too short"):
        to_e164("503", "US")


@given(st.text(max_size=40), st.sampled_from(["US", "GB", "DE", "AU", "CA"]))
def test_any_input_gives_e164_or_a_plain_sentence(raw: str, region: str) -> None:
    try:
        result = to_e164(raw, region)
    except InvalidNumber as error:
        message = str(error)
        assert message[:1].isupper() or message[:1] in "+0123456789"
        assert message.endswith(".")
        assert "NumberParseException" not in message
        assert "(" not in message[:3]  # not phonenumbers' "(1) The string supplied…"
    else:
        assert result.startswith("+")
        assert result[1:].isdigit()
        assert to_e164(result, region) == result  # E.164 reads back as itself


# --- region_of ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "region"),
    [
        (US_PORTLAND, "US"),
        (CA_TORONTO, "CA"),
        (GB_LONDON, "GB"),
        (DE_MOBILE, "DE"),
        (AU_MOBILE, "AU"),
        (JM_KINGSTON, "JM"),
        ("+15555555555", "US"),  # no such area code, but still a +1 number
    ],
)
def test_region_of(e164: str, region: str) -> None:
    assert region_of(e164) == region


@pytest.mark.parametrize("value", ["12345", "ACME", "", "+", "+80012345678", "5035550142"])
def test_region_of_things_that_are_not_national_numbers(value: str) -> None:
    assert region_of(value) is None


# --- display -------------------------------------------------------------------------


def test_home_numbers_are_shown_the_way_locals_write_them() -> None:
    assert display(US_PORTLAND, "US") == "(503) 555-0142"
    assert display(GB_LONDON, "GB") == "020 7946 0958"
    assert display(DE_MOBILE, "DE") == "01512 3456789"


def test_foreign_numbers_are_shown_with_their_country_code() -> None:
    assert display(GB_LONDON, "US") == "+44 20 7946 0958"
    assert display(US_PORTLAND, "GB") == "+1 503-555-0142"
    assert display(US_PORTLAND) == "+1 503-555-0142"


def test_us_and_canadian_numbers_share_a_local_format() -> None:
    assert display(CA_TORONTO, "US") == "(416) 555-0123"
    assert display(US_PORTLAND, "CA") == "(503) 555-0142"


@pytest.mark.parametrize(
    "value", ["12345", "ACME", "Acme Dental", "whatsapp:+15035550142", "", "+1"]
)
def test_anything_but_a_phone_number_is_shown_unchanged(value: str) -> None:
    assert display(value, "US") == value


# --- is_short_code ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["12345", "123456", "898287", "12 345", "1234"])
def test_short_codes(value: str) -> None:
    assert is_short_code(value)


@pytest.mark.parametrize(
    "value", [US_PORTLAND, "+12345", "5550142", "ACME", "", "911", "1234567", "12a45"]
)
def test_not_short_codes(value: str) -> None:
    assert not is_short_code(value)


# --- number_kind --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "kind"),
    [
        (GB_MOBILE, "mobile"),
        (DE_MOBILE, "mobile"),
        (AU_MOBILE, "mobile"),
        (GB_LONDON, "landline"),
        (DE_BERLIN, "landline"),
        (US_TOLL_FREE, "toll-free"),
        ("+18885550100", "toll-free"),
        ("+448001234567", "toll-free"),
        (US_PORTLAND, "fixed or mobile"),  # North American numbers do not say
        (CA_TORONTO, "fixed or mobile"),
        ("12345", "unknown"),
        ("ACME", "unknown"),
        ("+15555555555", "unknown"),
    ],
)
def test_number_kind(e164: str, kind: str) -> None:
    assert number_kind(e164) == kind


# --- choose_sender ------------------------------------------------------------------

PORTLAND = OurNumber(US_PORTLAND, sms=True, mms=True, friendly_name="Front desk")
WASHINGTON = OurNumber(US_DC, sms=True, mms=True)
TORONTO = OurNumber("+16135550123", sms=True, mms=True)
LONDON = OurNumber("+442071838750", sms=True, mms=False)
TOLL_FREE = OurNumber(US_TOLL_FREE, sms=True, mms=True)
SHORT_CODE = OurNumber("12345", sms=True, mms=True)
VOICE_ONLY = OurNumber("+15035550100", sms=False, mms=False)


def test_our_number_in_the_customers_country_is_used_without_fuss() -> None:
    assert choose_sender(GB_MOBILE, [PORTLAND, LONDON]) == SenderChoice(LONDON, None)
    assert choose_sender(US_PORTLAND, [LONDON, PORTLAND]) == SenderChoice(PORTLAND, None)


def test_the_first_listed_number_wins_a_tie() -> None:
    assert choose_sender(US_PORTLAND, [WASHINGTON, PORTLAND]).number == WASHINGTON
    assert choose_sender(US_PORTLAND, [PORTLAND, WASHINGTON]).number == PORTLAND


def test_canadian_customer_prefers_a_canadian_number_but_a_us_one_is_fine() -> None:
    assert choose_sender(CA_TORONTO, [PORTLAND, TORONTO]) == SenderChoice(TORONTO, None)
    assert choose_sender(CA_TORONTO, [PORTLAND]) == SenderChoice(PORTLAND, None)


def test_long_code_is_preferred_to_toll_free_then_toll_free_is_fine() -> None:
    assert choose_sender(US_PORTLAND, [TOLL_FREE, PORTLAND]).number == PORTLAND
    assert choose_sender(US_PORTLAND, [TOLL_FREE]) == SenderChoice(TOLL_FREE, None)


def test_numbers_that_cannot_text_are_never_chosen() -> None:
    assert choose_sender(US_PORTLAND, [VOICE_ONLY, LONDON]).number == LONDON


def test_foreign_number_comes_with_a_plain_warning() -> None:
    choice = choose_sender(GB_MOBILE, [PORTLAND])
    assert choice.number == PORTLAND
    assert choice.warning == (
        "You have no number in the United Kingdom that can text, so this will go out from "
        "+1 503-555-0142 in the United States. International texts cost more and may not "
        "arrive; Twilio recommends a number in the customer's country."
    )


def test_caribbean_numbers_are_international_even_with_plus_one() -> None:
    choice = choose_sender(JM_KINGSTON, [PORTLAND])
    assert choice.number == PORTLAND
    assert choice.warning is not None
    assert "no number in Jamaica" in choice.warning


def test_short_code_is_used_with_a_warning_when_it_is_all_we_have() -> None:
    choice = choose_sender(US_PORTLAND, [SHORT_CODE])
    assert choice.number == SHORT_CODE
    assert choice.warning == (
        "This will go out from your short code 12345. "
        "Short codes can only text phones in their own country."
    )


def test_short_code_never_beats_a_local_number() -> None:
    assert choose_sender(US_PORTLAND, [SHORT_CODE, TOLL_FREE]).number == TOLL_FREE


def test_a_long_code_from_abroad_beats_a_short_code_that_cannot_text_abroad() -> None:
    choice = choose_sender(DE_MOBILE, [SHORT_CODE, PORTLAND])
    assert choice.number == PORTLAND
    assert choice.warning is not None
    assert "no number in Germany" in choice.warning


def test_toll_free_abroad_is_the_last_resort_and_says_so() -> None:
    choice = choose_sender(AU_MOBILE, [TOLL_FREE, LONDON])
    assert choice.number == LONDON
    only_toll_free = choose_sender(AU_MOBILE, [TOLL_FREE])
    assert only_toll_free.number == TOLL_FREE
    assert only_toll_free.warning is not None
    assert "can usually text only the US and Canada" in only_toll_free.warning


def test_no_numbers_that_can_text() -> None:
    choice = choose_sender(US_PORTLAND, [VOICE_ONLY])
    assert choice.number is None
    assert choice.warning == (
        "None of your Twilio numbers can send text messages. "
        "Use a number with SMS turned on in the Twilio Console."
    )


def test_no_numbers_at_all() -> None:
    choice = choose_sender(US_PORTLAND, [])
    assert choice.number is None
    assert choice.warning is not None
    assert "no phone numbers yet" in choice.warning


def test_unknown_recipient_gets_our_best_number_without_a_country_warning() -> None:
    assert choose_sender("not a number", [SHORT_CODE, PORTLAND]) == SenderChoice(PORTLAND, None)


def test_our_number_is_a_reusable_value() -> None:
    assert OurNumber(US_PORTLAND, sms=True, mms=False).friendly_name == ""
    assert (
        len({PORTLAND, OurNumber(US_PORTLAND, sms=True, mms=True, friendly_name="Front desk")}) == 1
    )
    with pytest.raises(AttributeError):
        PORTLAND.sms = False  # type: ignore[misc]


def test_less_common_countries_are_named_too() -> None:
    with pytest.raises(InvalidNumber, match=r"^That number is too short for Kenya\."):
        to_e164("+254 712 345", "US")
    cayman = choose_sender("+13455550123", [PORTLAND])
    assert cayman.warning is not None
    assert "no number in the Cayman Islands" in cayman.warning


def test_importing_does_not_load_the_slow_geocoder() -> None:
    # The geocoder's data takes about half a second to import: keep it off app start.
    code = "import sys, desktop.domain.phone; sys.exit('phonenumbers.geocoder' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO_ROOT)
    assert result.returncode == 0
