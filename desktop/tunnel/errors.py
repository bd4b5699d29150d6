"""ngrok's failures in plain words, and keeping secrets out of every log record.

ngrok reports problems as ``ERR_NGROK_<n>`` codes inside its log lines and API replies.
Staff need to know what happened and what to do, not the code; the code is kept for
support. Some of ngrok's own messages quote the authtoken back ("Your authtoken: …"), and
pyngrok logs every agent line and every API request body (which carries the Twilio auth
token when edge verification is on), so a redacting filter sits on pyngrok's loggers.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_CODE = re.compile(r"ERR_NGROK_\d+")
REDACTED = "«redacted»"

#: Loggers whose records may carry an agent line or an API body.
_GUARDED_LOGGERS = (
    "pyngrok",
    "pyngrok.ngrok",
    "pyngrok.process",
    "pyngrok.process.ngrok",
    "pyngrok.installer",
    "pyngrok.conf",
    "pyngrok.agent",
    "pyngrok.aio",
    "desktop.tunnel",
    "desktop.tunnel.service",
    "desktop.tunnel.install",
    "desktop.tunnel.agent_files",
    "desktop.tunnel.errors",
)


@dataclass(frozen=True)
class NgrokProblem:
    """Why the tunnel is not up; ``retryable`` problems may heal by themselves."""

    message: str
    action: str
    retryable: bool
    code: str | None = None


def error_code(text: str | None) -> str | None:
    if not text:
        return None
    match = _CODE.search(text)
    return match.group(0) if match else None


def polling_note(seconds: int) -> str:
    return f"Until then Twoway checks Twilio for new messages every {seconds} seconds."


_AUTH_CODES = frozenset({"ERR_NGROK_105", "ERR_NGROK_106", "ERR_NGROK_107"})
_DOMAIN_CODES = frozenset({"ERR_NGROK_320", "ERR_NGROK_18006", "ERR_NGROK_313", "ERR_NGROK_314"})
_POLICY_CODES = frozenset({"ERR_NGROK_18002", "ERR_NGROK_7027"})
_TOO_OLD_CODES = frozenset({"ERR_NGROK_120", "ERR_NGROK_121"})
_NETWORK_HINTS = (
    "no such host",
    "dial tcp",
    "i/o timeout",
    "network is unreachable",
    "connection refused",
    "connection reset",
    "tls handshake",
    "context deadline exceeded",
    "heartbeat timeout",
)


def explain(
    text: str | None, *, fallback_poll_seconds: int, domain: str | None = None
) -> NgrokProblem:
    """Map an agent error line or API reply to a plain problem; unknown ones are retryable."""
    code = error_code(text)
    lowered = (text or "").lower()
    address = f"The ngrok address {domain}" if domain else "The ngrok address"
    poll = polling_note(fallback_poll_seconds)
    how_to_fix = (
        "Copy the authtoken from your ngrok dashboard (Your Authtoken) into Twoway's "
        "connection settings, then choose Retry. "
    )
    if code in _AUTH_CODES or (code is None and "authentication failed" in lowered):
        return NgrokProblem("ngrok did not accept the authtoken.", how_to_fix + poll, False, code)
    if code == "ERR_NGROK_4018":
        return NgrokProblem("ngrok needs an authtoken to connect.", how_to_fix + poll, False, code)
    if code == "ERR_NGROK_108":
        return NgrokProblem(
            "Your ngrok account is already connected somewhere else (free accounts allow one "
            "connection at a time).",
            "Close ngrok on the other computer or program; Twoway keeps trying. " + poll,
            True,
            code,
        )
    if code == "ERR_NGROK_334":
        return NgrokProblem(
            f"{address} is already in use by another copy of ngrok.",
            "Close Twoway or ngrok on the other computer; Twoway keeps trying. " + poll,
            True,
            code,
        )
    if code in _DOMAIN_CODES:
        return NgrokProblem(
            f"{address} is not reserved for this ngrok account.",
            "Check the address under Domains on your ngrok dashboard, or clear it in Twoway's "
            "connection settings to get a new address each time. " + poll,
            False,
            code,
        )
    if code == "ERR_NGROK_15002":
        return NgrokProblem(
            "Your ngrok plan needs a reserved address before it can connect.",
            "Reserve a free domain under Domains on your ngrok dashboard and enter it in "
            "Twoway's connection settings. " + poll,
            False,
            code,
        )
    if code in _POLICY_CODES:
        return NgrokProblem(
            "ngrok refused the setting that checks Twilio's signature at ngrok.",
            "Turn off “Check Twilio signatures at ngrok” in the connection settings, or enter "
            "the Twilio auth token again. " + poll,
            False,
            code,
        )
    if code in _TOO_OLD_CODES:
        return NgrokProblem(
            "This copy of ngrok is too old for ngrok's service.",
            "Update ngrok (run “ngrok update”), or delete the ngrok program so Twoway downloads "
            "the current one. " + poll,
            False,
            code,
        )
    if code == "ERR_NGROK_9009":
        return NgrokProblem(
            "ngrok cannot connect through the proxy set on this computer with a free plan.",
            "Ask whoever manages this computer about the proxy setting. " + poll,
            False,
            code,
        )
    if any(hint in lowered for hint in _NETWORK_HINTS):
        return NgrokProblem(
            "Can't reach ngrok's service (is the internet connection down?).",
            "Twoway keeps trying. " + poll,
            True,
            code,
        )
    return NgrokProblem(
        "The connection through ngrok stopped.", "Twoway keeps trying. " + poll, True, code
    )


def install_failed(fallback_poll_seconds: int) -> NgrokProblem:
    return NgrokProblem(
        "Couldn't download ngrok, the program that lets texts reach this computer "
        "(is the internet connection down?).",
        "Connect to the internet, then choose Retry. " + polling_note(fallback_poll_seconds),
        False,
    )


def cannot_run(path: str, reason: str, fallback_poll_seconds: int) -> NgrokProblem:
    return NgrokProblem(
        f"The ngrok program at {path} can't be started ({reason}).",
        "Check that it is the ngrok program for this computer and that you may run it, or "
        "remove the ngrok location from the settings so Twoway downloads ngrok itself. "
        + polling_note(fallback_poll_seconds),
        False,
    )


def missing_token(fallback_poll_seconds: int) -> NgrokProblem:
    return NgrokProblem(
        "ngrok needs an authtoken to connect.",
        "Sign up at ngrok.com (free), copy your authtoken into Twoway's connection settings, "
        "then choose Retry. " + polling_note(fallback_poll_seconds),
        False,
        None,
    )


def bad_domain(value: str, fallback_poll_seconds: int) -> NgrokProblem:
    return NgrokProblem(
        f"The ngrok address “{value}” is not a web address.",
        "Enter it like name.ngrok-free.app, or clear it to get a new address each time. "
        + polling_note(fallback_poll_seconds),
        False,
    )


class SecretRedactor(logging.Filter):
    """Replaces registered secrets in a record's message and traceback text.

    A filter on a logger only sees records created on that very logger, hence one instance
    attached to each pyngrok module logger (see :func:`guard_logs`).
    """

    #: Shorter strings are too likely to occur by chance to be replaced safely.
    MIN_LENGTH = 6

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < self.MIN_LENGTH:
            return
        with self._lock:
            if secret not in self._secrets:
                # Longest first, so a secret containing another is replaced whole.
                self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging call's problem, not ours
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


REDACTOR = SecretRedactor()


def guard_logs(*secrets: str | None) -> None:
    """Register secrets and make sure every pyngrok logger redacts them."""
    for secret in secrets:
        REDACTOR.add(secret)
    for name in _GUARDED_LOGGERS:
        target = logging.getLogger(name)
        if REDACTOR not in target.filters:
            target.addFilter(REDACTOR)
