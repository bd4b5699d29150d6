"""The simulated Twilio Sync's data: services, documents, maps and map items.

Thread-safe (one lock), Qt-free.  Every document, map and item has a ``revision`` that
changes on each write; a map's revision also changes when one of its items does (that is
how a REST client notices a change with one request).  ``ttl`` makes an object expire:
expired objects are gone for every reader from that moment on (real Sync deletes them
"shortly after"; gone at once is the stricter case for the app).

Errors carry Twilio's Sync codes: 54100 document not found, 54103 document revision
mismatch, 54200 map not found, 54201 map item not found, 54205 map item revision
mismatch, 54208 map item already exists, 54301 unique name already exists, 54009 rate
limit exceeded.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from desktop.simulator.errors import TwilioApiError
from desktop.simulator.state import new_sid

DOCUMENT_NOT_FOUND: Final = 54100
DOCUMENT_REVISION_MISMATCH: Final = 54103
MAP_NOT_FOUND: Final = 54200
MAP_ITEM_NOT_FOUND: Final = 54201
MAP_ITEM_REVISION_MISMATCH: Final = 54205
MAP_ITEM_EXISTS: Final = 54208
UNIQUE_NAME_EXISTS: Final = 54301
RATE_LIMITED: Final = 54009
#: Twilio's limit on one document's or item's data.
MAX_DATA_BYTES: Final = 16 * 1024


@dataclass
class SyncObject:
    """A document or a map (maps keep their items)."""

    sid: str
    account_sid: str
    service_sid: str
    unique_name: str | None
    revision: int
    date_created: datetime
    date_updated: datetime
    date_expires: datetime | None
    data: dict[str, Any] = field(default_factory=dict)
    items: dict[str, SyncItem] = field(default_factory=dict)


@dataclass
class SyncItem:
    key: str
    revision: int
    data: dict[str, Any]
    date_created: datetime
    date_updated: datetime
    date_expires: datetime | None


@dataclass
class SyncService:
    sid: str
    account_sid: str
    friendly_name: str
    unique_name: str | None
    date_created: datetime
    date_updated: datetime
    documents: dict[str, SyncObject] = field(default_factory=dict)
    maps: dict[str, SyncObject] = field(default_factory=dict)


def _expires(now: datetime, ttl: int | None) -> datetime | None:
    return None if not ttl else now + timedelta(seconds=ttl)


def _alive(moment: datetime | None, now: datetime) -> bool:
    return moment is None or moment > now


class SyncState:
    """Every account's Sync data, plus a request counter per account (for measuring)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._lock = threading.RLock()
        self._services: dict[str, SyncService] = {}
        self._requests: Counter[str] = Counter()
        self._throttle: Counter[str] = Counter()

    # -- metering and faults ---------------------------------------------------------------

    def count_request(self, account_sid: str) -> None:
        """Count one request; raises 429/54009 while a throttle is set for the account."""
        with self._lock:
            self._requests[account_sid] += 1
            if self._throttle[account_sid] > 0:
                self._throttle[account_sid] -= 1
                raise TwilioApiError(429, RATE_LIMITED, "Rate limit exceeded")

    def requests(self, account_sid: str) -> int:
        with self._lock:
            return self._requests[account_sid]

    def throttle(self, account_sid: str, count: int) -> None:
        """Answer the account's next ``count`` Sync requests with 429 / 54009."""
        with self._lock:
            self._throttle[account_sid] = count

    # -- services --------------------------------------------------------------------------

    def create_service(
        self, account_sid: str, friendly_name: str, unique_name: str | None
    ) -> SyncService:
        now = self._now()
        with self._lock:
            if unique_name and any(
                s.unique_name == unique_name for s in self.services(account_sid)
            ):
                raise TwilioApiError(409, UNIQUE_NAME_EXISTS, "Unique name already exists")
            service = SyncService(
                new_sid("IS"), account_sid, friendly_name, unique_name or None, now, now
            )
            self._services[service.sid] = service
            return service

    def services(self, account_sid: str) -> list[SyncService]:
        with self._lock:
            return sorted(
                (s for s in self._services.values() if s.account_sid == account_sid),
                key=lambda s: s.date_created,
            )

    def service(self, account_sid: str, sid_or_name: str) -> SyncService:
        with self._lock:
            for service in self._services.values():
                if service.account_sid == account_sid and sid_or_name in (
                    service.sid,
                    service.unique_name,
                ):
                    return service
        raise TwilioApiError(404, 20404, f"Service {sid_or_name} was not found")

    def update_service(self, service: SyncService, friendly_name: str | None) -> SyncService:
        with self._lock:
            if friendly_name is not None:
                service.friendly_name = friendly_name
            service.date_updated = self._now()
            return service

    def delete_service(self, service: SyncService) -> None:
        with self._lock:
            self._services.pop(service.sid, None)

    # -- documents and maps -----------------------------------------------------------------

    def _collection(self, service: SyncService, kind: str) -> dict[str, SyncObject]:
        return service.documents if kind == "document" else service.maps

    def _purge(self, objects: dict[str, SyncObject], now: datetime) -> None:
        for sid in [sid for sid, o in objects.items() if not _alive(o.date_expires, now)]:
            del objects[sid]

    def create_object(
        self,
        service: SyncService,
        kind: str,
        unique_name: str | None,
        data: dict[str, Any] | None,
        ttl: int | None,
    ) -> SyncObject:
        now = self._now()
        with self._lock:
            objects = self._collection(service, kind)
            self._purge(objects, now)
            if unique_name and any(o.unique_name == unique_name for o in objects.values()):
                raise TwilioApiError(409, UNIQUE_NAME_EXISTS, "Unique name already exists")
            created = SyncObject(
                sid=new_sid("ET" if kind == "document" else "MP"),
                account_sid=service.account_sid,
                service_sid=service.sid,
                unique_name=unique_name or None,
                revision=0,
                date_created=now,
                date_updated=now,
                date_expires=_expires(now, ttl),
                data=dict(data or {}),
            )
            objects[created.sid] = created
            return copy.deepcopy(created)

    def objects(self, service: SyncService, kind: str) -> list[SyncObject]:
        with self._lock:
            objects = self._collection(service, kind)
            self._purge(objects, self._now())
            return [
                copy.deepcopy(o) for o in sorted(objects.values(), key=lambda o: o.date_created)
            ]

    def _find(self, service: SyncService, kind: str, sid_or_name: str) -> SyncObject:
        objects = self._collection(service, kind)
        self._purge(objects, self._now())
        for found in objects.values():
            if sid_or_name in (found.sid, found.unique_name):
                return found
        if kind == "document":
            raise TwilioApiError(404, DOCUMENT_NOT_FOUND, "Document not found")
        raise TwilioApiError(404, MAP_NOT_FOUND, "Map not found")

    def get_object(self, service: SyncService, kind: str, sid_or_name: str) -> SyncObject:
        with self._lock:
            return copy.deepcopy(self._find(service, kind, sid_or_name))

    def update_object(
        self,
        service: SyncService,
        kind: str,
        sid_or_name: str,
        *,
        data: dict[str, Any] | None,
        ttl: int | None,
        if_match: str | None,
    ) -> SyncObject:
        now = self._now()
        with self._lock:
            found = self._find(service, kind, sid_or_name)
            if if_match is not None and if_match != str(found.revision):
                raise TwilioApiError(
                    412, DOCUMENT_REVISION_MISMATCH, "The revision of the Document does not match"
                )
            if data is not None:
                found.data = dict(data)
            if ttl is not None:
                found.date_expires = _expires(now, ttl)
            found.revision += 1
            found.date_updated = now
            return copy.deepcopy(found)

    def delete_object(
        self, service: SyncService, kind: str, sid_or_name: str, if_match: str | None
    ) -> None:
        with self._lock:
            found = self._find(service, kind, sid_or_name)
            if if_match is not None and if_match != str(found.revision):
                raise TwilioApiError(
                    412, DOCUMENT_REVISION_MISMATCH, "The revision of the Document does not match"
                )
            del self._collection(service, kind)[found.sid]

    # -- map items --------------------------------------------------------------------------

    def _live_items(self, sync_map: SyncObject, now: datetime) -> dict[str, SyncItem]:
        expired = [k for k, i in sync_map.items.items() if not _alive(i.date_expires, now)]
        for key in expired:
            del sync_map.items[key]
        if expired:
            sync_map.revision += 1  # items vanishing is a change readers must notice
        return sync_map.items

    def create_item(
        self, service: SyncService, map_id: str, key: str, data: dict[str, Any], ttl: int | None
    ) -> tuple[SyncObject, SyncItem]:
        now = self._now()
        with self._lock:
            sync_map = self._find(service, "map", map_id)
            items = self._live_items(sync_map, now)
            if key in items:
                raise TwilioApiError(409, MAP_ITEM_EXISTS, "Map Item already exists")
            item = SyncItem(key, 0, dict(data), now, now, _expires(now, ttl))
            items[key] = item
            sync_map.revision += 1
            sync_map.date_updated = now
            return copy.deepcopy(sync_map), copy.deepcopy(item)

    def items(self, service: SyncService, map_id: str) -> list[SyncItem]:
        with self._lock:
            sync_map = self._find(service, "map", map_id)
            items = self._live_items(sync_map, self._now())
            return [copy.deepcopy(items[k]) for k in sorted(items)]

    def _find_item(self, sync_map: SyncObject, key: str) -> SyncItem:
        item = self._live_items(sync_map, self._now()).get(key)
        if item is None:
            raise TwilioApiError(404, MAP_ITEM_NOT_FOUND, "Map Item not found")
        return item

    def get_item(self, service: SyncService, map_id: str, key: str) -> tuple[SyncObject, SyncItem]:
        with self._lock:
            sync_map = self._find(service, "map", map_id)
            return copy.deepcopy(sync_map), copy.deepcopy(self._find_item(sync_map, key))

    def update_item(
        self,
        service: SyncService,
        map_id: str,
        key: str,
        *,
        data: dict[str, Any] | None,
        ttl: int | None,
        if_match: str | None,
    ) -> tuple[SyncObject, SyncItem]:
        now = self._now()
        with self._lock:
            sync_map = self._find(service, "map", map_id)
            item = self._find_item(sync_map, key)
            if if_match is not None and if_match != str(item.revision):
                raise TwilioApiError(
                    412, MAP_ITEM_REVISION_MISMATCH, "The revision of the Map Item does not match"
                )
            if data is not None:
                item.data = dict(data)
            if ttl is not None:
                item.date_expires = _expires(now, ttl)
            item.revision += 1
            item.date_updated = now
            sync_map.revision += 1
            sync_map.date_updated = now
            return copy.deepcopy(sync_map), copy.deepcopy(item)

    def delete_item(
        self, service: SyncService, map_id: str, key: str, if_match: str | None
    ) -> None:
        with self._lock:
            sync_map = self._find(service, "map", map_id)
            item = self._find_item(sync_map, key)
            if if_match is not None and if_match != str(item.revision):
                raise TwilioApiError(
                    412, MAP_ITEM_REVISION_MISMATCH, "The revision of the Map Item does not match"
                )
            del sync_map.items[key]
            sync_map.revision += 1
            sync_map.date_updated = self._now()
