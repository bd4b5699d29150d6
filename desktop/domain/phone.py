"""Phone numbers as people type them, and which of our numbers should text them.

Staff paste numbers from email signatures, spreadsheets and caller ID in every shape;
Twilio wants E.164.  When a number is wrong, the message must say what is wrong in
words a receptionist can act on ("missing its area code"), not a library error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
)
from phonenumbers.phonenumberutil import ValidationResult

logger = logging.getLogger(__name__)

__all__ = [
    "InvalidNumber",
    "OurNumber",
    "SenderChoice",
    "choose_sender",
    "country_name",
    "display",
    "is_short_code",
    "number_kind",
    "region_of",
    "to_e164",
]

_E164_RE: Final = re.compile(r"\+[1-9]\d{1,14}")
#: SMS short codes have 4 to 6 digits (5 or 6 in the US and Canada, 5 in the UK); three
#: digits are service numbers such as 911, which cannot be texted either.
_SHORT_CODE_RE: Final = re.compile(r"\d{4,6}")
_SEPARATORS_RE: Final = re.compile(r"[\s().\-]")
_LETTERS_RE: Final = re.compile(r"[^\W\d_]")
#: North American regions where Twilio's US and Canadian numbers text as if at home.
_NANP_DOMESTIC: Final = frozenset({"US", "CA", "PR", "VI", "GU", "AS", "MP"})

_KINDS: Final[dict[int, str]] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed or mobile",
}


class InvalidNumber(ValueError):
    """A typed number we cannot send to; ``str(error)`` is shown to staff as is."""


@dataclass(frozen=True, slots=True)
class OurNumber:
    """One of the account's senders, as ``IncomingPhoneNumbers`` (or ``ShortCodes``) lists it."""

    e164: str
    sms: bool
    mms: bool
    friendly_name: str = ""


@dataclass(frozen=True, slots=True)
class SenderChoice:
    """Which of our numbers to text from; ``number`` is None when none of them can text.

    ``warning`` is a sentence for staff when the choice is likely to cost more, fail or
    surprise the customer; None when the choice is the obvious one.
    """

    number: OurNumber | None
    warning: str | None = None


def to_e164(raw: str, default_region: str) -> str:
    """Read a number as typed; numbers without a country code belong to ``default_region``.

    Raises :class:`InvalidNumber` with a reason staff can act on.
    """
    text = raw.strip()
    region = default_region.strip().upper()
    if not text:
        raise InvalidNumber("Type the phone number to text.")
    compact = _SEPARATORS_RE.sub("", text)
    international = compact.startswith(("+", "00"))

    # "00" is the international prefix almost everywhere, though not in North America.
    attempts: list[tuple[str, str | None]] = [(text, region)]
    if compact.startswith("00"):
        attempts.append(("+" + compact[2:], None))
    number: PhoneNumber | None = None
    error: NumberParseException | None = None
    for candidate, candidate_region in attempts:
        try:
            number, error = phonenumbers.parse(candidate, candidate_region), None
        except NumberParseException as exc:
            number, error = None, exc
            continue
        if phonenumbers.is_valid_number(number):
            return _e164(number)

    if number is None:
        assert error is not None
        raise InvalidNumber(_parse_error_reason(error, compact)) from None
    raise InvalidNumber(_invalid_reason(number, compact, region, international))


def region_of(e164: str) -> str | None:
    """The country ("US", "GB"…) a number belongs to, or None when it has none.

    A number that is not valid (a made-up area code, say) still gets the main country of
    its calling code, because that is where Twilio would route and bill it.
    """
    number = _parse_e164(e164)
    if number is None:
        return None
    region = phonenumbers.region_code_for_number(number)
    if not region:
        region = phonenumbers.region_code_for_country_code(_calling_code(number))
    return _real_region(region)


def display(e164: str, home_region: str | None = None) -> str:
    """How staff should read a number: "(503) 555-0142" at home, "+44 20 7946 0958" abroad.

    Anything that is not an E.164 phone number (a short code, an alphanumeric sender ID,
    a channel address) comes back unchanged.
    """
    number = _parse_e164(e164)
    if number is None or not phonenumbers.is_possible_number(number):
        return e164
    if home_region and _calling_code(number) == phonenumbers.country_code_for_region(
        home_region.upper()
    ):
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def is_short_code(number: str) -> bool:
    """True for an SMS short code such as "12345" (never for a number with a "+")."""
    return _SHORT_CODE_RE.fullmatch(_SEPARATORS_RE.sub("", number.strip())) is not None


def number_kind(e164: str) -> str:
    """ "mobile", "landline", "toll-free", "fixed or mobile" (the US and Canada do not
    say) or "unknown"; texts to a landline usually go nowhere, so staff are warned."""
    number = _parse_e164(e164)
    if number is None or not phonenumbers.is_valid_number(number):
        return "unknown"
    return _KINDS.get(phonenumbers.number_type(number), "unknown")


