"""``SimulatedTwilio``: the simulator's front door for the demo and for tests.

It owns two loopback HTTP servers — the REST API and the media host — plus the worker
threads that deliver webhooks and move messages through their statuses.  The app talks
to it only over HTTP, through the ordinary twilio-python client pointed at
:attr:`SimulatedTwilio.base_url`; tests and the demo personas use the Python methods here
to play the customer, the carrier and the network (and :attr:`SimulatedTwilio.console`
to play the person setting up Messaging Services and registration).

Twilio products share the REST server the way ``TWOWAY_TWILIO_API_URL`` routes them:
``api.twilio.com`` at the root (``/2010-04-01/…``) and every other product under
``/<product>`` (``/messaging/v1/…``).  To add a product, build its WSGI app in
:meth:`SimulatedTwilio._products` under its host's first label.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from desktop.simulator.config import SimulatorConfig
from desktop.simulator.console import SimConsole
from desktop.simulator.encoding import count_segments
from desktop.simulator.engine import SimEngine
from desktop.simulator.faults import FaultPlan
from desktop.simulator.images import solid_png
from desktop.simulator.media_host import MediaHost
from desktop.simulator.messaging_api import MessagingApi
from desktop.simulator.messaging_state import MessagingState
from desktop.simulator.resources import media_path
from desktop.simulator.rest_api import RestApi
from desktop.simulator.scheduling import Scheduler, SimClock
from desktop.simulator.state import (
    Account,
    DeliveryAttempt,
    Geo,
    Listener,
    Media,
    Message,
    PhoneNumber,
    SimState,
    new_secret,
    new_sid,
)
from desktop.simulator.sync_api import SyncApi
from desktop.simulator.sync_state import SyncState
from desktop.simulator.webhooks import HttpDeliverer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """No access log: media-host paths carry secret tokens."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("simulator HTTP server reported %s", type)


class _ServerThread:
    """One Werkzeug server on 127.0.0.1, any free port, in a daemon thread."""

    def __init__(self, app: WSGIApplication, name: str) -> None:
        self._app = app
        self._name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self._name} is not running: call start() first")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns promptly
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None


