"""Plain data that crosses layers: what a webhook carries and what the store returns.

Everything here is immutable and free of Qt and I/O so that the gateway, the store, the
sync code and the UI can all share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

MESSAGE_SID_RE: Final = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
ACCOUNT_SID_RE: Final = re.compile(r"^AC[0-9a-fA-F]{32}$")
MEDIA_SID_RE: Final = re.compile(r"^ME[0-9a-fA-F]{32}$")
MAX_MEDIA: Final = 10
#: Numbers in a webhook: ASCII digits only (``str.isdigit`` also accepts "²" and "٣").
ASCII_DIGITS_RE: Final = re.compile(r"[0-9]+")
MAX_BODY_CHARS: Final = 1600
#: What Advanced Opt-Out reports in a webhook's ``OptOutType``.
OPT_OUT_TYPES: Final = frozenset({"STOP", "START", "HELP"})


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InvalidWebhook(ValueError):
    """A signed request whose content does not make sense; answered with a 4xx."""


@dataclass(frozen=True, slots=True)
class Geo:
    """Where Twilio thinks a number is; every field is optional and often missing."""

    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str], prefix: str) -> Geo:
        return cls(
            city=form.get(f"{prefix}City", "") or "",
            state=form.get(f"{prefix}State", "") or "",
            zip=form.get(f"{prefix}Zip", "") or "",
            country=form.get(f"{prefix}Country", "") or "",
        )

    def describe(self) -> str:
        """ "Portland, OR, US" with the missing parts left out."""
        return ", ".join(part for part in (self.city.title(), self.state, self.country) if part)


@dataclass(frozen=True, slots=True)
class MediaRef:
    """One attachment as Twilio announced it (``MediaUrl{N}`` / ``MediaContentType{N}``)."""

    index: int
    url: str
    content_type: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a customer sent to one of our numbers, as the webhook delivered it."""

    sid: str
    account_sid: str
    from_number: str
    to_number: str
    body: str
    num_segments: int = 1
    media: tuple[MediaRef, ...] = ()
    from_geo: Geo = field(default_factory=Geo)
    to_geo: Geo = field(default_factory=Geo)
    messaging_service_sid: str = ""
    #: Advanced Opt-Out: "STOP", "START" or "HELP" when the text matched one of the
    #: service's (possibly custom) keywords; "" otherwise.
    opt_out_type: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> InboundMessage:
        """Build from the webhook's form fields; raise :class:`InvalidWebhook` when unusable."""
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
        if not MESSAGE_SID_RE.match(sid):
            raise InvalidWebhook("MessageSid is missing or malformed")
        account_sid = form.get("AccountSid", "")
        if not ACCOUNT_SID_RE.match(account_sid):
            raise InvalidWebhook("AccountSid is missing or malformed")
        from_number = form.get("From", "").strip()
        to_number = form.get("To", "").strip()
        if not from_number or not to_number:
            raise InvalidWebhook("From and To are required")
        body = form.get("Body", "")
        if len(body) > MAX_BODY_CHARS * 2:
            raise InvalidWebhook("Body is longer than Twilio allows")
        num_media = _small_int(form.get("NumMedia", "0"), "NumMedia", MAX_MEDIA)
        num_segments = _small_int(form.get("NumSegments", "1") or "1", "NumSegments", 100)
        media: list[MediaRef] = []
        for index in range(num_media):
            url = form.get(f"MediaUrl{index}", "")
            if not url:
                raise InvalidWebhook(f"MediaUrl{index} is missing although NumMedia={num_media}")
            content_type = form.get(f"MediaContentType{index}", "") or "application/octet-stream"
            media.append(MediaRef(index=index, url=url, content_type=content_type))
        return cls(
            sid=sid,
            account_sid=account_sid,
            from_number=from_number,
            to_number=to_number,
            body=body,
            num_segments=max(num_segments, 1),
            media=tuple(media),
            from_geo=Geo.from_form(form, "From"),
            to_geo=Geo.from_form(form, "To"),
            messaging_service_sid=form.get("MessagingServiceSid", ""),
            opt_out_type=_opt_out_type(form.get("OptOutType", "")),
        )


def _opt_out_type(raw: str) -> str:
    value = raw.strip().upper()
    return value if value in OPT_OUT_TYPES else ""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A status callback (or a status seen while polling) for one message."""

    sid: str
    status: str
    error_code: int | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> StatusUpdate:
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not MESSAGE_SID_RE.match(sid):
            raise InvalidWebhook("MessageSid is missing or malformed")
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        if not status or len(status) > 32 or not status.replace("_", "").isalpha():
            raise InvalidWebhook("MessageStatus is missing or malformed")
        raw_code = (form.get("ErrorCode") or "").strip(" \t")
        error_code: int | None = None
        if raw_code:
            if not ASCII_DIGITS_RE.fullmatch(raw_code) or len(raw_code) > 6:
                raise InvalidWebhook("ErrorCode is not a number")
            error_code = int(raw_code)
        return cls(sid=sid, status=status, error_code=error_code)


def _small_int(raw: str, name: str, maximum: int) -> int:
    raw = raw.strip(" \t")
    if not ASCII_DIGITS_RE.fullmatch(raw) or len(raw) > 4:
        raise InvalidWebhook(f"{name} is not a number")
    value = int(raw)
    if value > maximum:
        raise InvalidWebhook(f"{name} is larger than {maximum}")
    return value


class Source(StrEnum):
    """How a message reached the store; backfilled ones do not pop notifications twice."""

    WEBHOOK = "webhook"
    BACKFILL = "backfill"
    POLL = "poll"
    APP = "app"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """Any message about to be stored, whichever way it arrived."""

    sid: str | None
    direction: Direction
    from_number: str
    to_number: str
    body: str
    status: str
    created_at_ms: int
    source: Source
    error_code: int | None = None
    num_segments: int = 1
    media: tuple[MediaRef, ...] = ()
    from_geo: Geo = field(default_factory=Geo)
    to_geo: Geo = field(default_factory=Geo)
    messaging_service_sid: str = ""
    #: Counts towards the conversation's unread badge (inbound only).
    unread: bool = True
    #: Twilio's own direction when known from its log ("outbound-reply" for a TwiML
    #: answer, "outbound-api" for a REST send); "" otherwise.
    twilio_direction: str = ""
    #: Advanced Opt-Out's verdict from the webhook (see :class:`InboundMessage`).
    opt_out_type: str = ""

    @property
    def our_number(self) -> str:
        return self.to_number if self.direction is Direction.INBOUND else self.from_number

    @property
    def contact_number(self) -> str:
        return self.from_number if self.direction is Direction.INBOUND else self.to_number

    @classmethod
    def from_inbound(
        cls, msg: InboundMessage, *, received_at_ms: int, source: Source = Source.WEBHOOK
    ) -> NewMessage:
        return cls(
            sid=msg.sid,
            direction=Direction.INBOUND,
            from_number=msg.from_number,
            to_number=msg.to_number,
            body=msg.body,
            status="received",
            created_at_ms=received_at_ms,
            source=source,
            num_segments=msg.num_segments,
            media=msg.media,
            from_geo=msg.from_geo,
            to_geo=msg.to_geo,
            messaging_service_sid=msg.messaging_service_sid,
            opt_out_type=msg.opt_out_type,
        )


def media_sid_from_url(url: str) -> str:
    """The ``ME…`` SID at the end of a Twilio media URL, or "" when there is none."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    if tail.endswith(".json"):
        tail = tail[: -len(".json")]
    return tail if MEDIA_SID_RE.match(tail) else ""