def choose_sender(recipient_e164: str, ours: Sequence[OurNumber]) -> SenderChoice:
    """Pick the number to text ``recipient_e164`` from, as Twilio advises: one in the
    recipient's country, a long code before a toll-free number; failing that a long code
    from abroad, then a short code.

    Ties go to the number listed first, so callers put the user's preferred number first.
    Replies in an existing conversation should keep using that conversation's number.
    """
    if not ours:
        return SenderChoice(
            None,
            "Your Twilio account has no phone numbers yet. Buy one in the Twilio Console "
            "to start texting.",
        )
    texting = [number for number in ours if number.sms]
    if not texting:
        return SenderChoice(
            None,
            "None of your Twilio numbers can send text messages. Use a number with SMS "
            "turned on in the Twilio Console.",
        )

    recipient_zone = _zone(recipient_e164)
    recipient_region = region_of(recipient_e164)

    def rank(candidate: OurNumber) -> int:
        if is_short_code(candidate.e164):
            return _SHORT_CODE
        if _parse_e164(candidate.e164) is None:
            return _SENDER_ID
        toll_free = number_kind(candidate.e164) == "toll-free"
        zone = _zone(candidate.e164)
        if recipient_zone is None or zone == recipient_zone:
            if toll_free:
                return _LOCAL_TOLL_FREE
            exact = recipient_region is None or region_of(candidate.e164) == recipient_region
            return _LOCAL_EXACT if exact else _LOCAL
        return _FOREIGN_TOLL_FREE if toll_free else _FOREIGN

    best_rank, _, best = min((rank(n), index, n) for index, n in enumerate(texting))
    warning = _sender_warning(best, best_rank, recipient_e164, recipient_zone)
    if warning:
        logger.debug("Sender for a %s recipient falls back to rank %d", recipient_region, best_rank)
    return SenderChoice(best, warning)


# --- sender ranks, best first ------------------------------------------------------

_LOCAL_EXACT: Final = 0
_LOCAL: Final = 1  # another North American region that texts as if at home
_LOCAL_TOLL_FREE: Final = 2
_FOREIGN: Final = 3  # long codes can text abroad, at international rates
# A short code's country is unknown, and it cannot text abroad at all: it only comes
# before senders that are sure to fail.
_SHORT_CODE: Final = 4
_FOREIGN_TOLL_FREE: Final = 5  # toll-free texting stops at the US and Canada
_SENDER_ID: Final = 6  # alphanumeric: the customer cannot reply


def _sender_warning(
    sender: OurNumber, rank: int, recipient_e164: str, recipient_zone: str | None
) -> str | None:
    if rank <= _LOCAL_TOLL_FREE:
        return None
    if rank == _SHORT_CODE:
        return (
            f"This will go out from your short code {sender.e164}. "
            "Short codes can only text phones in their own country."
        )
    where = _zone_name(recipient_e164) if recipient_zone else ""
    lead = f"You have no number in {where} that can text, so this" if where else "This"
    if rank == _SENDER_ID:
        return f"{lead} will go out from {sender.e164}, and the customer cannot reply to it."
    shown = display(sender.e164)
    if rank == _FOREIGN_TOLL_FREE:
        return (
            f"{lead} will go out from your toll-free number {shown}. Toll-free numbers "
            "can usually text only the US and Canada, so it may not arrive."
        )
    sender_region = region_of(sender.e164)
    origin = f" in {_country_name(sender_region)}" if sender_region else ""
    return (
        f"{lead} will go out from {shown}{origin}. International texts cost more and may "
        "not arrive; Twilio recommends a number in the customer's country."
    )


# --- helpers ----------------------------------------------------------------------


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _calling_code(number: PhoneNumber) -> int:
    return number.country_code or 0


def _parse_e164(text: str) -> PhoneNumber | None:
    text = text.strip()
    if not _E164_RE.fullmatch(text):
        return None
    try:
        return phonenumbers.parse(text, None)
    except NumberParseException:
        return None


def _real_region(region: str | None) -> str | None:
    """None for phonenumbers' placeholders: "ZZ" (unknown) and "001" (non-geographic)."""
    if not region or region in {"ZZ", "001"}:
        return None
    return region


def _zone(e164: str) -> str | None:
    """Numbers in the same zone text each other as domestic messages."""
    number = _parse_e164(e164)
    if number is None:
        return None
    if _calling_code(number) == 1:
        region = region_of(e164)
        return "+1" if region is None or region in _NANP_DOMESTIC else f"+1 {region}"
    if _real_region(phonenumbers.region_code_for_country_code(_calling_code(number))) is None:
        return None
    return f"+{_calling_code(number)}"


def _zone_name(e164: str) -> str:
    """The country staff think of: "the United Kingdom" for Jersey too, as +44 is shared."""
    number = _parse_e164(e164)
    if number is None:
        return ""
    if _calling_code(number) == 1:
        region = region_of(e164)
    else:
        region = _real_region(phonenumbers.region_code_for_country_code(_calling_code(number)))
    return _country_name(region) if region else ""


