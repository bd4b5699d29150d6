"""The one wrapper around ``twilio.rest.Client``: every REST call Twoway makes goes through here.

Why a wrapper: the rest of the app must never see twilio-python objects or exceptions.
Calls return plain data (:mod:`desktop.gateway.rest_types` and the small records below) and
fail with :class:`~desktop.gateway.rest_types.TwilioProblem`, whose text a receptionist can
act on and whose flags tell the outbox what to do next (``permanent``: stop retrying;
``maybe_sent``: the request may have reached Twilio, look before sending again).

twilio is imported lazily, inside the methods, because importing it costs ~0.2 s and this
module is imported while the window is being painted.  Each thread gets its own client
(and so its own HTTP session and its own "last response" headers, for ``Retry-After``);
the client lives in that thread's local storage only, so its connections close when the
thread ends or the gateway is closed — the threads are long-lived workers, so the number
of sessions stays flat however many polls run.

With ``TWOWAY_TWILIO_API_URL`` every Twilio product is sent to that base (see
:func:`routed_url`): ``api.twilio.com`` as base + path, any other product as base +
``/<product>`` + path, so the simulator serves them all on one port.  The Messaging API
(services, A2P 10DLC, toll-free verification) is in :mod:`desktop.gateway.messaging`.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from desktop.gateway.rest_errors import (
    RateLimited,
    explain_error_code,
    network_problem,
    problem_for,
)
from desktop.gateway.rest_types import AccountInfo, IncomingNumber, TwilioProblem

if TYPE_CHECKING:
    from desktop.gateway.messaging import MessagingApi

__all__ = [
    "DEFAULT_API_URL",
    "RateLimited",
    "RemoteMedia",
    "RemoteMessage",
    "RestCredentials",
    "RestGateway",
    "SentMessage",
    "explain_error_code",
    "network_problem",
    "problem_for",
    "routed_url",
]

logger = logging.getLogger(__name__)

DEFAULT_API_URL: Final = "https://api.twilio.com"
CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 20.0
MAX_PAGE_SIZE: Final = 1000


class RestCredentials(Protocol):
    """What the gateway needs from :class:`desktop.core.TwilioCredentials`."""

    @property
    def account_sid(self) -> str: ...

    @property
    def rest_auth(self) -> tuple[str, str]: ...


@dataclass(frozen=True, slots=True)
class RemoteMessage:
    """One entry of Twilio's message log."""

    sid: str
    direction: str  # "inbound", "outbound-api", "outbound-reply", "outbound-call"
    from_number: str
    to_number: str
    body: str
    status: str
    error_code: int | None
    num_segments: int
    num_media: int
    created_at_ms: int
    sent_at_ms: int | None
    messaging_service_sid: str = ""

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    @property
    def log_time_ms(self) -> int:
        """The time Twilio sorts its log by (DateSent, or creation while still queued)."""
        return self.sent_at_ms if self.sent_at_ms is not None else self.created_at_ms


@dataclass(frozen=True, slots=True)
class RemoteMedia:
    sid: str
    content_type: str
    #: The authenticated media URL (no ``.json``), the same shape a webhook's MediaUrl has.
    url: str


@dataclass(frozen=True, slots=True)
class SentMessage:
    sid: str
    status: str
    error_code: int | None = None


# -- where requests go ------------------------------------------------------------------------


def routed_url(url: str, api_base_url: str = DEFAULT_API_URL) -> str:
    """Where a request for a Twilio ``url`` goes when the API base is overridden.

    ``https://api.twilio.com/2010-04-01/…`` becomes base + path and any other product,
    ``https://<product>.twilio.com/v1/…`` (with or without edge and region labels), base +
    ``/<product>`` + path: ``https://messaging.twilio.com/v1/Services`` →
    ``<base>/messaging/v1/Services``.  Other hosts (a media CDN) are left alone.
    """
    base = api_base_url.rstrip("/")
    if base == DEFAULT_API_URL:
        return url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host.endswith(".twilio.com"):
        return url
    product = host.split(".", 1)[0]
    prefix = "" if product == "api" else f"/{product}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}{prefix}{parts.path}{query}"


