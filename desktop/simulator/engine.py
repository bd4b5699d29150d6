"""What Twilio does with messages: validate, create, deliver, call back.

The REST layer and the Python API (tests, demo personas) both come through here, so a
message created over HTTP and one injected by a test follow the same rules: the same
validation codes, the same status progression with signed callbacks, the same inbound
webhook with TwiML replies and opt-out handling.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

import phonenumbers

from desktop.simulator.config import SimulatorConfig
from desktop.simulator.encoding import count_segments
from desktop.simulator.errors import TwilioApiError, error_message
from desktop.simulator.faults import FaultPlan
from desktop.simulator.resources import media_path
from desktop.simulator.scheduling import Scheduler
from desktop.simulator.state import (
    API_VERSION,
    Account,
    DeliveryAttempt,
    Geo,
    Media,
    Message,
    PhoneNumber,
    SimState,
    new_sid,
)
from desktop.simulator.webhooks import HttpDeliverer, TwimlError, TwimlReply, parse_reply

logger = logging.getLogger(__name__)

OPT_OUT_WORDS: Final = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS: Final = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS: Final = frozenset({"HELP", "INFO"})

_AUTO_REPLIES: Final = {
    "stop": "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe.",
    "start": "You have successfully been re-subscribed to messages from this number. "
    "Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "help": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MAX_BODY: Final = 1600
_PRICE_PER_SEGMENT: Final = 0.0079


def region_of(number: str) -> str | None:
    """ISO region of a valid E.164 number, None when phonenumbers does not accept it."""
    if not _E164.match(number):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    region: str | None = phonenumbers.region_code_for_number(parsed)
    return region


class SimEngine:
    """Message behaviour shared by the REST API and the Python API."""

    def __init__(
        self,
        *,
        state: SimState,
        faults: FaultPlan,
        scheduler: Scheduler,
        deliverer: HttpDeliverer,
        config: SimulatorConfig,
        api_base_url: Callable[[], str],
    ) -> None:
        self.state = state
        self.faults = faults
        self.scheduler = scheduler
        self.deliverer = deliverer
        self.config = config
        self._api_base_url = api_base_url

    def now(self) -> datetime:
        return self.scheduler.clock.now()

    # -- outbound over REST -----------------------------------------------------------

    def create_message(
        self,
        account: Account,
        *,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str] = (),
        messaging_service_sid: str = "",
        status_callback: str = "",
    ) -> Message:
        """``POST /Messages.json``: validate as Twilio does, store, start delivery."""
        self.state.count_create_attempt(to, body)
        injected = self.faults.take_create_failure()
        if injected is not None:
            raise injected
        sender = self._validate(account, to, from_, body, media_urls, messaging_service_sid)
        message = self._new_outbound(
            account.sid,
            sender,
            to,
            body,
            direction="outbound-api",
            media_count=len(media_urls),
            messaging_service_sid=messaging_service_sid or None,
            status_callback=status_callback,
        )
        if messaging_service_sid:
            message.status = "accepted"  # a service picks the sender before queueing
        stored = self.state.add_message(message, via_api=True)
        self._start_delivery(stored.sid, tuple(media_urls))
        return stored

    def _validate(
        self,
        account: Account,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str],
        messaging_service_sid: str,
    ) -> str:
        if not to:
            raise TwilioApiError(400, 21604)
        region = region_of(to)
        if region is None:
            raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if messaging_service_sid:
            pool = self.state.service_numbers(account.sid, messaging_service_sid)
            if not pool:
                raise TwilioApiError(400, 21701)
            from_ = pool[0]
        elif not from_:
            raise TwilioApiError(400, 21603)
        number = self.state.number_by_phone(from_)
        if number is None or number.account_sid != account.sid:
            if _E164.match(from_):
                raise TwilioApiError(400, 21606)
            raise TwilioApiError(
                400, 21212, f"The 'From' number {from_} is not a valid phone number."
            )
        if not number.capabilities.get("sms") or (
            media_urls and not number.capabilities.get("mms")
        ):
            raise TwilioApiError(400, 21606)
        if not body and not media_urls:
            raise TwilioApiError(400, 21602)
        if len(body) > MAX_BODY:
            raise TwilioApiError(400, 21617)
        if self.faults.is_region_disabled(region):
            raise TwilioApiError(400, 21408, f"{error_message(21408)}: {to}")
        if self.faults.is_not_mobile(to):
            raise TwilioApiError(400, 21614)
        if self.state.is_opted_out(to, from_):
            raise TwilioApiError(400, 21610)
        return from_

    def _new_outbound(
        self,
        account_sid: str,
        from_: str,
        to: str,
        body: str,
        *,
        direction: str,
        media_count: int,
        messaging_service_sid: str | None = None,
        status_callback: str = "",
    ) -> Message:
        now = self.now()
        return Message(
            sid=new_sid("MM" if media_count else "SM"),
            account_sid=account_sid,
            from_=from_,
            to=to,
            body=body,
            direction=direction,
            status="queued",
            num_segments=1 if media_count else count_segments(body),
            num_media=media_count,
            date_created=now,
            date_updated=now,
            price=None,
            messaging_service_sid=messaging_service_sid,
            status_callback=status_callback,
        )

    # -- delivery of outbound messages --------------------------------------------------

    def _start_delivery(self, sid: str, media_urls: tuple[str, ...]) -> None:
        self.scheduler.submit(lambda: self._deliver(sid, media_urls))

    def _deliver(self, sid: str, media_urls: tuple[str, ...]) -> None:
        """(accepted →) queued → (fetch media) → sending → sent → delivered, with callbacks."""
        step = self.config.status_step_delay
        out_of_order = self.faults.callbacks_out_of_order()
        if not self.scheduler.sleep(step):
            return
        current = self.state.message(sid)
        if current is not None and current.status == "accepted":
            self._set_status(sid, "queued")
        if media_urls and not self._fetch_outbound_media(sid, media_urls):
            return
        self._set_status(sid, "sending")
        message = self.state.message(sid)
        assert message is not None
        outcome = self.faults.outcome_for(message.to)
        if not self.scheduler.sleep(step):
            return
        if outcome.status == "failed":
            self._set_status(sid, "failed", outcome.error_code)
            return
        self._set_status(sid, "sent", callback=not out_of_order)
        if not self.scheduler.sleep(step):
            return
        self._set_status(sid, outcome.status, outcome.error_code)
        if out_of_order:
            late = self.state.message(sid)
            assert late is not None
            self._status_callback(late, status="sent", error_code=None)

    def _fetch_outbound_media(self, sid: str, urls: Sequence[str]) -> bool:
        message = self.state.message(sid)
        assert message is not None
        fetched: list[Media] = []
        for url in urls:
            attempt, data = self.deliverer.fetch_media(url, sid)
            if self.faults.take_media_fetch_failure():
                data = None
            if data is None:
                self._set_status(sid, "failed", attempt.error_code or 11200)
                return False
            fetched.append(
                Media(
                    sid=new_sid("ME"),
                    message_sid=sid,
                    account_sid=message.account_sid,
                    content_type=attempt.content_type.split(";")[0].strip(),
                    data=data,
                    date_created=self.now(),
                )
            )

        def attach(m: Message) -> None:
            m.media = fetched
            m.num_media = len(fetched)

        self.state.update_message(sid, attach)
        return True

    def _set_status(
        self, sid: str, status: str, error_code: int | None = None, *, callback: bool = True
    ) -> None:
        now = self.now()

        def mutate(m: Message) -> None:
            m.status = status
            m.date_updated = now
            if status == "sent":
                m.date_sent = now
                m.price = f"-{_PRICE_PER_SEGMENT * max(m.num_segments, 1):.5f}"
            if error_code is not None:
                m.error_code = error_code
                m.error_message = error_message(error_code)

        message = self.state.update_message(sid, mutate)
        if callback:
            self._status_callback(message, status=status, error_code=error_code)

    def _status_callback(self, message: Message, *, status: str, error_code: int | None) -> None:
        if not message.status_callback:
            return
        account = self.state.account(message.account_sid)
        assert account is not None
        params = [
            ("MessageSid", message.sid),
            ("SmsSid", message.sid),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("AccountSid", message.account_sid),
            ("From", message.from_),
            ("To", message.to),
            ("ApiVersion", API_VERSION),
        ]
        if message.messaging_service_sid:
            params.append(("MessagingServiceSid", message.messaging_service_sid))
        if error_code is not None:
            params.append(("ErrorCode", str(error_code)))
        if status in ("delivered", "undelivered"):
            params.append(("RawDlrDoneDate", self.now().strftime("%y%m%d%H%M")))
        self.deliverer.post_form(
            "status",
            message.status_callback,
            params,
            auth_token=account.auth_token,
            message_sid=message.sid,
        )

    # -- inbound ----------------------------------------------------------------------

    def receive(
        self,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[tuple[str, bytes]] = (),
        *,
        from_geo: Geo | None = None,
        to_geo: Geo | None = None,
        messaging_service_sid: str | None = None,
    ) -> Message:
        """A customer's text reaches one of our numbers: store it, opt-out, webhook."""
        number = self.state.number_by_phone(to)
        if number is None:
            raise ValueError(f"{to} is not a number of any simulated account")
        now = self.now()
        sid = new_sid("MM" if media else "SM")
        message = Message(
            sid=sid,
            account_sid=number.account_sid,
            from_=from_,
            to=to,
            body=body,
            direction="inbound",
            status="received",
            num_segments=count_segments(body),
            num_media=len(media),
            date_created=now,
            date_updated=now,
            date_sent=now,
            price=f"-{_PRICE_PER_SEGMENT:.5f}",
            messaging_service_sid=messaging_service_sid,
            media=[
                Media(new_sid("ME"), sid, number.account_sid, content_type, data, now)
                for content_type, data in media
            ],
        )
        keyword = body.strip().upper()
        if keyword in OPT_OUT_WORDS:
            self.state.set_opted_out(from_, to, True)
        elif keyword in OPT_IN_WORDS:
            self.state.set_opted_out(from_, to, False)
        stored = self.state.add_message(message)
        known_to_geo = number.geo if number.geo != Geo() else _country_geo(to)
        geo = (from_geo or _country_geo(from_), to_geo or known_to_geo)
        self.scheduler.submit(lambda: self._dispatch_inbound(stored, number, keyword, geo))
        return stored

    def _dispatch_inbound(
        self, message: Message, number: PhoneNumber, keyword: str, geo: tuple[Geo, Geo]
    ) -> None:
        account = self.state.account(message.account_sid)
        assert account is not None
        if number.sms_url:
            params = self._webhook_params(message, geo)
            attempt = self.deliverer.post_form(
                "incoming",
                number.sms_url,
                params,
                auth_token=account.auth_token,
                message_sid=message.sid,
                method=number.sms_method,
                classify=_classify_twiml,
            )
            if attempt.error_code in (11200, 11205) and number.sms_fallback_url:
                attempt = self.deliverer.post_form(
                    "fallback",
                    number.sms_fallback_url,
                    params,
                    auth_token=account.auth_token,
                    message_sid=message.sid,
                    method=number.sms_fallback_method,
                    classify=_classify_twiml,
                )
            if attempt.error_code is None and attempt.status_code is not None:
                for reply in parse_reply(attempt.content_type, attempt.response_body):
                    self._send_reply(message, reply)
        auto_reply = _auto_reply(keyword)
        if self.config.opt_out_replies and auto_reply:
            self._send_reply(message, TwimlReply(body=auto_reply), force=True)

    def _webhook_params(self, message: Message, geo: tuple[Geo, Geo]) -> list[tuple[str, str]]:
        params = [
            ("ToCountry", geo[1].country),
            ("ToState", geo[1].state),
            ("SmsMessageSid", message.sid),
            ("NumMedia", str(len(message.media))),
            ("ToCity", geo[1].city),
            ("FromZip", geo[0].zip),
            ("SmsSid", message.sid),
            ("FromState", geo[0].state),
            ("SmsStatus", "received"),
            ("FromCity", geo[0].city),
            ("Body", message.body),
            ("FromCountry", geo[0].country),
            ("To", message.to),
            ("ToZip", geo[1].zip),
            ("NumSegments", str(message.num_segments)),
            ("ReferralNumMedia", "0"),
            ("MessageSid", message.sid),
            ("AccountSid", message.account_sid),
            ("From", message.from_),
            ("ApiVersion", API_VERSION),
        ]
        if message.messaging_service_sid:
            params.append(("MessagingServiceSid", message.messaging_service_sid))
        base = self._api_base_url()
        for index, media in enumerate(message.media):
            params.append((f"MediaContentType{index}", media.content_type))
            params.append((f"MediaUrl{index}", base + media_path(media)))
        # Geo fields are sent only when known.
        return [
            (k, v)
            for k, v in params
            if v or not (k.startswith(("From", "To")) and k not in ("From", "To"))
        ]

    def _send_reply(self, inbound: Message, reply: TwimlReply, *, force: bool = False) -> None:
        """A TwiML ``<Message>`` (or Twilio's own STOP/START answer) as outbound-reply."""
        to = reply.to or inbound.from_
        from_ = reply.from_ or inbound.to
        message = self._new_outbound(
            inbound.account_sid,
            from_,
            to,
            reply.body,
            direction="outbound-reply",
            media_count=len(reply.media_urls),
            messaging_service_sid=inbound.messaging_service_sid,
            status_callback=reply.action,
        )
        if not force and self.state.is_opted_out(to, from_):
            message.status = "failed"
            message.error_code = 21610
            message.error_message = error_message(21610)
            self.state.add_message(message)
            return
        stored = self.state.add_message(message)
        self._start_delivery(stored.sid, reply.media_urls)


def _auto_reply(keyword: str) -> str:
    """Twilio's own answer to an opt-out, opt-in or help keyword ("" for anything else)."""
    if keyword in OPT_OUT_WORDS:
        return _AUTO_REPLIES["stop"]
    if keyword in OPT_IN_WORDS:
        return _AUTO_REPLIES["start"]
    if keyword in HELP_WORDS:
        return _AUTO_REPLIES["help"]
    return ""


def _classify_twiml(attempt: DeliveryAttempt) -> int | None:
    try:
        parse_reply(attempt.content_type, attempt.response_body)
    except TwimlError as exc:
        return exc.code
    return None


def _country_geo(number: str) -> Geo:
    region = region_of(number)
    return Geo(country=region or "")
