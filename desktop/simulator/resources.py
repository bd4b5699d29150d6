"""Twilio's JSON shapes and list paging for the simulated REST API.

Field names, string-typed counters (``num_segments``, ``num_media``), RFC 2822 dates and the
paging envelope (``next_page_uri`` with a ``PageToken``) follow what api.twilio.com returns,
because twilio-python parses exactly these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from desktop.simulator.errors import TwilioApiError
from desktop.simulator.state import API_VERSION, Account, Media, Message, PhoneNumber

_T = TypeVar("_T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_ROOT = f"/{API_VERSION}/Accounts"


def rfc2822(moment: datetime | None) -> str | None:
    """``Thu, 27 Nov 2026 10:55:00 +0000``."""
    return format_datetime(moment.replace(microsecond=0)) if moment else None


def account_json(account: Account, *, include_token: bool) -> dict[str, Any]:
    base = f"{_ROOT}/{account.sid}"
    return {
        "auth_token": account.auth_token if include_token else None,
        "date_created": rfc2822(account.date_created),
        "date_updated": rfc2822(account.date_updated),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.sid,
        "sid": account.sid,
        "status": account.status,
        "subresource_uris": {
            "incoming_phone_numbers": f"{base}/IncomingPhoneNumbers.json",
            "messages": f"{base}/Messages.json",
        },
        "type": "Full",
        "uri": f"{base}.json",
    }


def number_json(number: PhoneNumber) -> dict[str, Any]:
    return {
        "account_sid": number.account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "bundle_sid": None,
        "capabilities": dict(number.capabilities),
        "date_created": rfc2822(number.date_created),
        "date_updated": rfc2822(number.date_updated),
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": number.friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": number.phone_number,
        "sid": number.sid,
        "sms_application_sid": "",
        "sms_fallback_method": number.sms_fallback_method,
        "sms_fallback_url": number.sms_fallback_url,
        "sms_method": number.sms_method,
        "sms_url": number.sms_url,
        "status": "in-use",
        "status_callback": number.status_callback,
        "status_callback_method": "POST",
        "trunk_sid": None,
        "type": number.number_type,
        "uri": f"{_ROOT}/{number.account_sid}/IncomingPhoneNumbers/{number.sid}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_receive_mode": "voice",
        "voice_url": None,
        "subresource_uris": {
            "assigned_add_ons": f"{_ROOT}/{number.account_sid}/IncomingPhoneNumbers/"
            f"{number.sid}/AssignedAddOns.json"
        },
    }


def message_json(message: Message) -> dict[str, Any]:
    base = f"{_ROOT}/{message.account_sid}/Messages/{message.sid}"
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.date_created),
        "date_sent": rfc2822(message.date_sent),
        "date_updated": rfc2822(message.date_updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(message.num_media),
        "num_segments": str(message.num_segments),
        "price": message.price,
        "price_unit": message.price_unit,
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {
            "media": f"{base}/Media.json",
            "feedback": f"{base}/Feedback.json",
        },
        "to": message.to,
        "uri": f"{base}.json",
    }


def media_path(media: Media) -> str:
    """The media resource without extension: the URL that redirects to the bytes."""
    return f"{_ROOT}/{media.account_sid}/Messages/{media.message_sid}/Media/{media.sid}"


def media_json(media: Media) -> dict[str, Any]:
    return {
        "account_sid": media.account_sid,
        "content_type": media.content_type,
        "date_created": rfc2822(media.date_created),
        "date_updated": rfc2822(media.date_created),
        "parent_sid": media.message_sid,
        "sid": media.sid,
        "uri": f"{media_path(media)}.json",
    }


# -- paging ---------------------------------------------------------------------------


@dataclass(slots=True)
class Pager(Generic[_T]):
    """Cuts one page out of a sorted list the way Twilio's PageToken paging does.

    A token ``PA<sid>`` means "the records after this one", ``PB<sid>`` "the records
    before this one", so paging stays stable while new messages arrive at the top.
    """

    size: int = DEFAULT_PAGE_SIZE
    number: int = 0
    token: str = ""
    has_next: bool = False
    has_previous: bool = False
    first_sid: str = ""
    last_sid: str = ""
    total: int = 0
    start: int = 0
    _sid_of: Callable[[_T], str] = field(default=lambda item: str(item))

    @classmethod
    def from_args(cls, args: Mapping[str, str], sid_of: Callable[[_T], str]) -> Pager[_T]:
        try:
            size = int(args.get("PageSize", DEFAULT_PAGE_SIZE))
            number = int(args.get("Page", 0))
        except ValueError as exc:
            raise TwilioApiError(400, 20001, "PageSize and Page must be integers") from exc
        if size < 1 or number < 0:
            raise TwilioApiError(400, 20001, "PageSize and Page must be positive")
        return cls(
            size=min(size, MAX_PAGE_SIZE),
            number=number,
            token=args.get("PageToken", ""),
            _sid_of=sid_of,
        )

    def select(self, items: list[_T]) -> list[_T]:
        start = self.number * self.size
        if self.token[:2] in ("PA", "PB"):
            sids = [self._sid_of(item) for item in items]
            anchor = self.token[2:]
            if anchor in sids:
                index = sids.index(anchor)
                start = index + 1 if self.token.startswith("PA") else max(index - self.size, 0)
        page = items[start : start + self.size]
        self.total = len(items)
        self.start = start
        self.has_next = start + self.size < len(items)
        self.has_previous = start > 0
        self.first_sid = self._sid_of(page[0]) if page else ""
        self.last_sid = self._sid_of(page[-1]) if page else ""
        return page

    def payload(
        self,
        key: str,
        records: Sequence[dict[str, Any]],
        path: str,
        filters: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        def uri(number: int, token: str = "") -> str:
            query = [*filters, ("PageSize", str(self.size)), ("Page", str(number))]
            if token:
                query.append(("PageToken", token))
            return f"{path}?{urlencode(query)}"

        number = self.start // self.size if self.token else self.number
        return {
            key: list(records),
            "end": self.start + max(len(records) - 1, 0),
            "first_page_uri": uri(0),
            "next_page_uri": uri(number + 1, "PA" + self.last_sid) if self.has_next else None,
            "page": number,
            "page_size": self.size,
            "previous_page_uri": (
                uri(max(number - 1, 0), "PB" + self.first_sid) if self.has_previous else None
            ),
            "start": self.start,
            "uri": uri(number, self.token),
        }
