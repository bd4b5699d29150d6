"""Which Messaging Service each of our numbers is in, and sending through it.

A US business number usually sits in a Messaging Service (that is where A2P 10DLC
registration lives).  Sending through the service (``MessagingServiceSid``, with ``From``
pinned so threads stay per number) applies its registration, opt-out scope and status
callbacks; a send from a number outside any service goes out as before.  Finding out
costs one request per service, so the answer is kept for a while
(:class:`ServiceDirectoryCache`) and refreshed when Twilio says it is stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Final, Protocol

from desktop.gateway.messaging_types import MessagingService, ServiceDirectory
from desktop.gateway.rest import RemoteMessage, SentMessage
from desktop.gateway.rest_types import TwilioProblem

logger = logging.getLogger(__name__)

MAX_AGE_S: Final = 10 * 60.0
#: Refusals of a ``MessagingServiceSid`` send that mean our idea of the service is stale.
STALE_SERVICE_CODES: Final = frozenset({21701, 21703, 21606, 21712})


class DirectorySource(Protocol):
    def directory(self) -> ServiceDirectory: ...


class ServiceDirectoryCache:
    """The account's services and their numbers, refreshed at most every ``max_age_s``."""

    def __init__(
        self,
        messaging: Callable[[], DirectorySource],
        *,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._messaging = messaging
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._directory: ServiceDirectory | None = None
        self._fetched_at = 0.0

    @property
    def last(self) -> ServiceDirectory | None:
        """The last directory read, without asking Twilio (None before the first read)."""
        with self._lock:
            return self._directory

    def refresh(self) -> ServiceDirectory:
        """Ask Twilio now; a refusal of the Messaging API itself (a restricted API key, an
        account without it) counts as "no services", a network failure raises."""
        try:
            directory = self._messaging().directory()
        except TwilioProblem as problem:
            if problem.status is None or problem.status >= 500 or problem.code == 20429:
                raise
            logger.info("Cannot read Messaging Services (%s); treating as none", problem)
            directory = ServiceDirectory()
        with self._lock:
            self._directory = directory
            self._fetched_at = self._clock()
        return directory

    def get(self) -> ServiceDirectory | None:
        """A directory no older than ``max_age_s`` (refreshed if needed), or the last one
        when Twilio cannot be asked right now (None if there never was one)."""
        with self._lock:
            fresh = self._directory is not None and (
                self._clock() - self._fetched_at < self._max_age_s
            )
            if fresh:
                return self._directory
        try:
            return self.refresh()
        except TwilioProblem as problem:
            logger.info("Messaging Services not refreshed: %s", problem)
            return self.last

    def service_for(self, phone_number: str) -> MessagingService | None:
        directory = self.get()
        return directory.service_of(phone_number) if directory is not None else None


class Sender(Protocol):
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
    ) -> SentMessage: ...

    def cancel_message(self, sid: str) -> RemoteMessage: ...

    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]: ...


class ServiceSender:
    """The outbox's gateway: sends through the number's Messaging Service when it has one."""

    def __init__(self, gateway: Sender, services: ServiceDirectoryCache) -> None:
        self._gateway = gateway
        self._services = services

    def send_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
        send_at: datetime | None = None,
    ) -> SentMessage:
        """With ``send_at``, Twilio holds the text (Message Scheduling needs the service:
        without one this refuses with 35118, before any request, and the outbox keeps it)."""
        service = self._services.service_for(from_)
        if send_at is not None:
            if service is None:
                raise TwilioProblem(
                    "Twilio schedules texts only for numbers in a Messaging Service.",
                    code=35118,
                    permanent=True,
                )
            return self._send(to, from_, body, media_urls, status_callback, service, send_at)
        try:
            return self._send(to, from_, body, media_urls, status_callback, service)
        except TwilioProblem as problem:
            if service is None or problem.code not in STALE_SERVICE_CODES:
                raise
            # Refused before anything was sent: look again, then send the way it is now.
            logger.info("Twilio refused the send through %s (%s); re-reading", service.sid, problem)
            try:
                now = self._services.refresh().service_of(from_)
            except TwilioProblem:
                raise problem from None
            if now is not None and now.sid == service.sid:
                raise
            return self._send(to, from_, body, media_urls, status_callback, now)

    def _send(
        self,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str],
        status_callback: str | None,
        service: MessagingService | None,
        send_at: datetime | None = None,
    ) -> SentMessage:
        if send_at is not None:
            return self._gateway.send_message(
                to=to,
                from_=from_,
                body=body,
                media_urls=media_urls,
                status_callback=status_callback,
                messaging_service_sid=service.sid if service is not None else None,
                send_at=send_at,
            )
        return self._gateway.send_message(
            to=to,
            from_=from_,
            body=body,
            media_urls=media_urls,
            status_callback=status_callback,
            messaging_service_sid=service.sid if service is not None else None,
        )

    def cancel_message(self, sid: str) -> RemoteMessage:
        return self._gateway.cancel_message(sid)

    def in_service(self, phone_number: str) -> bool:
        """Whether ``phone_number`` was in a Messaging Service when last looked (no request)."""
        directory = self._services.last
        return directory is not None and directory.service_of(phone_number) is not None

    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]:
        return self._gateway.iter_message_pages(
            to=to, from_=from_, sent_on_or_after=sent_on_or_after, page_size=page_size
        )
