"""What every simulated Twilio product shares: the front door, Basic auth, JSON and errors.

The 2010-04-01 REST API (:mod:`desktop.simulator.rest_api`), the Messaging API
(:mod:`desktop.simulator.messaging_api`) and any product added later answer through these,
so latency, outages, authentication and error bodies behave the same everywhere (and
twilio-python raises the same ``TwilioRestException`` against each).
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any, Final
from urllib.parse import urlsplit

from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Request, Response

from desktop.simulator.errors import TwilioApiError
from desktop.simulator.faults import FaultPlan
from desktop.simulator.state import Account, SimState

_OUTAGE_CODES: Final = {429: 20429, 500: 20500, 503: 20503}


class SidConverter(BaseConverter):
    regex = r"[A-Z]{2}[0-9a-fA-F]{32}"


def front_door(faults: FaultPlan) -> None:
    """Injected latency and outages, before anything else (as Twilio's edge would fail)."""
    latency = faults.latency
    if latency:
        time.sleep(latency)
    outage = faults.outage_status()
    if outage is not None:
        raise TwilioApiError(outage, _OUTAGE_CODES.get(outage, outage))


def authenticate(state: SimState, request: Request) -> tuple[Account, bool]:
    """The account the Basic credentials belong to, and whether the auth token was used."""
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username and auth.password:
        if auth.username.startswith("AC"):
            account = state.account(auth.username)
            if account and hmac.compare_digest(account.auth_token.encode(), auth.password.encode()):
                return account, True
        elif auth.username.startswith("SK"):
            account = state.account_for_key(auth.username, auth.password)
            if account is not None:
                return account, False
    raise TwilioApiError(401, 20003, "Authenticate")


def not_found(request: Request) -> TwilioApiError:
    return TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(payload), status=status, content_type="application/json; charset=utf-8"
    )


def error_response(exc: TwilioApiError) -> Response:
    response = json_response(exc.to_json(), status=exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
