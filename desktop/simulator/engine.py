"""What Twilio does with messages: validate, create, deliver, call back.

The REST layer and the Python API (tests, demo personas) both come through here, so a
message created over HTTP and one injected by a test follow the same rules: the same
validation codes, the same status progression with signed callbacks, the same inbound
webhook with TwiML replies and opt-out handling (inbound lives in
:mod:`desktop.simulator.inbound`).

With :attr:`SimulatorConfig.enforce_registration`, texts to US phones are blocked the way
US carriers block them: from a toll-free number without an approved verification (30032),
from a US local number outside a service with a VERIFIED A2P 10DLC campaign (30034), or
whose campaign is still IN_PROGRESS (30035).

Message Scheduling (``ScheduleType=fixed`` + ``SendAt``, Messaging Services only) answers
as Twilio documents it: the message is created ``scheduled``, refused with 35111 (no
SendAt), 35114 (outside 300 s … 35 days ahead), 35118 (no service) or 35126 (another
ScheduleType); it goes out when the simulated clock reaches SendAt unless it was canceled
(``Status=canceled``; 30409 once it is no longer ``scheduled``).  A STOP does not cancel
scheduled texts at Twilio: at SendAt they fail with 21610 like any text to that customer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from desktop.simulator.config import SimulatorConfig
from desktop.simulator.encoding import count_segments
from desktop.simulator.errors import TwilioApiError, error_message
from desktop.simulator.faults import FaultPlan
from desktop.simulator.inbound import InboundRouter
from desktop.simulator.messaging_state import MessagingState
from desktop.simulator.numbers import E164, is_toll_free, region_of
from desktop.simulator.scheduling import Scheduler
from desktop.simulator.state import (
    API_VERSION,
    Account,
    Geo,
    Media,
    Message,
    SimState,
    new_sid,
)
from desktop.simulator.webhooks import HttpDeliverer

logger = logging.getLogger(__name__)

__all__ = ["MAX_BODY", "SimEngine", "region_of"]

MAX_BODY: Final = 1600
#: Twilio's window for SendAt (docs: api/errors/35114, checked 2026): 300 s to 35 days ahead.
SCHEDULE_MIN_LEAD: Final = timedelta(seconds=300)
SCHEDULE_MAX_LEAD: Final = timedelta(seconds=3_024_000)
_PRICE_PER_SEGMENT: Final = 0.0079


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
        messaging: MessagingState | None = None,
    ) -> None:
        self.state = state
        self.faults = faults
        self.scheduler = scheduler
        self.deliverer = deliverer
        self.config = config
        self.messaging = messaging or MessagingState()
        self._api_base_url = api_base_url
        self.inbound = InboundRouter(self)

    def now(self) -> datetime:
        return self.scheduler.clock.now()

    def api_base_url(self) -> str:
        return self._api_base_url()

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
        """A customer's text reaches one of our numbers (see :mod:`desktop.simulator.inbound`)."""
        return self.inbound.receive(
            from_,
            to,
            body,
            media,
            from_geo=from_geo,
            to_geo=to_geo,
            messaging_service_sid=messaging_service_sid,
        )

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
        schedule_type: str = "",
        send_at: str = "",
    ) -> Message:
        """``POST /Messages.json``: validate as Twilio does, store, start delivery."""
        self.state.count_create_attempt(to, body)
        injected = self.faults.take_create_failure()
        if injected is not None:
            raise injected
        due = self._schedule(schedule_type, send_at, messaging_service_sid)
        sender = self._validate(account, to, from_, body, media_urls, messaging_service_sid)
        message = self.new_outbound(
            account.sid,
            sender,
            to,
            body,
            direction="outbound-api",
            media_count=len(media_urls),
            messaging_service_sid=messaging_service_sid or None,
            status_callback=status_callback,
        )
        if due is not None:
            message.status = "scheduled"
            message.send_at = due
        elif messaging_service_sid:
            message.status = "accepted"  # a service picks the sender before queueing
        stored = self.state.add_message(message, via_api=True)
        if due is None:
            self.start_delivery(stored.sid, tuple(media_urls))
        else:
            urls = tuple(media_urls)
            self.scheduler.call_at(due, lambda: self._release(stored.sid, urls))
        return stored

    def _schedule(self, schedule_type: str, send_at: str, service_sid: str) -> datetime | None:
        """The SendAt of a scheduled create (None for a plain one), or Twilio's refusal."""
        if not schedule_type:
            return None
        if schedule_type != "fixed":
            raise TwilioApiError(400, 35126)
        if not service_sid:
            raise TwilioApiError(400, 35118)
        if not send_at:
            raise TwilioApiError(400, 35111)
        try:
            due = datetime.fromisoformat(send_at.replace("Z", "+00:00"))
        except ValueError:
            raise TwilioApiError(400, 35114) from None
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        lead = due - self.now()
        if not SCHEDULE_MIN_LEAD <= lead <= SCHEDULE_MAX_LEAD:
            raise TwilioApiError(
                400,
                35114,
                "SendAt time must be between 300 seconds and 35 days (3024000 seconds) "
                "in the future, inclusive.",
            )
        return due.astimezone(UTC)

    def _release(self, sid: str, media_urls: tuple[str, ...]) -> None:
        """SendAt reached: a still-scheduled message goes out like any other."""
        current = self.state.message(sid)
        if current is None or current.status != "scheduled":
            return
        if self.state.is_opted_out(current.to, current.from_):
            self._set_status(sid, "failed", 21610)
            return
        self._set_status(sid, "accepted", callback=False)
        self.start_delivery(sid, media_urls)

    def cancel_message(self, account: Account, sid: str) -> Message:
        """``POST /Messages/{SM}.json`` with ``Status=canceled``: only while ``scheduled``."""
        current = self.state.message(sid)
        if current is None or current.account_sid != account.sid:
            raise TwilioApiError(404, 20404)
        if current.status != "scheduled":
            raise TwilioApiError(400, 30409)
        self._set_status(sid, "canceled")
        found = self.state.message(sid)
        assert found is not None
        return found

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
            from_ = self._service_sender(account, messaging_service_sid, from_)
        elif not from_:
            raise TwilioApiError(400, 21603)
        number = self.state.number_by_phone(from_)
        if number is None or number.account_sid != account.sid:
            if E164.match(from_):
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

    def _service_sender(self, account: Account, service_sid: str, from_: str) -> str:
        """The sender of a ``MessagingServiceSid`` send: ``From`` when pinned (it must be in
        the pool), else the first number of the pool."""
        service = self.messaging.service(service_sid, account.sid)
        if service is None:
            raise TwilioApiError(400, 21701)
        pool = [
            number.phone_number
            for number in (self.state.number_by_sid(sid) for sid in service.number_sids)
            if number is not None
        ]
        if not pool:
            raise TwilioApiError(400, 21703, "The Messaging Service has no senders in its pool")
        if not from_:
            return pool[0]
        if from_ not in pool:
            raise TwilioApiError(
                400, 21606, f"The 'From' number {from_} is not in the Messaging Service's pool"
            )
        return from_

    def registration_block(self, message: Message) -> int | None:
        """The carrier error a text to a US phone gets for lack of registration, or None."""
        if not self.config.enforce_registration or region_of(message.to) != "US":
            return None
        number = self.state.number_by_phone(message.from_)
        if number is None:
            return None
        if is_toll_free(number.phone_number) or number.number_type == "tollfree":
            verifications = self.messaging.verifications(number.account_sid, number_sid=number.sid)
            approved = any(v.status == "TWILIO_APPROVED" for v in verifications)
            return None if approved else 30032
        if region_of(number.phone_number) != "US":
            return None
        service = self.messaging.service_of_number(number.sid)
        statuses = (
            {c.campaign_status for c in self.messaging.campaigns(service.sid)} if service else set()
        )
        if "VERIFIED" in statuses:
            return None
        return 30035 if "IN_PROGRESS" in statuses else 30034

    def new_outbound(
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

    def start_delivery(self, sid: str, media_urls: tuple[str, ...]) -> None:
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
        blocked = self.registration_block(message)
        if blocked is not None:
            self._set_status(sid, "failed", blocked)
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
