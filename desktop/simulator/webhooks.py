"""Outgoing HTTP as Twilio does it: signed webhooks, status callbacks and media fetches.

Built on :mod:`http.client` so that the connect phase and the rest of the exchange have
separate timeouts (Twilio: 5 s to connect, 15 s in all) and so that "the connection
failed" can be told apart from "the receiver was slow" — only the former is retried.
Every attempt is recorded in :class:`~desktop.simulator.state.SimState` for tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urljoin, urlsplit

from desktop.simulator.state import DeliveryAttempt, SimState

logger = logging.getLogger(__name__)

_USER_AGENT = "TwilioProxy/1.1"
_MAX_BODY = 5 * 1024 * 1024
_MAX_REDIRECTS = 5

Params = Sequence[tuple[str, str]]


def compute_signature(url: str, params: Params, auth_token: str) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 over the URL plus each sorted key+value pair."""
    payload = url
    for name in sorted({key for key, _ in params}):
        for value in sorted({v for k, v in params if k == name}):
            payload += name + value
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


class ConnectFailure(OSError):
    """The TCP (or TLS) connection could not be made: the one case Twilio retries."""


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int
    content_type: str
    body: bytes
    location: str


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connect_timeout: float,
    total_timeout: float,
    max_body: int = _MAX_BODY,
) -> HttpResult:
    """One request with a connect deadline and an overall deadline.

    Raises :class:`ConnectFailure` when no connection could be made, ``TimeoutError`` or
    another ``OSError``/``HTTPException`` when it failed afterwards.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectFailure(f"unsupported URL scheme {parts.scheme!r}")
    started = time.monotonic()
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(parts.hostname, parts.port, timeout=min(connect_timeout, total_timeout))
    try:
        try:
            conn.connect()
        except OSError as exc:
            raise ConnectFailure(str(exc)) from exc
        remaining = total_timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError("no time left after connecting")
        assert conn.sock is not None
        conn.sock.settimeout(remaining)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size < max_body:
            if time.monotonic() - started > total_timeout:
                raise TimeoutError("response took longer than the total timeout")
            chunk = response.read(min(65536, max_body - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return HttpResult(
            status=response.status,
            content_type=response.getheader("Content-Type", "") or "",
            body=b"".join(chunks),
            location=response.getheader("Location", "") or "",
        )
    finally:
        conn.close()


class HttpDeliverer:
    """Sends Twilio's outgoing requests and records each attempt."""

    def __init__(
        self,
        state: SimState,
        *,
        connect_timeout: float,
        total_timeout: float,
        media_timeout: float,
    ) -> None:
        self._state = state
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._media_timeout = media_timeout

    def post_form(
        self,
        kind: str,
        url: str,
        params: Params,
        *,
        auth_token: str,
        message_sid: str,
        method: str = "POST",
        classify: Callable[[DeliveryAttempt], int | None] | None = None,
    ) -> DeliveryAttempt:
        """Deliver a signed webhook; retry once if, and only if, the connection failed."""
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        if method == "GET":
            separator = "&" if urlsplit(url).query else "?"
            target = url + separator + urlencode(params) if params else url
            signature = compute_signature(target, (), auth_token)
            body = None
        else:
            target = url
            signature = compute_signature(url, params, auth_token)
            body = urlencode(params).encode("utf-8")
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": _USER_AGENT,
            "Accept": "*/*",
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
        attempt = DeliveryAttempt(
            kind=kind,
            url=target,
            method=method,
            params=tuple(params),
            message_sid=message_sid,
            status_code=None,
            response_body="",
            content_type="",
            signature=signature,
            request_headers=tuple(headers.items()),
        )
        for try_number in (1, 2):
            started = time.monotonic()
            try:
                result = http_request(
                    method,
                    target,
                    body=body,
                    headers=headers,
                    connect_timeout=self._connect_timeout,
                    total_timeout=self._total_timeout,
                    max_body=64 * 1024,
                )
            except ConnectFailure as exc:
                failed = replace(
                    attempt,
                    error=f"connect failed: {exc}",
                    error_code=11205,
                    duration=time.monotonic() - started,
                )
                self._state.record_delivery(failed)
                if try_number == 1:
                    continue
                return failed
            except (OSError, http.client.HTTPException) as exc:
                failed = replace(
                    attempt,
                    error=f"{type(exc).__name__}: {exc}",
                    error_code=11205,
                    duration=time.monotonic() - started,
                )
                self._state.record_delivery(failed)
                return failed
            done = replace(
                attempt,
                status_code=result.status,
                response_body=result.body.decode("utf-8", "replace"),
                content_type=result.content_type,
                duration=time.monotonic() - started,
                error_code=None if 200 <= result.status < 300 else 11200,
            )
            if classify is not None and done.error_code is None:
                done = replace(done, error_code=classify(done))
            self._state.record_delivery(done)
            return done
        raise AssertionError("unreachable")

    def fetch_media(self, url: str, message_sid: str) -> tuple[DeliveryAttempt, bytes | None]:
        """GET an outbound ``MediaUrl`` without credentials, following redirects."""
        attempt = DeliveryAttempt(
            kind="media_fetch",
            url=url,
            method="GET",
            params=(),
            message_sid=message_sid,
            status_code=None,
            response_body="",
            content_type="",
            request_headers=(("User-Agent", _USER_AGENT),),
        )
        started = time.monotonic()
        target = url
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                result = http_request(
                    "GET",
                    target,
                    headers={"User-Agent": _USER_AGENT, "Accept": "*/*"},
                    connect_timeout=self._connect_timeout,
                    total_timeout=self._media_timeout,
                )
                if result.status in (301, 302, 303, 307, 308) and result.location:
                    target = urljoin(target, result.location)
                    continue
                break
        except (OSError, http.client.HTTPException) as exc:
            failed = replace(
                attempt,
                error=f"{type(exc).__name__}: {exc}",
                error_code=11200,
                duration=time.monotonic() - started,
            )
            self._state.record_delivery(failed)
            return failed, None
        content_type = result.content_type.split(";")[0].strip()
        error_code: int | None = None
        if not 200 <= result.status < 300:
            error_code = 11200
        elif not content_type:
            error_code = 12300
        done = replace(
            attempt,
            status_code=result.status,
            content_type=result.content_type,
            error_code=error_code,
            duration=time.monotonic() - started,
        )
        self._state.record_delivery(done)
        return done, (result.body if error_code is None else None)


