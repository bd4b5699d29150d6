"""A customer's text reaching one of our numbers: routing, opt-out keywords, the webhook.

Routing follows Twilio (see :func:`desktop.gateway.messaging_types.inbound_route`, which
the app uses to predict it): a number in a Messaging Service whose incoming-message
setting does not defer to the number is posted to the service's ``inbound_request_url``
(and its ``fallback_url`` on failure), and with an empty one the text is dropped: no
webhook and nothing in the message log, recorded here as a ``dropped`` delivery so a test
can wait for proof that nothing was sent.  Otherwise the number's ``SmsUrl`` decides.

Opt-out keywords act before the webhook.  A service with Advanced Opt-Out adds its own
keywords and reports which kind matched as ``OptOutType`` (STOP, START, HELP); its
opt-outs cover every number of the service, as Twilio's do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from desktop.simulator.encoding import count_segments
from desktop.simulator.errors import error_message
from desktop.simulator.messaging_state import SimService
from desktop.simulator.resources import media_path
from desktop.simulator.state import (
    API_VERSION,
    DeliveryAttempt,
    Geo,
    Media,
    Message,
    PhoneNumber,
    new_sid,
)
from desktop.simulator.webhooks import TwimlError, TwimlReply, parse_reply

if TYPE_CHECKING:
    from desktop.simulator.engine import SimEngine

logger = logging.getLogger(__name__)

OPT_OUT_WORDS: Final = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS: Final = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS: Final = frozenset({"HELP", "INFO"})
_DEFAULT_WORDS: Final = {"STOP": OPT_OUT_WORDS, "START": OPT_IN_WORDS, "HELP": HELP_WORDS}

_AUTO_REPLIES: Final = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. "
    "Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
_PRICE_PER_SEGMENT: Final = 0.0079


def keyword_kind(body: str, service: SimService | None) -> str:
    """ "STOP", "START", "HELP" or "" for ``body``, with the service's own keywords too."""
    word = body.strip().upper()
    custom = service.opt_out_keywords if service is not None else None
    for kind, defaults in _DEFAULT_WORDS.items():
        extra = {w.strip().upper() for w in (custom or {}).get(kind, [])}
        if word in defaults or word in extra:
            return kind
    return ""


class InboundRouter:
    """The inbound half of :class:`~desktop.simulator.engine.SimEngine`."""

    def __init__(self, engine: SimEngine) -> None:
        self._engine = engine
        self._state = engine.state
        self._messaging = engine.messaging

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
        """Store the text (unless its service drops it), apply opt-out, post the webhook."""
        number = self._state.number_by_phone(to)
        if number is None:
            raise ValueError(f"{to} is not a number of any simulated account")
        service = self._messaging.service_of_number(number.sid)
        now = self._engine.now()
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
            messaging_service_sid=messaging_service_sid or (service.sid if service else None),
            media=[
                Media(new_sid("ME"), sid, number.account_sid, content_type, data, now)
                for content_type, data in media
            ],
        )
        if service is not None and service.owns_inbound and not service.inbound_request_url:
            self._record_drop(message, service)
            return message
        kind = keyword_kind(body, service)
        pool = service.number_sids if service is not None else [number.sid]
        if kind in ("STOP", "START"):
            for member in pool:
                found = self._state.number_by_sid(member)
                if found is not None:
                    self._state.set_opted_out(from_, found.phone_number, kind == "STOP")
        stored = self._state.add_message(message)
        known_to_geo = number.geo if number.geo != Geo() else _country_geo(to)
        geo = (from_geo or _country_geo(from_), to_geo or known_to_geo)
        advanced = service is not None and service.opt_out_keywords is not None
        self._engine.scheduler.submit(
            lambda: self._dispatch(stored, number, service, kind if advanced else "", kind, geo)
        )
        return stored

    def _record_drop(self, message: Message, service: SimService) -> None:
        logger.debug("service %s has no inbound URL: dropped %s", service.sid, message.sid)
        self._state.record_delivery(
            DeliveryAttempt(
                kind="dropped",
                url="",
                method="",
                params=(("To", message.to), ("From", message.from_), ("Body", message.body)),
                message_sid=message.sid,
                status_code=None,
                response_body="",
                content_type="",
                error="the Messaging Service has no inbound request URL",
            )
        )

    def _dispatch(
        self,
        message: Message,
        number: PhoneNumber,
        service: SimService | None,
        opt_out_type: str,
        kind: str,
        geo: tuple[Geo, Geo],
    ) -> None:
        account = self._state.account(message.account_sid)
        assert account is not None
        if service is not None and service.owns_inbound:
            url, method = service.inbound_request_url, service.inbound_method
            fallback, fallback_method = service.fallback_url, service.fallback_method
        else:
            url, method = number.sms_url, number.sms_method
            fallback, fallback_method = number.sms_fallback_url, number.sms_fallback_method
        if url:
            params = self._webhook_params(message, geo, opt_out_type)
            attempt = self._engine.deliverer.post_form(
                "incoming",
                url,
                params,
                auth_token=account.auth_token,
                message_sid=message.sid,
                method=method,
                classify=_classify_twiml,
            )
            if attempt.error_code in (11200, 11205) and fallback:
                attempt = self._engine.deliverer.post_form(
                    "fallback",
                    fallback,
                    params,
                    auth_token=account.auth_token,
                    message_sid=message.sid,
                    method=fallback_method,
                    classify=_classify_twiml,
                )
            if attempt.error_code is None and attempt.status_code is not None:
                for reply in parse_reply(attempt.content_type, attempt.response_body):
                    self._send_reply(message, reply)
        if self._engine.config.opt_out_replies and kind:
            self._send_reply(message, TwimlReply(body=_AUTO_REPLIES[kind]), force=True)

    def _webhook_params(
        self, message: Message, geo: tuple[Geo, Geo], opt_out_type: str
    ) -> list[tuple[str, str]]:
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
        if opt_out_type:
            params.append(("OptOutType", opt_out_type))
        base = self._engine.api_base_url()
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
        message = self._engine.new_outbound(
            inbound.account_sid,
            from_,
            to,
            reply.body,
            direction="outbound-reply",
            media_count=len(reply.media_urls),
            messaging_service_sid=inbound.messaging_service_sid,
            status_callback=reply.action,
        )
        if not force and self._state.is_opted_out(to, from_):
            message.status = "failed"
            message.error_code = 21610
            message.error_message = error_message(21610)
            self._state.add_message(message)
            return
        stored = self._state.add_message(message)
        self._engine.start_delivery(stored.sid, reply.media_urls)


def _classify_twiml(attempt: DeliveryAttempt) -> int | None:
    try:
        parse_reply(attempt.content_type, attempt.response_body)
    except TwimlError as exc:
        return exc.code
    return None


def _country_geo(number: str) -> Geo:
    from desktop.simulator.engine import region_of

    region = region_of(number)
    return Geo(country=region or "")
