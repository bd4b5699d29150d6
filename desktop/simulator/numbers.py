"""What the simulator needs to know about phone numbers: region and kind, via phonenumbers."""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

E164: Final = re.compile(r"^\+[1-9]\d{1,14}$")


def _parse(number: str) -> phonenumbers.PhoneNumber | None:
    if not E164.match(number):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def region_of(number: str) -> str | None:
    """ISO region of a valid E.164 number, None when phonenumbers does not accept it."""
    parsed = _parse(number)
    if parsed is None:
        return None
    region: str | None = phonenumbers.region_code_for_number(parsed)
    return region


def is_toll_free(number: str) -> bool:
    parsed = _parse(number)
    return parsed is not None and (
        phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE
    )
