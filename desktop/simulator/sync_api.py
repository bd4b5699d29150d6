"""The simulated Twilio Sync API v1 (``sync.twilio.com``) as a Werkzeug WSGI application.

Mounted at ``/sync`` of the simulator (see :mod:`desktop.simulator.server`), so the app's
routed client reaches ``https://sync.twilio.com/v1/Services`` as
``<simulator>/sync/v1/Services``.  What exists is what team mode uses: Services,
Documents, Maps and Map Items, with revisions (also sent as ``ETag``), ``If-Match``
conditional updates and deletes (412 with 54103 / 54205 on a stale revision) and ``Ttl``.
Field names and the ``meta`` paging envelope follow ``twilio_sync_v1.json``.  Every
request is counted per account (:meth:`SyncState.requests`), which is how tests measure
what an idle laptop costs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from desktop.simulator.errors import TwilioApiError
from desktop.simulator.faults import FaultPlan
from desktop.simulator.http_common import (
    SidConverter,
    authenticate,
    error_response,
    front_door,
    json_response,
    not_found,
)
from desktop.simulator.messaging_api import iso
from desktop.simulator.state import Account, SimState
from desktop.simulator.sync_state import (
    MAX_DATA_BYTES,
    SyncItem,
    SyncObject,
    SyncService,
    SyncState,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_KINDS = {"Documents": "document", "Maps": "map"}


def _rules() -> Map:
    service = "/v1/Services/<service>"
    return Map(
        [
            Rule("/v1/Services", endpoint="services", methods=["GET", "POST"]),
            Rule(service, endpoint="service", methods=["GET", "POST", "DELETE"]),
            Rule(
                f"{service}/<any(Documents,Maps):kind>", endpoint="objects", methods=["GET", "POST"]
            ),
            Rule(
                f"{service}/<any(Documents,Maps):kind>/<object_id>",
                endpoint="object",
                methods=["GET", "POST", "DELETE"],
            ),
            Rule(f"{service}/Maps/<map_id>/Items", endpoint="items", methods=["GET", "POST"]),
            Rule(
                f"{service}/Maps/<map_id>/Items/<key>",
                endpoint="item",
                methods=["GET", "POST", "DELETE"],
            ),
        ],
        converters={"sid": SidConverter},
        strict_slashes=False,
    )


def _data(request: Request, *, required: bool = False) -> dict[str, Any] | None:
    raw = request.form.get("Data")
    if raw is None:
        if required:
            raise TwilioApiError(400, 20001, "Missing required parameter Data")
        return None
    if len(raw.encode()) > MAX_DATA_BYTES:
        raise TwilioApiError(400, 54006, "Request entity too large")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise TwilioApiError(400, 54008, "Invalid request body: Data is not JSON") from exc
    if not isinstance(value, dict):
        raise TwilioApiError(400, 54008, "Invalid request body: Data must be a JSON object")
    return value


def _ttl(request: Request, *names: str) -> int | None:
    for name in names:
        raw = request.form.get(name)
        if raw is None or raw == "":
            continue
        try:
            ttl = int(raw)
        except ValueError as exc:
            raise TwilioApiError(400, 20001, f"{name} must be a whole number of seconds") from exc
        if ttl < 0 or ttl > 31_536_000:
            raise TwilioApiError(400, 20001, f"{name} must be between 0 and 31536000")
        return ttl
    return None


def _if_match(request: Request) -> str | None:
    value = request.headers.get("If-Match")
    return value.strip().strip('"') if value else None


def _with_etag(response: Response, revision: int) -> Response:
    response.headers["ETag"] = str(revision)
    return response


class SyncApi:
    """WSGI app for ``/sync/v1/…``; accounts and credentials are the REST API's."""

    def __init__(self, state: SimState, sync: SyncState, faults: FaultPlan) -> None:
        self._state = state
        self._sync = sync
        self._faults = faults
        self._map = _rules()
        self._handlers: dict[str, Callable[..., Response]] = {
            "services": self._services,
            "service": self._service,
            "objects": self._objects,
            "object": self._object,
            "items": self._items,
            "item": self._item,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        logger.debug("%s %s%s", request.method, request.script_root, request.path)
        try:
            response = self._dispatch(request)
        except TwilioApiError as exc:
            response = error_response(exc)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        front_door(self._faults)
        caller, _by_token = authenticate(self._state, request)
        self._sync.count_request(caller.sid)
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as exc:
            raise TwilioApiError(405, 20004) from exc
        except NotFound as exc:
            raise not_found(request) from exc
        return self._handlers[str(endpoint)](request, caller, **args)

    # -- services ----------------------------------------------------------------------------

    def _services(self, request: Request, caller: Account) -> Response:
        if request.method == "POST":
            created = self._sync.create_service(
                caller.sid,
                request.form.get("FriendlyName", ""),
                request.form.get("UniqueName") or None,
            )
            return json_response(self._service_json(request, created), status=201)
        return self._page(
            request, "services", self._sync.services(caller.sid), self._service_json_for(request)
        )

    def _service(self, request: Request, caller: Account, service: str) -> Response:
        found = self._sync.service(caller.sid, service)
        if request.method == "DELETE":
            self._sync.delete_service(found)
            return Response(status=204)
        if request.method == "POST":
            found = self._sync.update_service(found, request.form.get("FriendlyName"))
        return json_response(self._service_json(request, found))

    # -- documents and maps --------------------------------------------------------------------

    def _objects(self, request: Request, caller: Account, service: str, kind: str) -> Response:
        found = self._sync.service(caller.sid, service)
        what = _KINDS[kind]
        if request.method == "POST":
            created = self._sync.create_object(
                found,
                what,
                request.form.get("UniqueName") or None,
                _data(request) if what == "document" else None,
                _ttl(request, "Ttl", "CollectionTtl"),
            )
            response = json_response(self._object_json(request, kind, created), status=201)
            return _with_etag(response, created.revision)
        key = kind.lower()
        objects = self._sync.objects(found, what)
        return self._page(request, key, objects, lambda o: self._object_json(request, kind, o))

    def _object(
        self, request: Request, caller: Account, service: str, kind: str, object_id: str
    ) -> Response:
        found = self._sync.service(caller.sid, service)
        what = _KINDS[kind]
        if request.method == "DELETE":
            self._sync.delete_object(found, what, object_id, _if_match(request))
            return Response(status=204)
        if request.method == "POST":
            updated = self._sync.update_object(
                found,
                what,
                object_id,
                data=_data(request) if what == "document" else None,
                ttl=_ttl(request, "Ttl", "CollectionTtl"),
                if_match=_if_match(request),
            )
        else:
            updated = self._sync.get_object(found, what, object_id)
        response = json_response(self._object_json(request, kind, updated))
        return _with_etag(response, updated.revision)

    # -- map items --------------------------------------------------------------------------

    def _items(self, request: Request, caller: Account, service: str, map_id: str) -> Response:
        found = self._sync.service(caller.sid, service)
        if request.method == "POST":
            key = request.form.get("Key", "")
            if not key:
                raise TwilioApiError(400, 20001, "Missing required parameter Key")
            data = _data(request, required=True) or {}
            sync_map, item = self._sync.create_item(
                found, map_id, key, data, _ttl(request, "Ttl", "ItemTtl")
            )
            response = json_response(self._item_json(request, sync_map, item), status=201)
            return _with_etag(response, item.revision)
        sync_map = self._sync.get_object(found, "map", map_id)
        items = self._sync.items(found, map_id)
        if request.args.get("Order") == "desc":
            items.reverse()
        return self._page(request, "items", items, lambda i: self._item_json(request, sync_map, i))

    def _item(
        self, request: Request, caller: Account, service: str, map_id: str, key: str
    ) -> Response:
        found = self._sync.service(caller.sid, service)
        if request.method == "DELETE":
            self._sync.delete_item(found, map_id, key, _if_match(request))
            return Response(status=204)
        if request.method == "POST":
            sync_map, item = self._sync.update_item(
                found,
                map_id,
                key,
                data=_data(request),
                ttl=_ttl(request, "Ttl", "ItemTtl"),
                if_match=_if_match(request),
            )
        else:
            sync_map, item = self._sync.get_item(found, map_id, key)
        return _with_etag(json_response(self._item_json(request, sync_map, item)), item.revision)

    # -- JSON ---------------------------------------------------------------------------------

    def _page(
        self,
        request: Request,
        key: str,
        records: Sequence[_T],
        render: Callable[[_T], dict[str, Any]],
    ) -> Response:
        """The v1 envelope, paged by ``Page``/``PageSize`` (``PageToken`` = the page number)."""
        try:
            size = min(max(int(request.args.get("PageSize", 50)), 1), 1000)
            number = int(request.args.get("PageToken") or request.args.get("Page") or 0)
        except ValueError as exc:
            raise TwilioApiError(400, 20001, "PageSize and Page must be integers") from exc
        number = max(number, 0)
        page = records[number * size : (number + 1) * size]
        base = _root(request) + request.path
        filters = [
            (k, v) for k, v in request.args.items() if k not in ("Page", "PageSize", "PageToken")
        ]

        def url(n: int) -> str:
            query = [*filters, ("PageSize", str(size)), ("Page", str(n)), ("PageToken", str(n))]
            return f"{base}?{urlencode(query)}"

        has_next = (number + 1) * size < len(records)
        return json_response(
            {
                key: [render(r) for r in page],
                "meta": {
                    "page": number,
                    "page_size": size,
                    "first_page_url": url(0),
                    "previous_page_url": url(number - 1) if number > 0 else None,
                    "url": url(number),
                    "next_page_url": url(number + 1) if has_next else None,
                    "key": key,
                },
            }
        )

    def _service_json_for(self, request: Request) -> Callable[[SyncService], dict[str, Any]]:
        return lambda service: self._service_json(request, service)

    def _service_json(self, request: Request, service: SyncService) -> dict[str, Any]:
        url = f"{_root(request)}/v1/Services/{service.sid}"
        return {
            "sid": service.sid,
            "unique_name": service.unique_name,
            "account_sid": service.account_sid,
            "friendly_name": service.friendly_name or None,
            "date_created": iso(service.date_created),
            "date_updated": iso(service.date_updated),
            "url": url,
            "webhook_url": None,
            "webhooks_from_rest_enabled": False,
            "reachability_webhooks_enabled": False,
            "acl_enabled": False,
            "reachability_debouncing_enabled": False,
            "reachability_debouncing_window": 5000,
            "links": {
                "documents": f"{url}/Documents",
                "lists": f"{url}/Lists",
                "maps": f"{url}/Maps",
                "streams": f"{url}/Streams",
            },
        }

    def _object_json(self, request: Request, kind: str, found: SyncObject) -> dict[str, Any]:
        url = f"{_root(request)}/v1/Services/{found.service_sid}/{kind}/{found.sid}"
        payload: dict[str, Any] = {
            "sid": found.sid,
            "unique_name": found.unique_name,
            "account_sid": found.account_sid,
            "service_sid": found.service_sid,
            "url": url,
            "revision": str(found.revision),
            "date_expires": iso(found.date_expires),
            "date_created": iso(found.date_created),
            "date_updated": iso(found.date_updated),
            "created_by": "system",
        }
        if kind == "Documents":
            payload["data"] = found.data
            payload["links"] = {"permissions": f"{url}/Permissions"}
        else:
            payload["links"] = {"items": f"{url}/Items", "permissions": f"{url}/Permissions"}
        return payload

    def _item_json(self, request: Request, sync_map: SyncObject, item: SyncItem) -> dict[str, Any]:
        base = f"{_root(request)}/v1/Services/{sync_map.service_sid}/Maps/{sync_map.sid}"
        return {
            "key": item.key,
            "account_sid": sync_map.account_sid,
            "service_sid": sync_map.service_sid,
            "map_sid": sync_map.sid,
            "url": f"{base}/Items/{item.key}",
            "revision": str(item.revision),
            "data": item.data,
            "date_expires": iso(item.date_expires),
            "date_created": iso(item.date_created),
            "date_updated": iso(item.date_updated),
            "created_by": "system",
        }


def _root(request: Request) -> str:
    """``http://127.0.0.1:PORT/sync``: where this product is mounted."""
    return request.host_url.rstrip("/") + request.script_root
