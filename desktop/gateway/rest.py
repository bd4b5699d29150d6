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
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from desktop.gateway.rest_types import AccountInfo, IncomingNumber, TwilioProblem

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


class RateLimited(TwilioProblem):
    """Twilio asked us to slow down; ``retry_after_s`` is its ``Retry-After`` when given."""

    def __init__(
        self, message: str, *, code: int | None, status: int | None, retry_after_s: float | None
    ) -> None:
        super().__init__(message, code=code, status=status, permanent=False, maybe_sent=False)
        self.retry_after_s = retry_after_s


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


# -- error codes in plain words --------------------------------------------------------------

#: Errors a REST call can fail with: (what to tell staff, whether retrying can help).
_REST_ERRORS: Final[dict[int, tuple[str, bool]]] = {
    20003: (
        "Twilio did not accept the Account SID and Auth Token (or API key). "
        "Check them in Settings.",
        True,
    ),
    20404: ("Twilio could not find that on your account.", True),
    20429: ("Twilio is limiting how fast messages go out. Twoway will try again shortly.", False),
    21211: (
        "Twilio says the number you are texting is not a valid phone number. Check it for a typo.",
        True,
    ),
    21212: (
        "Twilio does not accept the number this message would be sent from. "
        "Choose another of your numbers in Settings.",
        True,
    ),
    21408: (
        "Your Twilio account is not allowed to text this country yet. Turn it on in the "
        "Twilio Console under Messaging › Settings › Geo permissions.",
        True,
    ),
    21602: ("The message is empty: type some text or attach a picture.", True),
    21603: ("No number to send from. Choose one of your Twilio numbers in Settings.", True),
    21604: ("There is no number to send this message to.", True),
    21606: (
        "Your number cannot send this message: it is not enabled for texting (or for "
        "pictures) to this recipient. Choose another of your numbers.",
        True,
    ),
    21610: (
        "This customer replied STOP, so Twilio will not deliver texts to them. "
        "They can text START to receive messages again.",
        True,
    ),
    21612: ("Twilio cannot route texts between these two numbers.", True),
    21614: ("This number cannot receive texts: it is not a mobile number.", True),
    21617: ("The message is longer than Twilio allows (1,600 characters).", True),
    21620: ("Twilio could not use the picture's address. Try attaching it again.", True),
    21623: ("The picture is too large for a text message. Attach a smaller one.", True),
}

#: Delivery outcomes (status callbacks), for the tooltip on a failed or undelivered message.
_DELIVERY_ERRORS: Final[dict[int, str]] = {
    11200: "Twilio could not fetch the picture from Twoway (the public link may have been down).",
    30001: "Too many messages were waiting at Twilio for this number. Send more slowly.",
    30002: "Twilio suspended the account. Check the Twilio Console.",
    30003: "The customer's phone is switched off or out of reach.",
    30004: (
        "The message was blocked: the customer may have blocked your number, "
        "or their carrier blocks it."
    ),
    30005: "The customer's number does not exist or is no longer in service.",
    30006: "This number cannot receive texts: it is a landline, or its carrier cannot be reached.",
    30007: (
        "The carrier filtered this message as spam. Avoid link shorteners and all capitals, and "
        "make sure your number is registered for business texting."
    ),
    30008: "The carrier could not deliver the message and gave no reason. Try again later.",
    30032: "Your toll-free number is not verified yet, so carriers block its texts.",
    30034: (
        "US carriers block texts from numbers that are not registered for business texting "
        "(A2P 10DLC). Register the number in the Twilio Console."
    ),
}


def explain_error_code(code: int | None) -> str:
    """A sentence staff understand for Twilio's error ``code`` (for tooltips and dialogs)."""
    if code is None:
        return ""
    if code in _DELIVERY_ERRORS:
        return f"{_DELIVERY_ERRORS[code]} (Twilio error {code})"
    if code in _REST_ERRORS:
        return f"{_REST_ERRORS[code][0]} (Twilio error {code})"
    return f"Twilio reported error {code}; twilio.com/docs/errors/{code} explains it."


