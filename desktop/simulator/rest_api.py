"""The simulated ``/2010-04-01`` REST API as a Werkzeug WSGI application.

Only the resources Twoway uses exist: the account, its incoming phone numbers, messages
and their media.  Authentication, error bodies and status codes follow Twilio closely
enough that the unmodified twilio-python client raises the same ``TwilioRestException``
(``.status`` and ``.code``) it would raise against the real service.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from desktop.simulator.engine import SimEngine
from desktop.simulator.errors import TwilioApiError
from desktop.simulator.http_common import (
    SidConverter,
    authenticate,
    error_response,
    front_door,
    is_http_url,
    json_response,
    not_found,
)
from desktop.simulator.media_host import MediaHost
from desktop.simulator.resources import (
    Pager,
    account_json,
    media_json,
    message_json,
    number_json,
)
from desktop.simulator.state import API_VERSION, Account, Media, Message, PhoneNumber

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

_NUMBER_FIELDS = {
    "FriendlyName": "friendly_name",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
    "StatusCallback": "status_callback",
}
_MESSAGE_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


class ConnectionDropped(ConnectionError):
    """Raised after the socket was shut down on purpose; Werkzeug treats it as a drop."""


def _rules() -> Map:
    root = f"/{API_VERSION}/Accounts/<sid:account>"
    return Map(
        [
            Rule(f"{root}.json", endpoint="account", methods=["GET"]),
            Rule(f"{root}/IncomingPhoneNumbers.json", endpoint="numbers", methods=["GET"]),
            Rule(
                f"{root}/IncomingPhoneNumbers/<sid:number>.json",
                endpoint="number",
                methods=["GET", "POST"],
            ),
            Rule(f"{root}/Messages.json", endpoint="messages", methods=["GET", "POST"]),
            Rule(
                f"{root}/Messages/<sid:message>.json",
                endpoint="message",
                methods=["GET", "POST"],
            ),
            Rule(
                f"{root}/Messages/<sid:message>/Media.json",
                endpoint="media_list",
                methods=["GET"],
            ),
            Rule(
                f"{root}/Messages/<sid:message>/Media/<sid:media>.json",
                endpoint="media",
                methods=["GET"],
            ),
            Rule(
                f"{root}/Messages/<sid:message>/Media/<sid:media>",
                endpoint="media_content",
                methods=["GET"],
            ),
        ],
        converters={"sid": SidConverter},
        strict_slashes=False,
    )


class RestApi:
    """WSGI app for the REST API; all state changes go through :class:`SimEngine`."""

    def __init__(self, engine: SimEngine, media_host: MediaHost) -> None:
        self._engine = engine
        self._state = engine.state
        self._faults = engine.faults
        self._media_host = media_host
        self._map = _rules()
        self._handlers: dict[str, Callable[..., Response]] = {
            "account": self._account,
            "numbers": self._numbers,
            "number": self._number,
            "messages": self._messages,
            "message": self._message,
            "media_list": self._media_list,
            "media": self._media,
            "media_content": self._media_content,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        logger.debug("%s %s", request.method, request.path)
        try:
            response = self._dispatch(request)
        except TwilioApiError as exc:
            response = error_response(exc)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        front_door(self._faults)
        caller, by_token = authenticate(self._state, request)
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as exc:
            raise TwilioApiError(405, 20004) from exc
        except NotFound as exc:
            raise not_found(request) from exc
        if args["account"] != caller.sid:
            raise not_found(request)
        handler = self._handlers[str(endpoint)]
        return handler(
            request, caller, by_token, **{k: v for k, v in args.items() if k != "account"}
        )

    # -- accounts and numbers ---------------------------------------------------------

    def _account(self, request: Request, caller: Account, by_token: bool) -> Response:
        return json_response(account_json(caller, include_token=by_token))

    def _numbers(self, request: Request, caller: Account, by_token: bool) -> Response:
        wanted = request.args.get("PhoneNumber", "")
        digits = "".join(ch for ch in wanted if ch.isdigit())
        name = request.args.get("FriendlyName", "")
        numbers = [
            n
            for n in self._state.numbers(caller.sid)
            if (not digits or digits in n.phone_number)
            and (not name or name.lower() in n.friendly_name.lower())
        ]
        pager: Pager[PhoneNumber] = Pager.from_args(request.args, lambda n: n.sid)
        page = pager.select(numbers)
        filters = [
            (k, request.args[k]) for k in ("PhoneNumber", "FriendlyName") if k in request.args
        ]
        return json_response(
            pager.payload(
                "incoming_phone_numbers", [number_json(n) for n in page], request.path, filters
            )
        )

    def _number(self, request: Request, caller: Account, by_token: bool, number: str) -> Response:
        found = self._state.number_by_sid(number)
        if found is None or found.account_sid != caller.sid:
            raise not_found(request)
        if request.method == "POST":
            changes = {
                attr: request.form[name].strip()
                for name, attr in _NUMBER_FIELDS.items()
                if name in request.form
            }
            for attr, value in changes.items():
                if attr.endswith("_method") and value.upper() not in ("GET", "POST"):
                    raise TwilioApiError(400, 20001, f"{value} is not a valid method")
                if attr.endswith(("_url", "callback")) and value and not is_http_url(value):
                    raise TwilioApiError(400, 20001, f"{value} is not a valid URL")
                if attr.endswith("_method"):
                    changes[attr] = value.upper()
            found = self._state.update_number(number, self._engine.now(), **changes)
        return json_response(number_json(found))

    # -- messages ---------------------------------------------------------------------

    def _messages(self, request: Request, caller: Account, by_token: bool) -> Response:
        if request.method == "POST":
            return self._create_message(request, caller)
        args = request.args
        days = {
            key: _parse_day(args[key])
            for key in ("DateSent", "DateSent<", "DateSent>")
            if key in args
        }
        pager: Pager[Message] = Pager.from_args(args, lambda m: m.sid)
        page = self._state.messages(
            caller.sid,
            to=args.get("To") or None,
            from_=args.get("From") or None,
            sent_on=days.get("DateSent"),
            sent_before=days.get("DateSent<"),
            sent_after=days.get("DateSent>"),
            select=pager.select,
        )
        filters = [(k, args[k]) for k in _MESSAGE_FILTERS if k in args]
        return json_response(
            pager.payload("messages", [message_json(m) for m in page], request.path, filters)
        )

    def _create_message(self, request: Request, caller: Account) -> Response:
        form: MultiDict[str, str] = request.form
        message = self._engine.create_message(
            caller,
            to=form.get("To", "").strip(),
            from_=form.get("From", "").strip(),
            body=form.get("Body", ""),
            media_urls=[url.strip() for url in form.getlist("MediaUrl") if url.strip()],
            messaging_service_sid=form.get("MessagingServiceSid", "").strip(),
            status_callback=form.get("StatusCallback", "").strip(),
            schedule_type=form.get("ScheduleType", "").strip(),
            send_at=form.get("SendAt", "").strip(),
        )
        if self._faults.take_drop():
            _drop_connection(request)
        return json_response(message_json(message), status=201)

    def _message(self, request: Request, caller: Account, by_token: bool, message: str) -> Response:
        found = self._own_message(request, caller, message)
        if request.method == "POST":
            wanted = request.form.get("Status", "").strip()
            if wanted != "canceled":
                raise TwilioApiError(400, 20001, "Status can only be set to canceled")
            found = self._engine.cancel_message(caller, found.sid)
        return json_response(message_json(found))

    def _media_list(
        self, request: Request, caller: Account, by_token: bool, message: str
    ) -> Response:
        found = self._own_message(request, caller, message)
        pager: Pager[Media] = Pager.from_args(request.args, lambda m: m.sid)
        page = pager.select(list(found.media))
        return json_response(
            pager.payload("media_list", [media_json(m) for m in page], request.path, [])
        )

    def _media(
        self, request: Request, caller: Account, by_token: bool, message: str, media: str
    ) -> Response:
        return json_response(media_json(self._own_media(request, caller, message, media)))

    def _media_content(
        self, request: Request, caller: Account, by_token: bool, message: str, media: str
    ) -> Response:
        found = self._own_media(request, caller, message, media)
        location = self._media_host.issue(found.message_sid, found.sid)
        response = Response(status=307, content_type="text/plain")
        response.headers["Location"] = location
        return response

    def _own_message(self, request: Request, caller: Account, sid: str) -> Message:
        found = self._state.message(sid)
        if found is None or found.account_sid != caller.sid:
            raise not_found(request)
        return found

    def _own_media(self, request: Request, caller: Account, message: str, media: str) -> Media:
        self._own_message(request, caller, message)
        found = self._state.media(message, media)
        if found is None:
            raise not_found(request)
        return found


def _parse_day(raw: str) -> date:
    """``DateSent`` filters are whole GMT days; a time part is ignored, as Twilio does."""
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError as exc:
        raise TwilioApiError(400, 20001, f"Invalid date: {raw}") from exc


def _drop_connection(request: Request) -> None:
    """Cut the TCP connection after the message was stored: the client never hears back."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("socket already gone while dropping the connection")
    raise ConnectionDropped("simulated connection drop after create")
