"""Twilio Sync for team mode: one service, its documents and map items, over the REST API.

A thin, typed layer over twilio-python's ``client.sync.v1`` run through
:meth:`desktop.gateway.rest.RestGateway.call` (so the requests follow
``TWOWAY_TWILIO_API_URL`` like every other product).  Failures come out as three kinds
the team logic acts on — :class:`Conflict` (a stale revision or a name already taken:
re-read and re-apply), :class:`Missing` (gone or expired) and :class:`Throttled`
(429 / 54009: back off) — or as the gateway's :class:`TwilioProblem` for the rest
(offline, bad credentials).  Every request is counted (``requests``) so the cost of an
idle laptop can be measured.

Items carry Sync's ``date_expires``.  Sync may list an item for a while after it expired
("might not be deleted immediately"), and a laptop reads only every few seconds, so the
team logic compares it with :meth:`SyncClient.server_time`: Sync's clock as learned from
the ``date_updated`` of our own writes (a laptop's clock may be off by seconds or more).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from desktop.gateway.rest_types import TwilioProblem

if TYPE_CHECKING:
    from desktop.gateway.rest import RestGateway

T = TypeVar("T")

#: The Sync service every Twoway laptop of an account shares.
SERVICE_NAME: Final = "Twoway team"
#: After creating the team service, wait this long before choosing "the oldest": Twilio
#: dates services to the second, so two laptops creating one in the same second only agree
#: on which to keep once each can see both (the tie is broken by SID, not by arrival).
CREATE_SETTLE_S: Final = 2.0

#: Writes whose ``date_updated`` estimate Sync's clock (the newest few: clocks drift).
CLOCK_SAMPLES: Final = 4

_CONFLICT_CODES: Final = frozenset({54103, 54155, 54205, 54208, 54301})
_THROTTLE_CODES: Final = frozenset({54009, 20429})


class Conflict(Exception):
    """Someone else changed it first (412 / 54103, 54205) or the name is taken (54301)."""


class Missing(Exception):
    """It does not exist (any more): never created, deleted, or expired by its TTL."""


class Throttled(Exception):
    """Sync asked us to slow down (429 / 54009)."""


class NotJoined(Exception):
    """The account has no team service and we were not allowed to create one."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A document or a map item: its data and the revision to pass as ``If-Match``."""

    key: str
    revision: str
    data: dict[str, Any]
    #: When Sync deletes it, on Sync's clock (seconds since the epoch); None: never.
    expires: float | None = None

    def expired(self, server_now: float) -> bool:
        return self.expires is not None and self.expires <= server_now


def _seconds(moment: object) -> float | None:
    """twilio-python's date (an aware datetime, or the raw text it could not parse)."""
    return moment.timestamp() if isinstance(moment, datetime) else None


def _entry(key: str, found: Any) -> Entry:
    expires = _seconds(getattr(found, "date_expires", None))
    return Entry(key, str(found.revision), dict(found.data or {}), expires)


def classify(problem: TwilioProblem) -> Exception:
    if problem.code in _THROTTLE_CODES or problem.status == 429:
        return Throttled(str(problem))
    if problem.code in _CONFLICT_CODES or problem.status in (409, 412):
        return Conflict(str(problem))
    if problem.status == 404:
        return Missing(str(problem))
    return problem