# -- TwiML ----------------------------------------------------------------------------

_XML_TYPES = ("text/xml", "application/xml", "text/html")


@dataclass(frozen=True, slots=True)
class TwimlReply:
    body: str
    media_urls: tuple[str, ...] = ()
    to: str = ""
    from_: str = ""
    action: str = ""


class TwimlError(ValueError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_reply(content_type: str, body: str) -> list[TwimlReply]:
    """What Twilio would send back for a webhook answer; raises :class:`TwimlError`."""
    mime = content_type.split(";")[0].strip().lower()
    if not mime:
        raise TwimlError(12300, "response has no Content-Type")
    if mime == "text/plain":
        return [TwimlReply(body=body.strip())] if body.strip() else []
    if mime not in _XML_TYPES:
        raise TwimlError(12300, f"unsupported Content-Type {mime}")
    if not body.strip():
        return []
    try:
        # The document comes from the app under test on loopback; expat does not fetch
        # external entities.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise TwimlError(12100, f"TwiML does not parse: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(12100, "TwiML root element is not <Response>")
    replies: list[TwimlReply] = []
    for element in root:
        if element.tag != "Message":
            continue
        body_element = element.find("Body")
        text = body_element.text if body_element is not None else element.text
        media = tuple(
            (m.text or "").strip() for m in element.findall("Media") if (m.text or "").strip()
        )
        replies.append(
            TwimlReply(
                body=(text or "").strip(),
                media_urls=media,
                to=element.get("to", ""),
                from_=element.get("from", ""),
                action=element.get("action", ""),
            )
        )
    return replies
