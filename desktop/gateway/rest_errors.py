"""Twilio's error codes in plain words, for the REST gateway, tooltips and the doctor.

Split from :mod:`desktop.gateway.rest` (which re-exports everything here) so the tables
can grow without making the gateway itself long.  Imports nothing slow: ``requests`` is
only imported when a network failure has to be explained.
"""

from __future__ import annotations

from typing import Final

from desktop.gateway.rest_types import TwilioProblem


class RateLimited(TwilioProblem):
    """Twilio asked us to slow down; ``retry_after_s`` is its ``Retry-After`` when given."""

    def __init__(
        self, message: str, *, code: int | None, status: int | None, retry_after_s: float | None
    ) -> None:
        super().__init__(message, code=code, status=status, permanent=False, maybe_sent=False)
        self.retry_after_s = retry_after_s


# -- error codes in plain words --------------------------------------------------------------

#: Errors a REST call can fail with: (what to tell staff, whether retrying can help).
_REST_ERRORS: Final[dict[int, tuple[str, bool]]] = {
    20003: (
        "Twilio did not accept the Account SID and Auth Token (or API key). "
        "Check them in Settings.",
        True,
    ),
    20404: ("Twilio could not find that on your account.", True),
    20429: ("Twilio is limiting how fast messages go out. Twoway will try again shortly.", False),
    21211: (
        "Twilio says the number you are texting is not a valid phone number. Check it for a typo.",
        True,
    ),
    21212: (
        "Twilio does not accept the number this message would be sent from. "
        "Choose another of your numbers in Settings.",
        True,
    ),
    21408: (
        "Your Twilio account is not allowed to text this country yet. Turn it on in the "
        "Twilio Console under Messaging › Settings › Geo permissions.",
        True,
    ),
    21602: ("The message is empty: type some text or attach a picture.", True),
    21603: ("No number to send from. Choose one of your Twilio numbers in Settings.", True),
    21604: ("There is no number to send this message to.", True),
    21606: (
        "Your number cannot send this message: it is not enabled for texting (or for "
        "pictures) to this recipient. Choose another of your numbers.",
        True,
    ),
    21610: (
        "This customer replied STOP, so Twilio will not deliver texts to them. "
        "They can text START to receive messages again.",
        True,
    ),
    21612: ("Twilio cannot route texts between these two numbers.", True),
    21614: ("This number cannot receive texts: it is not a mobile number.", True),
    21617: ("The message is longer than Twilio allows (1,600 characters).", True),
    21620: ("Twilio could not use the picture's address. Try attaching it again.", True),
    21623: ("The picture is too large for a text message. Attach a smaller one.", True),
    30409: ("Twilio can no longer cancel this text: it is already on its way.", True),
    35111: ("Twilio needs a time to send a scheduled text at.", True),
    35114: (
        "Twilio can only schedule a text between 15 minutes and 35 days ahead. Pick another time.",
        True,
    ),
    35115: (
        "Twilio can only schedule a text between 15 minutes and 35 days ahead. Pick another time.",
        True,
    ),
    35118: ("Twilio schedules texts only for numbers in a Messaging Service.", True),
    35126: ("Twilio cannot schedule this kind of message.", True),
}

#: Delivery outcomes (status callbacks), for the tooltip on a failed or undelivered message.
_DELIVERY_ERRORS: Final[dict[int, str]] = {
    11200: "Twilio could not fetch the picture from Twoway (the public link may have been down).",
    30001: "Too many messages were waiting at Twilio for this number. Send more slowly.",
    30002: "Twilio suspended the account. Check the Twilio Console.",
    30003: "The customer's phone is switched off or out of reach.",
    30004: (
        "The message was blocked: the customer may have blocked your number, "
        "or their carrier blocks it."
    ),
    30005: "The customer's number does not exist or is no longer in service.",
    30006: "This number cannot receive texts: it is a landline, or its carrier cannot be reached.",
    30007: (
        "The carrier filtered this message as spam. Avoid link shorteners and all capitals, and "
        "make sure your number is registered for business texting."
    ),
    30008: "The carrier could not deliver the message and gave no reason. Try again later.",
    30032: "Your toll-free number is not verified yet, so carriers block its texts.",
    30034: (
        "US carriers block texts from numbers that are not registered for business texting "
        "(A2P 10DLC). Register the number in the Twilio Console."
    ),
    30035: (
        "The number's business-texting registration (A2P 10DLC) is still being reviewed; "
        "US carriers block its texts until it is approved."
    ),
}