class SyncClient:
    """One account's team service.  Thread-safe (the gateway keeps a client per thread)."""

    def __init__(self, gateway: RestGateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._requests = 0
        self.service_sid = ""
        self._maps: set[str] = set()
        #: Sync's clock minus ours, from recent writes (see :meth:`server_time`).
        self._offsets: deque[float] = deque(maxlen=CLOCK_SAMPLES)

    @property
    def requests(self) -> int:
        """Sync requests made so far (the idle-cost meter)."""
        with self._lock:
            return self._requests

    def server_time(self) -> float:
        """Now on Sync's clock (seconds since the epoch), to compare with ``expires``.

        Each write's ``date_updated`` is Sync's "now", cut to the second and a little old
        by the time the answer arrives: each sample is at most about a second behind, so
        the largest of the last few is the closest.  Before any write: this laptop's clock.
        """
        with self._lock:
            offset = max(self._offsets, default=0.0)
        return time.time() + offset

    def _written(self, key: str, found: Any) -> Entry:
        """The entry a write returned, and what it tells of Sync's clock."""
        updated = _seconds(getattr(found, "date_updated", None))
        if updated is not None:
            with self._lock:
                self._offsets.append(updated - time.time())
        return _entry(key, found)

    def _call(self, what: str, action: Callable[[Any], T]) -> T:
        with self._lock:
            self._requests += 1
        try:
            return self._gateway.call(what, action)  # type: ignore[no-any-return]
        except TwilioProblem as problem:
            raise classify(problem) from problem

    def _service(self, c: Any) -> Any:
        return c.sync.v1.services(self.service_sid)

    # -- the service ------------------------------------------------------------------------

    def find_service(self) -> str | None:
        """The account's team service (the oldest, if two laptops created one at once)."""
        services = self._call("Finding the team", lambda c: c.sync.v1.services.list(limit=200))
        ours = sorted(
            (s for s in services if s.friendly_name == SERVICE_NAME),
            key=lambda s: (s.date_created, s.sid),
        )
        return str(ours[0].sid) if ours else None

    def join(self, *, create: bool) -> str:
        """Use the account's team service; with ``create`` (the user agreed) make one."""
        sid = self.find_service()
        if sid is None:
            if not create:
                raise NotJoined("This Twilio account has no Twoway team yet.")
            made = self._call(
                "Creating the team",
                lambda c: c.sync.v1.services.create(friendly_name=SERVICE_NAME),
            )
            time.sleep(CREATE_SETTLE_S)
            sid = self.find_service() or str(made.sid)
            if sid != made.sid:  # another laptop won the race: drop ours
                self._call("Tidying the team", lambda c: c.sync.v1.services(made.sid).delete())
        self.service_sid = sid
        return sid

    def leave_service(self) -> None:
        self.service_sid = ""
        self._maps.clear()

    # -- documents --------------------------------------------------------------------------

    def get_document(self, name: str) -> Entry | None:
        try:
            doc = self._call("Reading", lambda c: self._service(c).documents(name).fetch())
        except Missing:
            return None
        return _entry(name, doc)

    def create_document(self, name: str, data: dict[str, Any], ttl: int) -> Entry:
        doc = self._call(
            "Creating",
            lambda c: self._service(c).documents.create(unique_name=name, data=data, ttl=ttl),
        )
        return self._written(name, doc)

    def update_document(self, name: str, data: dict[str, Any], *, ttl: int, if_match: str) -> Entry:
        doc = self._call(
            "Updating",
            lambda c: (
                self._service(c).documents(name).update(data=data, ttl=ttl, if_match=if_match)
            ),
        )
        return self._written(name, doc)

    # -- maps -------------------------------------------------------------------------------

    def ensure_map(self, name: str) -> None:
        if name in self._maps:
            return
        try:
            self._call("Reading", lambda c: self._service(c).sync_maps(name).fetch())
        except Missing:
            with contextlib.suppress(Conflict):  # a colleague created it a moment ago
                self._call(
                    "Creating", lambda c: self._service(c).sync_maps.create(unique_name=name)
                )
        self._maps.add(name)

    def map_revision(self, name: str) -> str:
        found = self._call("Reading", lambda c: self._service(c).sync_maps(name).fetch())
        return str(found.revision)

    def items(self, name: str) -> dict[str, Entry]:
        listed = self._call(
            "Reading",
            lambda c: self._service(c).sync_maps(name).sync_map_items.list(page_size=1000),
        )
        return {str(i.key): _entry(str(i.key), i) for i in listed}

    def get_item(self, name: str, key: str) -> Entry | None:
        try:
            item = self._call(
                "Reading", lambda c: self._service(c).sync_maps(name).sync_map_items(key).fetch()
            )
        except Missing:
            return None
        return _entry(key, item)

    def create_item(
        self, name: str, key: str, data: dict[str, Any], ttl: int | None = None
    ) -> Entry:
        def create(c: Any) -> Any:
            items = self._service(c).sync_maps(name).sync_map_items
            return (
                items.create(key=key, data=data)
                if ttl is None
                else items.create(key=key, data=data, ttl=ttl)
            )

        item = self._call("Saving", create)
        return self._written(key, item)

    def update_item(
        self,
        name: str,
        key: str,
        data: dict[str, Any],
        *,
        ttl: int | None = None,
        if_match: str | None = None,
    ) -> Entry:
        def update(c: Any) -> Any:
            kwargs: dict[str, Any] = {"data": data}
            if ttl is not None:
                kwargs["ttl"] = ttl
            if if_match is not None:
                kwargs["if_match"] = if_match
            return self._service(c).sync_maps(name).sync_map_items(key).update(**kwargs)

        item = self._call("Saving", update)
        return self._written(key, item)

    def put_item(self, name: str, key: str, data: dict[str, Any], ttl: int | None = None) -> Entry:
        """Write without a revision check (presence, typing): update, else create."""
        try:
            return self.update_item(name, key, data, ttl=ttl)
        except Missing:
            try:
                return self.create_item(name, key, data, ttl)
            except Conflict:
                return self.update_item(name, key, data, ttl=ttl)

    def delete_item(self, name: str, key: str) -> None:
        with contextlib.suppress(Missing):
            self._call(
                "Deleting", lambda c: self._service(c).sync_maps(name).sync_map_items(key).delete()
            )
