"""Logging to a rotating file in the data folder, with secrets scrubbed on the way out.

Every handler gets :class:`RedactingFilter`, which removes the values of registered
secrets (auth token, API secret, ngrok token), HTTP Basic credentials, Twilio signatures
and media tokens from the final message, whatever code produced it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Final

_LOG_FORMAT: Final = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_MAX_BYTES: Final = 2 * 1024 * 1024
_BACKUPS: Final = 5

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

_PATTERNS: Final = (
    (
        re.compile(r"(?i)(authorization\s*[:=]\s*)(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
        r"\1\2 [redacted]",
    ),
    (re.compile(r"(?i)(x-twilio-signature\s*[:=]\s*)\S+"), r"\1[redacted]"),
    (re.compile(r"(/media/)[A-Za-z0-9_-]{16,}"), r"\1[token]"),
    (re.compile(r"(?i)(authtoken[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_-]{8,}"), r"\1[redacted]"),
    (re.compile(r"(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1[credentials]@"),
)


def register_secret(value: str | None) -> None:
    """Make sure ``value`` never appears in a log record from now on."""
    if value and len(value) >= 6:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the record once, scrubs it, and freezes the result into ``msg``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not kill logging
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(log_file: Path | None, *, verbose: bool = False) -> None:
    """Send our logs to ``log_file`` (rotated) and, when there is a console, to stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_twoway", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = logging.Formatter(_LOG_FORMAT)
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                log_file, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", delay=True
            )
        )
    if sys.stderr is not None:  # None in a frozen windowed app
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(console)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        handler._twoway = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Libraries that would otherwise log request details (headers, URLs with tokens).
    for noisy in ("twilio.http_client", "urllib3", "werkzeug", "pyngrok.process.ngrok"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
