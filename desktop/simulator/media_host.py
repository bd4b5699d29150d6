"""The stand-in for Twilio's media CDN.

Twilio answers an authenticated media request with a redirect to a short-lived,
unguessable CDN URL that needs no credentials.  A client that blindly forwards its Basic
auth header to the CDN leaks the account's credentials to a third party; like the real
storage service, this host refuses such requests (400), so a test can prove the app
does not do it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from desktop.simulator.state import Media

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

_PATH_PREFIX = "/m/"


@dataclass(frozen=True, slots=True)
class MediaHostHit:
    """One request the media host answered (without the token, which is a secret)."""

    method: str
    status: int
    had_authorization: bool
    media_sid: str


@dataclass(frozen=True, slots=True)
class _Grant:
    message_sid: str
    media_sid: str
    expires_at: float


class MediaHost:
    """Issues expiring tokens and serves the bytes behind them (a WSGI app)."""

    def __init__(
        self, lookup: Callable[[str, str], Media | None], *, token_ttl: float = 300.0
    ) -> None:
        self._lookup = lookup
        self._ttl = token_ttl
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self._hits: list[MediaHostHit] = []
        self.base_url = ""

    def issue(self, message_sid: str, media_sid: str) -> str:
        """A fresh URL on this host for one media file, valid for ``token_ttl`` seconds."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = _Grant(message_sid, media_sid, now + self._ttl)
        return f"{self.base_url}{_PATH_PREFIX}{token}"

    def expire_all(self) -> None:
        """Make every issued URL stale, as if the short lifetime had passed."""
        with self._lock:
            self._grants.clear()

    def hits(self) -> list[MediaHostHit]:
        with self._lock:
            return list(self._hits)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response, media_sid = self._respond(request)
        with self._lock:
            self._hits.append(
                MediaHostHit(
                    method=request.method,
                    status=response.status_code,
                    had_authorization="Authorization" in request.headers,
                    media_sid=media_sid,
                )
            )
        return response(environ, start_response)

    def _respond(self, request: Request) -> tuple[Response, str]:
        if request.method not in ("GET", "HEAD"):
            return _error(405, "MethodNotAllowed", "The method is not allowed."), ""
        if not request.path.startswith(_PATH_PREFIX):
            return _error(404, "NoSuchKey", "The specified key does not exist."), ""
        token = request.path[len(_PATH_PREFIX) :]
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires_at <= time.monotonic():
            return _error(403, "AccessDenied", "Request has expired"), ""
        if "Authorization" in request.headers:
            return (
                _error(400, "InvalidArgument", "Only one auth mechanism allowed"),
                grant.media_sid,
            )
        media = self._lookup(grant.message_sid, grant.media_sid)
        if media is None:
            return _error(404, "NoSuchKey", "The specified key does not exist."), grant.media_sid
        response = Response(media.data, status=200, content_type=media.content_type)
        response.headers["Cache-Control"] = "private, max-age=300"
        return response, grant.media_sid


def _error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status=status, content_type="application/xml")