#: Names for the countries most Twilio customers text, so that the common case does not
#: pay for phonenumbers' geocoder, whose import takes about half a second.
_COMMON_NAMES: Final[dict[str, str]] = {
    "US": "the United States",
    "CA": "Canada",
    "GB": "the United Kingdom",
    "IE": "Ireland",
    "AU": "Australia",
    "NZ": "New Zealand",
    "DE": "Germany",
    "FR": "France",
    "ES": "Spain",
    "IT": "Italy",
    "NL": "the Netherlands",
    "BE": "Belgium",
    "CH": "Switzerland",
    "AT": "Austria",
    "SE": "Sweden",
    "NO": "Norway",
    "DK": "Denmark",
    "FI": "Finland",
    "PL": "Poland",
    "PT": "Portugal",
    "MX": "Mexico",
    "BR": "Brazil",
    "IN": "India",
    "PH": "the Philippines",
    "SG": "Singapore",
    "HK": "Hong Kong",
    "JP": "Japan",
    "IL": "Israel",
    "ZA": "South Africa",
    "PR": "Puerto Rico",
    "JM": "Jamaica",
}


def country_name(region: str) -> str:
    """An English country name that reads well mid-sentence ("the United States")."""
    return _country_name(region.upper())


def _country_name(region: str) -> str:
    """An English country name that reads well mid-sentence ("the United States")."""
    if region in _COMMON_NAMES:
        return _COMMON_NAMES[region]
    # Imported late (see _COMMON_NAMES); the helper is private, so a region code ("KE")
    # stands in should it ever go away.
    from phonenumbers import geocoder

    lookup = getattr(geocoder, "_region_display_name", None)
    name: str = (lookup(region, "en") if lookup else "") or region
    name = name.replace(" And ", " and ").replace(" Of ", " of ")
    if name.startswith("The "):
        return "the " + name[4:]
    needs_article = (
        name.startswith(("United ", "U.S. ", "Isle of "))
        or name.endswith((" Islands", " Republic"))
        or name in {"Bahamas", "Gambia", "Maldives", "Vatican"}
    )
    return f"the {name}" if needs_article else name


def _parse_error_reason(error: NumberParseException, compact: str) -> str:
    kind = error.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if compact.startswith(("+", "00")):
            code = compact.lstrip("+")
            code = code[2:] if compact.startswith("00") else code
            return (
                f"+{code[:3]} is not a country code. Check the digits after the +."
                if code
                else "Type the rest of the number after the +."
            )
        return "Start the number with + and its country code, like +44 20 7946 0958."
    if kind == NumberParseException.TOO_SHORT_AFTER_IDD:
        return "Type the rest of the number after the country code."
    if kind == NumberParseException.TOO_SHORT_NSN:
        return "That number is too short to be a phone number."
    if kind == NumberParseException.TOO_LONG:
        return "That number is too long to be a phone number."
    if kind == NumberParseException.NOT_A_NUMBER and re.fullmatch(r"\+\d{0,3}", compact):
        return "Type the whole number after the +, starting with the country code."
    return "That doesn't look like a phone number."


def _invalid_reason(number: PhoneNumber, compact: str, region: str, international: bool) -> str:
    home_code = phonenumbers.country_code_for_region(region)  # 0 if unknown
    typed_region = (
        region
        if _calling_code(number) == home_code
        else phonenumbers.region_code_for_country_code(_calling_code(number))
    )
    country = _country_name(typed_region) if _real_region(typed_region) else "that country"
    reason = phonenumbers.is_possible_number_with_reason(number)

    if not international:
        if _LETTERS_RE.search(compact):
            return "That doesn't look like a phone number."
        if is_short_code(compact):
            return (
                f"{compact} looks like a short code. Twilio numbers cannot text short codes; "
                "type the full phone number with its area code."
            )
        if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
            return "That number is missing its area code."
    problem = _invalid_problem(number, reason, country)
    if not international and _valid_with_plus(compact):
        # Digits that make a valid number after a "+" were probably copied without it.
        problem += " If it is from another country, start it with + and the country code."
    return problem


def _invalid_problem(number: PhoneNumber, reason: int, country: str) -> str:
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return f"+{_calling_code(number)} is not a country code. Check the digits after the +."
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return f"That number is too short for {country}. Check for a missing digit."
    if reason == ValidationResult.TOO_LONG:
        return f"That number is too long for {country}. Check for an extra digit."
    if reason == ValidationResult.INVALID_LENGTH:
        return f"That number has the wrong number of digits for {country}."
    what = "area code" if _calling_code(number) == 1 else "number"
    return f"That is not a valid number in {country}. Check the {what}."


def _valid_with_plus(compact: str) -> bool:
    if not compact.isdigit():
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse("+" + compact, None))
    except NumberParseException:
        return False