def _stop_all(servers: Iterable[_ServerThread]) -> None:
    """Stop servers in parallel: each shutdown waits for one poll interval."""
    threads = [threading.Thread(target=server.stop) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class SimulatedTwilio:
    """A stateful, thread-safe stand-in for Twilio's messaging API on loopback."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        friendly_name: str = "Simulated Account",
        config: SimulatorConfig | None = None,
        clock: SimClock | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.clock = clock or SimClock()
        self.rng = random.Random(self.config.random_seed)  # noqa: S311 - simulation only
        self.state = SimState()
        self.faults = FaultPlan(random.Random(self.rng.random()))  # noqa: S311
        self.scheduler = Scheduler(self.clock, max_workers=self.config.max_workers)
        self.media_host = MediaHost(self.state.media, token_ttl=self.config.media_token_ttl)
        self.deliverer = HttpDeliverer(
            self.state,
            connect_timeout=self.config.webhook_connect_timeout,
            total_timeout=self.config.webhook_total_timeout,
            media_timeout=self.config.media_fetch_timeout,
        )
        self.messaging = MessagingState()
        #: Twilio Sync (team mode's shared state); ``sync.requests(account)`` meters it.
        self.sync = SyncState(self.clock.now)
        self.engine = SimEngine(
            state=self.state,
            faults=self.faults,
            scheduler=self.scheduler,
            deliverer=self.deliverer,
            config=self.config,
            api_base_url=lambda: self.base_url,
            messaging=self.messaging,
        )
        mounts = {f"/{name}": app for name, app in self._products().items()}
        front = DispatcherMiddleware(RestApi(self.engine, self.media_host), mounts)
        self._rest = _ServerThread(front, "sim-rest-api")
        self._cdn = _ServerThread(self.media_host, "sim-media-host")
        self._started = False
        primary = self.add_account(friendly_name, account_sid=account_sid, auth_token=auth_token)
        self.account_sid = primary.sid
        self.auth_token = primary.auth_token
        self.console = SimConsole(self.state, self.messaging, self.clock.now, self.account_sid)

    def _products(self) -> dict[str, WSGIApplication]:
        """Twilio products other than ``api``, by the first label of their host name."""
        return {
            "messaging": MessagingApi(self.state, self.messaging, self.faults, self.clock.now),
            "sync": SyncApi(self.state, self.sync, self.faults),
        }

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what ``client.api.base_url`` should be set to."""
        return self._rest.url

    @property
    def media_host_url(self) -> str:
        return self._cdn.url

    def start(self) -> Self:
        if self._started:
            return self
        self._cdn.start()
        self.media_host.base_url = self._cdn.url
        self._rest.start()
        self.scheduler.start()
        self._started = True
        logger.info("simulated Twilio listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop the servers and background work; pending deliveries are abandoned."""
        self.scheduler.stop()
        _stop_all((self._rest, self._cdn))
        self._started = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- setting up accounts and numbers ------------------------------------------------

    def add_account(
        self,
        friendly_name: str,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
    ) -> Account:
        now = self.clock.now()
        return self.state.add_account(
            Account(
                sid=account_sid or new_sid("AC"),
                auth_token=auth_token or new_secret(),
                friendly_name=friendly_name,
                date_created=now - timedelta(days=400),
                date_updated=now - timedelta(days=400),
            )
        )

    def add_api_key(self, account_sid: str | None = None) -> tuple[str, str]:
        """A new API key ``(SK…, secret)`` that authenticates as the account."""
        key_sid, secret = new_sid("SK"), new_secret()
        self.state.add_api_key(account_sid or self.account_sid, key_sid, secret)
        return key_sid, secret

    def add_number(
        self,
        phone_number: str,
        *,
        account_sid: str | None = None,
        friendly_name: str | None = None,
        sms_url: str = "",
        sms_method: str = "POST",
        capabilities: dict[str, bool] | None = None,
        geo: Geo | None = None,
        number_type: str = "local",
    ) -> PhoneNumber:
        now = self.clock.now()
        number = PhoneNumber(
            sid=new_sid("PN"),
            account_sid=account_sid or self.account_sid,
            phone_number=phone_number,
            friendly_name=friendly_name or _pretty(phone_number),
            date_created=now - timedelta(days=200),
            date_updated=now - timedelta(days=200),
            sms_url=sms_url,
            sms_method=sms_method.upper(),
            geo=geo or Geo(),
            number_type=number_type,
        )
        if capabilities is not None:
            number.capabilities = {**number.capabilities, **capabilities}
        return self.state.add_number(number)

    def add_messaging_service(
        self,
        phone_numbers: Sequence[str],
        account_sid: str | None = None,
        *,
        friendly_name: str = "Sole proprietor messaging",
        inbound_request_url: str = "",
        use_inbound_webhook_on_number: bool = False,
    ) -> str:
        """A Messaging Service holding ``phone_numbers``; see :meth:`SimConsole.add_service`."""
        return self.console.add_service(
            phone_numbers,
            account_sid=account_sid,
            friendly_name=friendly_name,
            inbound_request_url=inbound_request_url,
            use_inbound_webhook_on_number=use_inbound_webhook_on_number,
        )

    def set_sms_url(self, phone_number: str, url: str, method: str = "POST") -> PhoneNumber:
        """What the app does over REST, for tests that only care about inbound."""
        number = self._number_or_raise(phone_number)
        return self.state.update_number(
            number.sid, self.clock.now(), sms_url=url, sms_method=method.upper()
        )

    # -- playing the customer -----------------------------------------------------------

    def send_inbound(
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
        """A customer texts ``to``; the webhook is delivered in the background."""
        return self.engine.receive(
            from_,
            to,
            body,
            media,
            from_geo=from_geo,
            to_geo=to_geo,
            messaging_service_sid=messaging_service_sid,
        )

    def add_history_message(
        self,
        *,
        from_: str,
        to: str,
        body: str,
        at: datetime,
        direction: str = "inbound",
        status: str | None = None,
        media: Sequence[tuple[str, bytes]] = (),
        error_code: int | None = None,
        sid: str | None = None,
    ) -> Message:
        """A message that happened in the past: no webhook, no callbacks, no events.

        ``sid`` fixes its SID (the demo's history keeps the same SIDs from run to run).
        """
        ours = to if direction == "inbound" else from_
        number = self._number_or_raise(ours)
        message = _history_message(
            number.account_sid, from_, to, body, at, direction, status, media, error_code
        )
        if sid is not None:
            message.sid = sid
            for item in message.media:
                item.message_sid = sid
        self.state.add_messages([message], emit=False)
        return message

    def seed_history(
        self,
        count: int,
        *,
        our_number: str | None = None,
        contacts: int | Sequence[str] = 20,
        days: float = 30.0,
        end: datetime | None = None,
        media_every: int = 0,
    ) -> list[str]:
        """``count`` past messages spread evenly over ``days`` up to ``end`` (oldest first).

        Even indexes are inbound, odd ones outbound and delivered.  Fast: one lock, no
        HTTP, no events.
        """
        number = self._number_or_raise(our_number) if our_number else self._first_number()
        people = (
            [f"+1971555{100 + i % 100:04d}" for i in range(contacts)]
            if isinstance(contacts, int)
            else list(contacts)
        )
        end = end or self.clock.now() - timedelta(minutes=1)
        span = timedelta(days=days)
        messages: list[Message] = []
        for index in range(count):
            at = end - span * ((count - index) / count)
            contact = people[index % len(people)]
            inbound = index % 2 == 0
            media = (
                [("image/png", solid_png(8, 8, (90, 160, 220)))]
                if media_every and index % media_every == 0
                else []
            )
            messages.append(
                _history_message(
                    number.account_sid,
                    contact if inbound else number.phone_number,
                    number.phone_number if inbound else contact,
                    f"Seeded message {index + 1} of {count}",
                    at,
                    "inbound" if inbound else "outbound-api",
                    None,
                    media,
                    None,
                )
            )
        self.state.add_messages(messages, emit=False)
        return [m.sid for m in messages]

    # -- looking at what happened -------------------------------------------------------

    def message(self, sid: str) -> Message | None:
        return self.state.message(sid)

    def messages(
        self,
        account_sid: str | None = None,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on: date | None = None,
        sent_after: date | None = None,
        sent_before: date | None = None,
    ) -> list[Message]:
        """The account's messages, newest first, filtered like the REST list."""
        return self.state.messages(
            account_sid or self.account_sid,
            to=to,
            from_=from_,
            sent_on=sent_on,
            sent_after=sent_after,
            sent_before=sent_before,
        )

    def number(self, phone_or_sid: str) -> PhoneNumber | None:
        return self.state.number_by_sid(phone_or_sid) or self.state.number_by_phone(phone_or_sid)

    def numbers(self, account_sid: str | None = None) -> list[PhoneNumber]:
        return self.state.numbers(account_sid or self.account_sid)

    def media_url(self, media: Media) -> str:
        """The authenticated media URL a webhook announces as ``MediaUrl{N}``."""
        return self.base_url + media_path(media)

    def deliveries(
        self, kind: str | None = None, message_sid: str | None = None
    ) -> list[DeliveryAttempt]:
        return self.state.deliveries(kind, message_sid)

    def wait_for_deliveries(
        self,
        count: int,
        *,
        kind: str | None = None,
        message_sid: str | None = None,
        timeout: float = 5.0,
    ) -> list[DeliveryAttempt]:
        """Block until ``count`` matching attempts were recorded; raise TimeoutError."""
        ok = self.state.wait_until(
            lambda: len(self.state.deliveries(kind, message_sid)) >= count, timeout
        )
        if not ok:
            found = len(self.state.deliveries(kind, message_sid))
            raise TimeoutError(f"expected {count} {kind or ''} deliveries, saw {found}")
        return self.state.deliveries(kind, message_sid)

    def wait_for_status(self, sid: str, status: str, timeout: float = 5.0) -> Message:
        def reached() -> bool:
            found = self.state.message(sid)
            return found is not None and found.status == status

        if not self.state.wait_until(reached, timeout):
            raise TimeoutError(f"{sid} did not reach {status}")
        found = self.state.message(sid)
        assert found is not None
        return found

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass at once; scheduled texts that fall due go out."""
        self.scheduler.advance(seconds)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait for a condition on the simulator's state (re-checked on every change)."""
        return self.state.wait_until(predicate, timeout)

    def create_count(self, to: str, body: str) -> int:
        """Messages Twilio accepted for this (To, Body): proves "never a double text"."""
        return self.state.create_count(to, body)

    def create_attempt_count(self, to: str, body: str) -> int:
        """Every ``POST /Messages.json`` for this (To, Body), refused ones included."""
        return self.state.create_attempt_count(to, body)

    def is_opted_out(self, customer: str, our_number: str) -> bool:
        return self.state.is_opted_out(customer, our_number)

    def subscribe(self, listener: Listener) -> None:
        """Hear about created/updated messages and numbers (called from server threads)."""
        self.state.subscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self.state.unsubscribe(listener)

    # -- helpers ------------------------------------------------------------------------

    def _number_or_raise(self, phone: str) -> PhoneNumber:
        number = self.number(phone)
        if number is None:
            raise ValueError(f"{phone} is not a simulated number")
        return number

    def _first_number(self) -> PhoneNumber:
        numbers = self.numbers()
        if not numbers:
            raise ValueError("the account has no numbers: call add_number() first")
        return numbers[0]


def _history_message(
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    at: datetime,
    direction: str,
    status: str | None,
    media: Iterable[tuple[str, bytes]],
    error_code: int | None,
) -> Message:
    media = list(media)
    sid = new_sid("MM" if media else "SM")
    final = status or ("received" if direction == "inbound" else "delivered")
    return Message(
        sid=sid,
        account_sid=account_sid,
        from_=from_,
        to=to,
        body=body,
        direction=direction,
        status=final,
        num_segments=count_segments(body),
        num_media=len(media),
        date_created=at,
        date_updated=at + timedelta(seconds=3),
        date_sent=at,
        error_code=error_code,
        price="-0.00790",
        media=[Media(new_sid("ME"), sid, account_sid, ct, data, at) for ct, data in media],
    )


def _pretty(phone: str) -> str:
    """``(503) 555-0100`` for a US number, like Twilio's default friendly name."""
    digits = phone.removeprefix("+1")
    if phone.startswith("+1") and len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return phone