# -- the gateway -----------------------------------------------------------------------------


@cache
def _http_client_class() -> type[Any]:
    from twilio.http.http_client import TwilioHttpClient

    class TimedHttpClient(TwilioHttpClient):  # type: ignore[misc]
        """Separate connect/read timeouts, the last answer's headers (Retry-After), and
        every Twilio product sent to ``api_base_url`` (see :func:`routed_url`)."""

        def __init__(self, connect_timeout: float, read_timeout: float, api_base_url: str) -> None:
            super().__init__(timeout=read_timeout)
            # requests accepts (connect, read); twilio's constructor only checks a number.
            self.timeout = (connect_timeout, read_timeout)
            self.api_base_url = api_base_url
            self.last_headers: dict[str, str] = {}

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            self.last_headers = {}
            url = routed_url(url, self.api_base_url)
            response = super().request(method, url, *args, **kwargs)
            self.last_headers = {
                str(k).lower(): str(v) for k, v in (response.headers or {}).items()
            }
            return response

    return TimedHttpClient


class _ThreadClient:
    """One thread's twilio ``Client``; closes its HTTP session when dropped."""

    __slots__ = ("__weakref__", "client")

    def __init__(self, client: Any) -> None:
        self.client = client

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()

    def __del__(self) -> None:
        self.close()