def explain_error_code(code: int | None) -> str:
    """A sentence staff understand for Twilio's error ``code`` (for tooltips and dialogs)."""
    if code is None:
        return ""
    if code in _DELIVERY_ERRORS:
        return f"{_DELIVERY_ERRORS[code]} (Twilio error {code})"
    if code in _REST_ERRORS:
        return f"{_REST_ERRORS[code][0]} (Twilio error {code})"
    return f"Twilio reported error {code}; twilio.com/docs/errors/{code} explains it."


def problem_for(
    status: int | None,
    code: int | None,
    twilio_message: str = "",
    *,
    sending: bool = False,
    retry_after: str | None = None,
) -> TwilioProblem:
    """The :class:`TwilioProblem` for an error answer from Twilio (HTTP ``status``, ``code``)."""
    if code == 20429 or status == 429:
        return RateLimited(
            f"{_REST_ERRORS[20429][0]} (Twilio error {code or 20429})",
            code=code or 20429,
            status=status,
            retry_after_s=_retry_after_seconds(retry_after),
        )
    if code in _REST_ERRORS:
        text, permanent = _REST_ERRORS[code]
        return TwilioProblem(
            f"{text} (Twilio error {code})", code=code, status=status, permanent=permanent
        )
    suffix = f" (Twilio error {code})" if code else f" (HTTP {status})"
    if status == 401:
        text = _REST_ERRORS[20003][0]
        return TwilioProblem(text + suffix, code=code, status=status, permanent=True)
    if status == 403:
        return TwilioProblem(
            "Twilio refused this request: the account or API key is not allowed to do it." + suffix,
            code=code,
            status=status,
            permanent=True,
        )
    if status is not None and status >= 500:
        # A 503 comes from Twilio's front door (nothing was done); other 5xx on a send
        # may have happened after the message was accepted.
        return TwilioProblem(
            "Twilio is having trouble right now. Twoway will try again." + suffix,
            code=code,
            status=status,
            permanent=False,
            maybe_sent=sending and status != 503,
        )
    said = f": {twilio_message.strip().rstrip('.')}." if twilio_message.strip() else "."
    return TwilioProblem(
        f"Twilio refused the request{said}" + suffix, code=code, status=status, permanent=True
    )


def _retry_after_seconds(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return max(0.0, min(float(raw.strip()), 3600.0))
    except ValueError:
        return None


def network_problem(exc: BaseException, *, sending: bool) -> TwilioProblem | None:
    """Explain a requests/urllib3 failure; None when ``exc`` is not a network error.

    Only a failure *before* the request left this computer (DNS, refused connection,
    connect timeout, TLS handshake) is certainly unsent; anything later may have reached
    Twilio, which is what ``maybe_sent`` tells the outbox.
    """
    import requests

    if not isinstance(exc, requests.RequestException):
        return None
    causes = _causes(exc)
    names = {type(c).__name__ for c in causes}
    if "NameResolutionError" in names or any("resolve" in str(c).lower() for c in causes):
        return TwilioProblem(
            "Cannot reach Twilio: this computer could not look up Twilio's address. "
            "Check the internet connection."
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TwilioProblem(
            "Cannot open a secure connection to Twilio (a firewall or proxy may be interfering)."
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout) or "ConnectTimeoutError" in names:
        return TwilioProblem("Cannot reach Twilio: the connection timed out. Check the internet.")
    if "NewConnectionError" in names or isinstance(exc, requests.exceptions.ProxyError):
        return TwilioProblem("Cannot reach Twilio: the internet connection seems to be down.")
    if isinstance(exc, requests.exceptions.Timeout):
        return TwilioProblem("Twilio did not answer in time.", maybe_sent=sending)
    return TwilioProblem(
        "The connection to Twilio broke off before it answered.", maybe_sent=sending
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (requests → urllib3 → socket errors)."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(found) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in found:
            continue
        found.append(item)
        todo.extend(item.args)
        todo.extend((item.__cause__, item.__context__, getattr(item, "reason", None)))
    return found
