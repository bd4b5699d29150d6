"""The WSGI application Twilio talks to: inbound messages, status callbacks, outgoing media.

Order of work for every POST, and why:

1. size and content type first (413/415) — cheap refusals before parsing anything;
2. the ``X-Twilio-Signature`` over the *public* URL and *every* received parameter
   (unknown ones included: Twilio adds fields without notice) — nothing unsigned is stored;
3. the message is committed to SQLite, and only then
4. Twilio gets its 200 with TwiML (``text/xml``).  A failed commit answers 503, so the
   message is not acknowledged and the backfill will find it in Twilio's log.

A signed ``/twilio/sms`` request carrying ``TwowaySelfTest`` is the readiness self-test
(:mod:`desktop.domain.self_test`): answered with a proof of the nonce, never stored.

Everything that can go wrong with input is a 4xx; a 5xx means *we* could not store.
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from desktop.domain import self_test
from desktop.domain.models import InboundMessage, InvalidWebhook, StatusUpdate

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 64 * 1024
SMS_PATH: Final = "/twilio/sms"
STATUS_PATH: Final = "/twilio/status"
MEDIA_PREFIX: Final = "/media/"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
COMMIT_TIMEOUT_S: Final = 10.0


class Ingest(Protocol):
    """Where verified webhooks go.  Both calls return only after the data is committed."""

    def store_inbound(self, message: InboundMessage) -> str | None:
        """Store the message; return an auto-reply text, or None for no reply."""

    def store_status(self, update: StatusUpdate) -> None: ...


@dataclass(frozen=True)
class WebhookCredentials:
    """What signature checks need, read fresh for every request (the tunnel URL changes)."""

    account_sid: str
    auth_token: str
    public_url: str


class _TwilioRequest(Request):
    max_content_length = MAX_BODY_BYTES
    max_form_memory_size = MAX_BODY_BYTES
    max_form_parts = 200


@dataclass(frozen=True)
class SharedFile:
    path: Path
    content_type: str
    expires_at: float


class MediaShelf:
    """Outgoing attachments Twilio may fetch once we give it a URL: unguessable, expiring."""

    def __init__(self, ttl_s: float = 4 * 3600) -> None:
        self._ttl = ttl_s
        self._files: dict[str, SharedFile] = {}
        self._lock = threading.Lock()

    def share(self, path: Path, content_type: str | None = None) -> str:
        """Return a token for ``path``; the URL is ``<public url>/media/<token>``."""
        token = secrets.token_urlsafe(32)
        guessed = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with self._lock:
            now = time.monotonic()
            self._files = {k: v for k, v in self._files.items() if v.expires_at > now}
            self._files[token] = SharedFile(path, guessed, now + self._ttl)
        return token

    def lookup(self, token: str) -> SharedFile | None:
        with self._lock:
            shared = self._files.get(token)
        if shared is None or shared.expires_at <= time.monotonic():
            return None
        return shared


#: The answer to almost every webhook, built once: ``<Response />`` with nothing to send.
_EMPTY_TWIML: Final = str(MessagingResponse())


def _twiml(reply: str | None = None) -> Response:
    if reply:
        twiml = MessagingResponse()
        twiml.message(reply)
        body = str(twiml)
    else:
        body = _EMPTY_TWIML
    return Response(body, status=200, content_type="text/xml; charset=utf-8")


def _signed(
    validator: RequestValidator, url: str, form: MultiDict[str, str], signature: str
) -> bool:
    """Whether Twilio signed this request.  Twilio signs the URL we gave it, so one HMAC of
    exactly that settles almost every webhook; only a mismatch goes on to the validator's
    own check, which also tries the URL with and without its default port."""
    expected = validator.compute_signature(url, form)
    if hmac.compare_digest(expected.encode(), signature.encode()):
        return True
    return bool(validator.validate(url, form, signature))


def _plain(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, content_type="text/plain; charset=utf-8")


class WebhookApp:
    """A WSGI callable; safe to call from many server threads at once."""

    def __init__(
        self,
        ingest: Ingest,
        credentials: Callable[[], WebhookCredentials | None],
        shelf: MediaShelf | None = None,
    ) -> None:
        self._ingest = ingest
        self._credentials = credentials
        self._shelf = shelf or MediaShelf()
        self._warned_sha256 = False

    @property
    def shelf(self) -> MediaShelf:
        return self._shelf

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _TwilioRequest(environ)
        try:
            response = self._dispatch(request)
        except RequestEntityTooLarge:
            response = _plain(413, "Request body too large")
        except HTTPException as exc:
            response = _plain(exc.code or 400, exc.description or "Bad request")
        except Exception:
            logger.exception("Unexpected error while handling %s %s", request.method, request.path)
            response = _plain(500, "Internal error")
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path in (SMS_PATH, STATUS_PATH):
            if request.method != "POST":
                return Response(
                    "Method not allowed\n",
                    status=405,
                    headers={"Allow": "POST"},
                    content_type="text/plain",
                )
            return self._webhook(request, path)
        if path.startswith(MEDIA_PREFIX):
            if request.method not in ("GET", "HEAD"):
                return Response(
                    "Method not allowed\n",
                    status=405,
                    headers={"Allow": "GET"},
                    content_type="text/plain",
                )
            return self._media(request, path[len(MEDIA_PREFIX) :])
        return _plain(404, "Not found")

    def _webhook(self, request: Request, path: str) -> Response:
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            return _plain(413, "Request body too large")
        if request.mimetype != FORM_TYPE:
            return _plain(415, f"Expected {FORM_TYPE}")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            logger.warning("Refused %s: no X-Twilio-Signature", path)
            return _plain(403, "Missing signature")
        credentials = self._credentials()
        if credentials is None:
            logger.warning("Refused %s: no public URL or auth token to check it against", path)
            return _plain(403, "Not configured")
        form = request.form  # raises 413 past max_content_length
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if algorithm != "HMAC_SHA1":
            if not self._warned_sha256:
                self._warned_sha256 = True
                logger.warning(
                    "Refused a webhook signed with %s (shared keys are not "
                    "supported; use the Auth Token)",
                    algorithm,
                )
            return _plain(403, "Unsupported signature")
        url = credentials.public_url.rstrip("/") + path
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        if not _signed(RequestValidator(credentials.auth_token), url, form, signature):
            logger.warning("Refused %s: the signature does not match", path)
            return _plain(403, "Invalid signature")
        if form.get("AccountSid") != credentials.account_sid:
            logger.warning("Refused %s: signed for another account", path)
            return _plain(403, "Wrong account")
        if path == SMS_PATH and self_test.SELF_TEST_FIELD in form:
            return self._self_test(form.get(self_test.SELF_TEST_FIELD, ""), credentials)
        flat = {key: form.get(key, "") for key in form}
        try:
            if path == SMS_PATH:
                message = InboundMessage.from_form(flat)
                reply = self._ingest.store_inbound(message)
                return _twiml(reply)
            update = StatusUpdate.from_form(flat)
            self._ingest.store_status(update)
            return _twiml()
        except InvalidWebhook as exc:
            logger.warning("Refused a malformed webhook on %s: %s", path, exc)
            return _plain(400, str(exc))
        except Exception as exc:
            # Not acknowledged: Twilio's log keeps the message and the backfill fetches it.
            logger.error("Could not store a webhook on %s: %s", path, exc)
            return _plain(503, "Could not store the message right now")

    def _self_test(self, nonce: str, credentials: WebhookCredentials) -> Response:
        """The doctor's signed probe: prove we hold the token, store nothing."""
        if not self_test.is_valid_nonce(nonce):
            return _plain(400, "Malformed self-test")
        logger.info("Answered a readiness self-test through %s", credentials.public_url)
        response = _twiml()
        response.headers[self_test.PROOF_HEADER] = self_test.proof(credentials.auth_token, nonce)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _media(self, request: Request, token: str) -> Response:
        shared = self._shelf.lookup(token) if token and "/" not in token else None
        if shared is None:
            return _plain(404, "Not found")
        try:
            handle = shared.path.open("rb")
        except OSError:
            return _plain(404, "Not found")
        size = shared.path.stat().st_size
        body = wrap_file(request.environ, handle)
        response = Response(
            body, status=200, content_type=shared.content_type, direct_passthrough=True
        )
        response.content_length = size
        response.headers["Cache-Control"] = "no-store"
        return response