class RestGateway:
    """Twilio's REST API for one set of credentials; safe to use from several threads."""

    def __init__(
        self,
        credentials: RestCredentials,
        api_base_url: str = DEFAULT_API_URL,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self._account_sid = credentials.account_sid
        self._auth = credentials.rest_auth
        self._base_url = api_base_url.rstrip("/")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._local = threading.local()
        self._clients: weakref.WeakSet[_ThreadClient] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._messaging: MessagingApi | None = None

    @property
    def account_sid(self) -> str:
        return self._account_sid

    @property
    def api_base_url(self) -> str:
        return self._base_url

    def close(self) -> None:
        """Close every thread's HTTP session (call once no request is running)."""
        with self._lock:
            clients = list(self._clients)
            self._clients = weakref.WeakSet()
            self._local = threading.local()
        for holder in clients:
            holder.close()

    def release_thread(self) -> None:
        """Close the calling thread's session now (a worker thread that is ending)."""
        holder: _ThreadClient | None = getattr(self._local, "client", None)
        if holder is not None:
            self._local.client = None
            holder.close()

    def sessions(self) -> int:
        """How many HTTP sessions are open (for the soak benchmark and tests)."""
        with self._lock:
            return len(self._clients)

    def _client(self) -> Any:
        holder: _ThreadClient | None = getattr(self._local, "client", None)
        if holder is None:
            from twilio.rest import Client

            http = _http_client_class()(self._connect_timeout, self._read_timeout, self._base_url)
            username, password = self._auth
            client = Client(username, password, self._account_sid, http_client=http)
            if self._base_url != DEFAULT_API_URL:
                # TWILIO_EDGE/TWILIO_REGION would rewrite the host we were told to use.
                client.edge = None
                client.region = None
            holder = _ThreadClient(client)
            with self._lock:
                self._local.client = holder
                self._clients.add(holder)
        return holder.client

    @property
    def messaging(self) -> MessagingApi:
        """Messaging Services, A2P 10DLC and toll-free verification (Messaging API v1)."""
        from desktop.gateway.messaging import MessagingApi

        if self._messaging is None:
            self._messaging = MessagingApi(self)
        return self._messaging

    def call(self, what: str, action: Any, *, sending: bool = False) -> Any:
        """Run ``action(client)`` on this thread's routed twilio ``Client`` (any product:
        ``client.messaging.v1``, ``client.sync.v1`` …); failures raise :class:`TwilioProblem`
        in plain words, ``what`` names the call in the log."""
        return self._call(what, action, sending=sending)

    def _call(self, what: str, action: Any, *, sending: bool = False) -> Any:
        """Run ``action(client)`` and turn every failure into a :class:`TwilioProblem`."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        client = self._client()
        try:
            return action(client)
        except TwilioRestException as exc:
            headers = client.http_client.last_headers
            problem = problem_for(
                exc.status,
                exc.code,
                str(exc.msg or ""),
                sending=sending,
                retry_after=headers.get("retry-after"),
            )
        except TwilioException as exc:
            # Paging errors carry the raw response instead of a parsed code.
            response = exc.args[1] if len(exc.args) > 1 else None
            status = getattr(response, "status_code", None)
            code, message = _error_body(getattr(response, "text", ""))
            if status is None:
                problem = TwilioProblem(
                    f"Twilio sent an answer Twoway cannot read ({exc.args[0]})."
                )
            else:
                headers = client.http_client.last_headers
                problem = problem_for(
                    status, code, message, sending=sending, retry_after=headers.get("retry-after")
                )
        except Exception as exc:
            network = network_problem(exc, sending=sending)
            if network is None:
                raise
            logger.info("%s failed: %s (%s)", what, network, type(exc).__name__)
            raise network from exc
        logger.info("%s failed: %s", what, problem)
        raise problem

    # -- account and numbers -------------------------------------------------------------------

    def fetch_account(self) -> AccountInfo:
        """The account's name and its numbers; also how credentials are checked."""
        try:
            account = self._call(
                "Account check", lambda c: c.api.v2010.accounts(self._account_sid).fetch()
            )
        except TwilioProblem as problem:
            if problem.status != 404:
                raise
            raise TwilioProblem(
                "These credentials do not belong to that Account SID. Check that the Account "
                "SID and the API key come from the same Twilio account.",
                code=problem.code,
                status=404,
                permanent=True,
            ) from None
        return AccountInfo(
            account_sid=str(account.sid),
            friendly_name=str(account.friendly_name or ""),
            status=str(account.status or ""),
            numbers=self.list_numbers(),
        )

    def list_numbers(self) -> tuple[IncomingNumber, ...]:
        records = self._call(
            "Listing numbers", lambda c: list(c.incoming_phone_numbers.stream(page_size=100))
        )
        return tuple(_number(r) for r in records)

    def fetch_number(self, number_sid: str) -> IncomingNumber:
        record = self._call(
            "Reading the number", lambda c: c.incoming_phone_numbers(number_sid).fetch()
        )
        return _number(record)

    def set_sms_url(self, number_sid: str, url: str, method: str = "POST") -> IncomingNumber:
        record = self._call(
            "Setting the number's webhook",
            lambda c: c.incoming_phone_numbers(number_sid).update(sms_url=url, sms_method=method),
        )
        return _number(record)

    # -- messages ----------------------------------------------------------------------------

    def send_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
        messaging_service_sid: str | None = None,
        send_at: datetime | None = None,
    ) -> SentMessage:
        """``POST /Messages.json``; a failure says whether the message may have gone out.

        With ``messaging_service_sid`` the text goes through that Messaging Service (its
        registration, opt-out rules and status callbacks apply; the first status is
        ``accepted``) while ``From`` stays pinned to ``from_``, so threads stay per number.
        With ``send_at`` (aware) as well, Twilio holds it until then (``ScheduleType=fixed``;
        the first status is ``scheduled``); Twilio refuses times outside its window (35114).
        """
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
        if messaging_service_sid:
            kwargs["messaging_service_sid"] = messaging_service_sid
        if send_at is not None:
            if send_at.tzinfo is None:
                raise ValueError("send_at must carry its time zone")
            # twilio-python writes the datetime as is with a "Z": it must already be UTC.
            kwargs["schedule_type"] = "fixed"
            kwargs["send_at"] = send_at.astimezone(UTC).replace(microsecond=0)
        if media_urls:
            kwargs["media_url"] = list(media_urls)
        if status_callback:
            kwargs["status_callback"] = status_callback
        record = self._call("Sending", lambda c: c.messages.create(**kwargs), sending=True)
        return SentMessage(str(record.sid), str(record.status or "queued"), record.error_code)

    def cancel_message(self, sid: str) -> RemoteMessage:
        """``POST /Messages/{SM}.json`` ``Status=canceled``: call off a scheduled text.

        Twilio refuses (30409) once the text is no longer ``scheduled``."""
        record = self._call(
            "Canceling a scheduled text",
            lambda c: c.messages(sid).update(status="canceled"),
        )
        return _message(record)

    def fetch_message(self, sid: str) -> RemoteMessage:
        return _message(self._call("Reading a message", lambda c: c.messages(sid).fetch()))

    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        sent_on_or_before: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]:
        """Twilio's log, newest first, one page at a time (follows ``next_page_uri``).

        The date filters are whole GMT days, both ends included.
        """
        kwargs: dict[str, Any] = {"page_size": max(1, min(page_size, MAX_PAGE_SIZE))}
        if to:
            kwargs["to"] = to
        if from_:
            kwargs["from_"] = from_
        if sent_on_or_after is not None:
            kwargs["date_sent_after"] = sent_on_or_after.isoformat()
        if sent_on_or_before is not None:
            kwargs["date_sent_before"] = sent_on_or_before.isoformat()
        page = self._call("Listing messages", lambda c: c.messages.page(**kwargs))
        while page is not None:
            records = self._call("Listing messages", lambda _c, p=page: list(p))
            yield [_message(r) for r in records]
            if not page.next_page_url:
                return
            page = self._call("Listing messages", lambda _c, p=page: p.next_page())

    def list_media(self, message_sid: str) -> tuple[RemoteMedia, ...]:
        records = self._call(
            "Listing pictures", lambda c: list(c.messages(message_sid).media.stream(page_size=20))
        )
        media: list[RemoteMedia] = []
        for record in records:
            uri = str(record.uri or "")
            if uri.endswith(".json"):
                uri = uri[: -len(".json")]
            media.append(
                RemoteMedia(str(record.sid), str(record.content_type or ""), self._absolute(uri))
            )
        return tuple(media)

    def _absolute(self, uri: str) -> str:
        if urlsplit(uri).scheme:
            return uri
        return self._base_url + "/" + uri.lstrip("/")