def problem_for(
    status: int | None,
    code: int | None,
    twilio_message: str = "",
    *,
    sending: bool = False,
    retry_after: str | None = None,
) -> TwilioProblem:
    """The :class:`TwilioProblem` for an error answer from Twilio (HTTP ``status``, ``code``)."""
    if code == 20429 or status == 429:
        return RateLimited(
            f"{_REST_ERRORS[20429][0]} (Twilio error {code or 20429})",
            code=code or 20429,
            status=status,
            retry_after_s=_retry_after_seconds(retry_after),
        )
    if code in _REST_ERRORS:
        text, permanent = _REST_ERRORS[code]
        return TwilioProblem(
            f"{text} (Twilio error {code})", code=code, status=status, permanent=permanent
        )
    suffix = f" (Twilio error {code})" if code else f" (HTTP {status})"
    if status == 401:
        text = _REST_ERRORS[20003][0]
        return TwilioProblem(text + suffix, code=code, status=status, permanent=True)
    if status == 403:
        return TwilioProblem(
            "Twilio refused this request: the account or API key is not allowed to do it." + suffix,
            code=code,
            status=status,
            permanent=True,
        )
    if status is not None and status >= 500:
        # A 503 comes from Twilio's front door (nothing was done); other 5xx on a send
        # may have happened after the message was accepted.
        return TwilioProblem(
            "Twilio is having trouble right now. Twoway will try again." + suffix,
            code=code,
            status=status,
            permanent=False,
            maybe_sent=sending and status != 503,
        )
    said = f": {twilio_message.strip().rstrip('.')}." if twilio_message.strip() else "."
    return TwilioProblem(
        f"Twilio refused the request{said}" + suffix, code=code, status=status, permanent=True
    )


def _retry_after_seconds(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return max(0.0, min(float(raw.strip()), 3600.0))
    except ValueError:
        return None


def network_problem(exc: BaseException, *, sending: bool) -> TwilioProblem | None:
    """Explain a requests/urllib3 failure; None when ``exc`` is not a network error.

    Only a failure *before* the request left this computer (DNS, refused connection,
    connect timeout, TLS handshake) is certainly unsent; anything later may have reached
    Twilio, which is what ``maybe_sent`` tells the outbox.
    """
    import requests

    if not isinstance(exc, requests.RequestException):
        return None
    causes = _causes(exc)
    names = {type(c).__name__ for c in causes}
    if "NameResolutionError" in names or any("resolve" in str(c).lower() for c in causes):
        return TwilioProblem(
            "Cannot reach Twilio: this computer could not look up Twilio's address. "
            "Check the internet connection."
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TwilioProblem(
            "Cannot open a secure connection to Twilio (a firewall or proxy may be interfering)."
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout) or "ConnectTimeoutError" in names:
        return TwilioProblem("Cannot reach Twilio: the connection timed out. Check the internet.")
    if "NewConnectionError" in names or isinstance(exc, requests.exceptions.ProxyError):
        return TwilioProblem("Cannot reach Twilio: the internet connection seems to be down.")
    if isinstance(exc, requests.exceptions.Timeout):
        return TwilioProblem("Twilio did not answer in time.", maybe_sent=sending)
    return TwilioProblem(
        "The connection to Twilio broke off before it answered.", maybe_sent=sending
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (requests → urllib3 → socket errors)."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(found) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in found:
            continue
        found.append(item)
        todo.extend(item.args)
        todo.extend((item.__cause__, item.__context__, getattr(item, "reason", None)))
    return found


# -- the gateway -----------------------------------------------------------------------------


@cache
def _http_client_class() -> type[Any]:
    from twilio.http.http_client import TwilioHttpClient

    class TimedHttpClient(TwilioHttpClient):  # type: ignore[misc]
        """Separate connect/read timeouts, and the last answer's headers (Retry-After)."""

        def __init__(self, connect_timeout: float, read_timeout: float) -> None:
            super().__init__(timeout=read_timeout)
            # requests accepts (connect, read); twilio's constructor only checks a number.
            self.timeout = (connect_timeout, read_timeout)
            self.last_headers: dict[str, str] = {}

        def request(self, *args: Any, **kwargs: Any) -> Any:
            self.last_headers = {}
            response = super().request(*args, **kwargs)
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

            http = _http_client_class()(self._connect_timeout, self._read_timeout)
            username, password = self._auth
            client = Client(username, password, self._account_sid, http_client=http)
            if self._base_url != DEFAULT_API_URL:
                client.api.base_url = self._base_url
                # TWILIO_EDGE/TWILIO_REGION would rewrite the host we were told to use.
                client.edge = None
                client.region = None
            holder = _ThreadClient(client)
            with self._lock:
                self._local.client = holder
                self._clients.add(holder)
        return holder.client

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
    ) -> SentMessage:
        """``POST /Messages.json``; a failure says whether the message may have gone out."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
        if media_urls:
            kwargs["media_url"] = list(media_urls)
        if status_callback:
            kwargs["status_callback"] = status_callback
        record = self._call("Sending", lambda c: c.messages.create(**kwargs), sending=True)
        return SentMessage(str(record.sid), str(record.status or "queued"), record.error_code)

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
    return (int(code) if isinstance(code, int | str) and str(code).isdigit() else None), str(
        data.get("message") or ""
    )


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
