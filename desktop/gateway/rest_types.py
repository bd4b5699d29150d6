"""What the Twilio REST gateway returns, in plain data (no twilio-python objects leak out).

Kept apart from :mod:`desktop.gateway.rest` so the UI and the sync code can use these
types without importing twilio (which costs ~0.2 s and stays off the first paint).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IncomingNumber:
    """One of the account's phone numbers, with what it can do and where it points."""

    sid: str
    e164: str
    friendly_name: str
    sms: bool
    mms: bool
    voice: bool
    sms_url: str
    sms_method: str = "POST"


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_sid: str
    friendly_name: str
    status: str
    numbers: tuple[IncomingNumber, ...]

    @property
    def sms_numbers(self) -> tuple[IncomingNumber, ...]:
        """Only numbers that can send texts are offered for sending."""
        return tuple(n for n in self.numbers if n.sms)


class TwilioProblem(Exception):
    """A Twilio or network failure explained in plain words.

    ``str()`` is what the user sees; ``code`` is Twilio's error code when there is one
    (e.g. 21610), ``status`` the HTTP status; ``permanent`` tells the outbox not to retry;
    ``maybe_sent`` that the request may have reached Twilio (a timeout after sending).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        permanent: bool = False,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.permanent = permanent
        self.maybe_sent = maybe_sent
