"""Logging to a rotating file in the data folder, with secrets scrubbed on the way out.

Every handler gets :class:`RedactingFilter`, which removes the values of registered
secrets (auth token, API secret, ngrok token), HTTP Basic credentials, Twilio signatures
and media tokens from the final message, whatever code produced it.

The log file goes quiet when it cannot be written (a full disk, a read-only folder)
instead of printing ``--- Logging error ---`` and a traceback for every line; it tries
again every :data:`RETRY_AFTER_S` seconds and, once it can, notes how many lines were lost.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Final

_LOG_FORMAT: Final = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_MAX_BYTES: Final = 2 * 1024 * 1024
_BACKUPS: Final = 5
RETRY_AFTER_S: Final = 30.0

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


class QuietFileHandler(RotatingFileHandler):
    """A rotating log file that pauses, silently, while it cannot be written."""

    def __init__(
        self,
        filename: Path,
        *,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            filename, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", delay=True
        )
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._paused_until: float | None = None
        self.dropped = 0

    def is_paused(self) -> bool:
        return self._paused_until is not None

    def emit(self, record: logging.LogRecord) -> None:
        if self._paused_until is not None:
            if self._clock() < self._paused_until:
                self.dropped += 1
                return
            self._paused_until = None
            lost, self.dropped = self.dropped, 0
            if lost:
                super().emit(self._lost_note(lost, record))
                if self.is_paused():  # still failing
                    self.dropped = lost + 1
                    return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        problem = sys.exc_info()[1]
        if not isinstance(problem, OSError):
            super().handleError(record)
            return
        self.dropped += 1
        self._paused_until = self._clock() + self._retry_after_s
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # closing flushes, which fails again
                stream.close()

    @staticmethod
    def _lost_note(lost: int, record: logging.LogRecord) -> logging.LogRecord:
        note = logging.LogRecord(
            __name__,
            logging.WARNING,
            __file__,
            0,
            f"{lost} log lines could not be written (the disk was full or the log file "
            "could not be written)",
            None,
            None,
        )
        note.created, note.threadName = record.created, record.threadName
        return note


def setup_logging(log_file: Path | None, *, verbose: bool = False, console: bool = True) -> None:
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
        with contextlib.suppress(OSError):  # a read-only or full disk: the handler pauses
            log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(QuietFileHandler(log_file))
    if console and sys.stderr is not None:  # None in a frozen windowed app
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(stream)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        handler._twoway = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Libraries that would otherwise log request details (headers, URLs with tokens).
    for noisy in ("twilio.http_client", "urllib3", "werkzeug", "pyngrok.process.ngrok"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
