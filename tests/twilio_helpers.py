"""Helpers for building webhooks exactly as Twilio signs them."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "f00dfeed" * 4
OUR_NUMBER = "+15035550100"
CUSTOMER = "+15035550142"


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def sign(url: str, params: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, dict(params)))


def inbound_params(
    sid: str | None = None, body: str = "Hello there", **extra: str
) -> dict[str, str]:
    sid = sid or new_sid()
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


def status_params(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "To": CUSTOMER,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def form_body(params: Mapping[str, str]) -> bytes:
    return urlencode(list(params.items())).encode()