def _error_body(text: str) -> tuple[int | None, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return None, ""
    if not isinstance(data, Mapping):
        return None, ""
    code = data.get("code")
    return (
        int(code)
        if isinstance(code, int | str) and str(code).isascii() and str(code).isdigit()
        else None
    ), str(data.get("message") or "")


def _number(record: Any) -> IncomingNumber:
    capabilities = record.capabilities or {}
    get = capabilities.get if isinstance(capabilities, Mapping) else (lambda _k, _d=None: False)
    return IncomingNumber(
        sid=str(record.sid),
        e164=str(record.phone_number),
        friendly_name=str(record.friendly_name or ""),
        sms=bool(get("sms", False)),
        mms=bool(get("mms", False)),
        voice=bool(get("voice", False)),
        sms_url=str(record.sms_url or ""),
        sms_method=str(record.sms_method or "POST").upper(),
    )


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _int(raw: object, default: int) -> int:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return default


def _message(record: Any) -> RemoteMessage:
    created = _ms(record.date_created)
    sent = _ms(record.date_sent)
    return RemoteMessage(
        sid=str(record.sid),
        direction=str(record.direction or ""),
        from_number=str(record.from_ or ""),
        to_number=str(record.to or ""),
        body=str(record.body or ""),
        status=str(record.status or "").lower(),
        error_code=record.error_code or None,
        num_segments=max(1, _int(record.num_segments, 1)),
        num_media=max(0, _int(record.num_media, 0)),
        created_at_ms=created if created is not None else (sent or 0),
        sent_at_ms=sent,
        messaging_service_sid=str(record.messaging_service_sid or ""),
    )
