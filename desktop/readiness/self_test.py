"""The client side of the receiver self-test (see :mod:`desktop.domain.self_test`).

Posts through the public URL, signed as Twilio signs, and reads the answer.  Runs in the
doctor's process or on a worker thread of the app; never logs the token or the signature.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Final

from desktop.domain import self_test
from desktop.sync.urls import sms_url

logger = logging.getLogger(__name__)

TIMEOUT_S: Final = (5.0, 15.0)  # what Twilio allows: 5 s to connect, 15 s in all


@dataclass(frozen=True, slots=True)
class SelfTestResult:
    ok: bool
    #: What happened, in plain words.
    detail: str
    #: What to do about it ("" when it worked).
    fix: str = ""
    status: int | None = None


def run_self_test(public_url: str, account_sid: str, auth_token: str) -> SelfTestResult:
    """POST a signed self-test to ``public_url`` + /twilio/sms and check the proof."""
    import requests
    from twilio.request_validator import RequestValidator

    url = sms_url(public_url)
    nonce = secrets.token_urlsafe(24)
    params = {"AccountSid": account_sid, self_test.SELF_TEST_FIELD: nonce}
    signature = RequestValidator(auth_token).compute_signature(url, params)
    try:
        response = requests.post(
            url,
            data=params,
            headers={"X-Twilio-Signature": str(signature), "User-Agent": "TwilioProxy/1.1"},
            timeout=TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        logger.info("Self-test through %s failed: %s", public_url, type(exc).__name__)
        return SelfTestResult(
            False,
            f"Twoway's public address {public_url} did not answer ({_why(exc)}), so Twilio "
            "cannot deliver texts to it either.",
            "Check the internet connection; with ngrok, check that the tunnel is online in "
            "Twoway's status area (restarting Twoway opens a new one).",
        )
    status = response.status_code
    answer = response.headers.get(self_test.PROOF_HEADER, "")
    if status == 200 and answer and self_test.proof_matches(auth_token, nonce, answer):
        return SelfTestResult(
            True,
            f"A signed test request through {public_url} reached this Twoway and passed its "
            "signature check (nothing was stored).",
            status=status,
        )
    if status == 403:
        return SelfTestResult(
            False,
            f"Twoway answered at {public_url} but refused the test's signature: it checks "
            "signatures against another address or another account's Auth Token.",
            "Make sure this check and Twoway use the same Twilio account, then restart "
            "Twoway so it signs up with its current address.",
            status,
        )
    if status == 200:
        return SelfTestResult(
            False,
            f"Something other than this Twoway answered at {public_url} (no proof of the "
            "test in its answer).",
            "Check that the public URL in Settings forwards to this computer's Twoway.",
            status,
        )
    return SelfTestResult(
        False,
        f"The public address {public_url} answered HTTP {status} instead of reaching Twoway.",
        "Check that the tunnel or the public URL forwards to Twoway on this computer "
        "(Settings › How texts reach you).",
        status,
    )


def _why(exc: BaseException) -> str:
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ReadTimeout):
        return "it timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "its HTTPS certificate was refused"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "the connection failed"
    return type(exc).__name__
