"""What first-run setup and the settings dialog ask for, and the service that acts on it.

The dialogs in :mod:`desktop.ui` only collect choices and show results.  Everything that
talks to Twilio, the keyring or ngrok sits behind :class:`SetupBackend` (implemented by
the core), so the rules that decide what a receptionist may type — a public address must
be HTTPS, a number whose texts go to another app needs a yes first — are plain functions
tested without Qt.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

from desktop.config import DEFAULT_POLL_INTERVAL_S, POLL_MAX_S, POLL_MIN_S
from desktop.domain.models import ACCOUNT_SID_RE

if TYPE_CHECKING:
    from desktop.gateway.rest_types import AccountInfo
    from desktop.secrets import SecretStorage

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_POLL_INTERVAL_S",
    "POLL_MAX_S",
    "POLL_MIN_S",
    "WEBHOOK_PATH",
    "InputProblem",
    "SetupBackend",
    "SetupResult",
    "TunnelChoice",
    "TwilioLogin",
    "account_sid_problem",
    "api_key_problem",
    "auth_token_problem",
    "capabilities_text",
    "ngrok_authtoken_problem",
    "normalize_ngrok_domain",
    "normalize_public_url",
    "poll_interval_problem",
    "tunnel_summary",
    "webhook_elsewhere",
]

#: Where Twilio posts inbound texts, below the public address.
WEBHOOK_PATH: Final = "/twilio/sms"

_AUTH_TOKEN_RE: Final = re.compile(r"[0-9a-fA-F]{32}")
_API_KEY_RE: Final = re.compile(r"SK[0-9a-fA-F]{32}")
#: Twilio points new numbers at its own "welcome" reply; nothing is lost by replacing it.
_TWILIO_PLACEHOLDER_HOSTS: Final = frozenset({"demo.twilio.com"})


@dataclass(frozen=True)
class TwilioLogin:
    """What the user types to sign in.  The token and secret never appear in ``repr``."""

    account_sid: str
    auth_token: str
    api_key: str = ""
    api_secret: str = ""

    def __repr__(self) -> str:
        key = f", api_key={self.api_key!r}" if self.api_key else ""
        return f"TwilioLogin(account_sid={self.account_sid!r}{key}, …)"

    def stripped(self) -> TwilioLogin:
        """Pasted values often carry a space or a newline at either end."""
        return TwilioLogin(
            self.account_sid.strip(),
            self.auth_token.strip(),
            self.api_key.strip(),
            self.api_secret.strip(),
        )


class TunnelChoice(StrEnum):
    """How Twilio reaches this computer; the same values as :class:`desktop.config.TunnelMode`."""

    NGROK = "ngrok"
    PUBLIC_URL = "public_url"
    POLL = "poll"


@dataclass(frozen=True)
class SetupResult:
    """Everything the wizard (or the settings dialog) decided, for :meth:`SetupBackend.apply_setup`.

    ``ngrok_authtoken`` empty means "keep the stored one" (the settings dialog never sees
    the stored token).  ``take_over_foreign_webhook`` is True only when the number's texts
    went to another app, the user agreed, and the choice is not polling (polling leaves the
    number's webhook alone).  ``auto_reply_text`` None leaves the stored text unchanged.
    """

    login: TwilioLogin
    phone_number: str
    number_sid: str
    tunnel: TunnelChoice
    ngrok_authtoken: str
    ngrok_domain: str
    public_url: str
    poll_interval_s: int
    take_over_foreign_webhook: bool
    webhook_policy: str
    auto_reply_text: str | None = None
    #: Set only where no secure keyring exists: seal the secrets with this passphrase.
    passphrase: str = ""

    def __repr__(self) -> str:
        return (
            f"SetupResult(login={self.login!r}, phone_number={self.phone_number!r}, "
            f"tunnel={self.tunnel.value!r}, ngrok_domain={self.ngrok_domain!r}, "
            f"public_url={self.public_url!r}, poll_interval_s={self.poll_interval_s}, "
            f"take_over_foreign_webhook={self.take_over_foreign_webhook}, "
            f"webhook_policy={self.webhook_policy!r}, …)"
        )


class SetupBackend(Protocol):
    """The core's side of setup.  Futures resolve on worker threads; the dialogs bring
    their results back to the GUI thread themselves.  Failures are raised as
    :class:`desktop.gateway.rest_types.TwilioProblem` (or any exception whose ``str()`` is a
    plain sentence) from ``Future.result()``."""

    def check_login(self, login: TwilioLogin) -> Future[AccountInfo]:
        """Sign in to Twilio and list the account's numbers (with capabilities and sms_url)."""
        ...

    def apply_setup(self, result: SetupResult) -> Future[None]:
        """Store secrets in the keyring and choices in the settings, then (re)start services."""
        ...

    def start_demo(self) -> None:
        """Relaunch in ``--demo`` mode (the wizard closes itself afterwards)."""
        ...

    def sign_out(self) -> Future[None]:
        """Remove every secret from the keyring and stop talking to Twilio."""
        ...

    def secret_storage(self) -> Future[SecretStorage]:
        """Where secrets would be kept on this computer (keyring, encrypted file, nowhere)."""
        ...

    def unlock(self, passphrase: str) -> Future[None]:
        """Open the encrypted credentials file with the user's passphrase, then connect."""
        ...

    def restore_previous_webhook(self) -> Future[str]:
        """Point the number back where it was before Twoway; returns a sentence saying what
        happened ("Texts to (503) 555-0100 go to https://… again.")."""
        ...

    def keyring_location(self) -> str:
        """Where secrets are kept, as a user would name it ("Windows Credential Manager")."""
        ...

    def current_login(self) -> TwilioLogin | None:
        """The stored login, or None when signed out.  The dialogs never show the token."""
        ...


class InputProblem(ValueError):
    """Something typed into setup cannot work; ``str()`` says what to do, in plain words."""


# --- credentials --------------------------------------------------------------------------


def account_sid_problem(text: str) -> str | None:
    value = text.strip()
    if not value:
        return "Paste your Account SID from the Twilio Console."
    if not value.upper().startswith("AC"):
        return "An Account SID starts with AC. Check that you copied the Account SID."
    if not ACCOUNT_SID_RE.fullmatch(value):
        return (
            "An Account SID is AC followed by 32 letters and digits. "
            "Check that you copied all of it."
        )
    return None


def auth_token_problem(text: str) -> str | None:
    """Only the obvious mistakes; Twilio itself decides whether the token is right."""
    value = text.strip()
    if not value:
        return "Paste your Auth Token from the Twilio Console (click “Show” next to it)."
    if not _AUTH_TOKEN_RE.fullmatch(value):
        return "An Auth Token is 32 letters and digits. Check that you copied all of it."
    return None


def api_key_problem(api_key: str, api_secret: str) -> str | None:
    key, secret = api_key.strip(), api_secret.strip()
    if not key and not secret:
        return None
    if not key:
        return "Paste the API key SID (it starts with SK) that goes with this secret."
    if not _API_KEY_RE.fullmatch(key):
        return "An API key SID starts with SK followed by 32 letters and digits."
    if not secret:
        return "Paste the API key's secret too (Twilio shows it only once, when you create it)."
    return None


# --- how Twilio reaches us ------------------------------------------------------------------


def normalize_public_url(text: str) -> str:
    """The address Twilio should post to, without a trailing slash or the webhook path.

    Raises :class:`InputProblem` when Twilio could not use it.
    """
    value = text.strip()
    if not value:
        raise InputProblem("Type the public address, like https://texts.example.com.")
    if "://" not in value:
        raise InputProblem("Start the address with https://.")
    parts = urlsplit(value)
    if parts.scheme.lower() == "http":
        raise InputProblem(
            "Twilio needs a secure address: it must start with https://, not http://."
        )
    if parts.scheme.lower() != "https":
        raise InputProblem("Start the address with https://.")
    if parts.username or parts.password:
        raise InputProblem("Leave the user name and password out of the address.")
    if parts.query or parts.fragment:
        raise InputProblem("Leave out anything after a ? or # in the address.")
    host = (parts.hostname or "").lower()
    if not host:
        raise InputProblem("That address has no web site name after https://.")
    if host == "localhost" or host.endswith(".localhost") or _is_private(host):
        raise InputProblem(
            "That address only works on this computer or your local network; Twilio needs "
            "one it can reach from the internet."
        )
    if "." not in host:
        raise InputProblem("Type the full web site name, like texts.example.com.")
    path = parts.path.rstrip("/")
    if path.lower().endswith(WEBHOOK_PATH):
        path = path[: -len(WEBHOOK_PATH)].rstrip("/")
    port = f":{parts.port}" if parts.port else ""
    return f"https://{host}{port}{path}"


def _is_private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def normalize_ngrok_domain(text: str) -> str:
    """A reserved ngrok domain as a bare host name ("shop.ngrok-free.app"); "" for none."""
    from desktop.tunnel.models import normalize_domain

    if not text.strip():
        return ""
    try:
        return normalize_domain(text).removeprefix("https://")
    except ValueError:
        raise InputProblem(
            "That is not a domain name. Copy it from Domains on your ngrok dashboard, "
            "like shop-name.ngrok-free.app, or leave it empty."
        ) from None


def ngrok_authtoken_problem(text: str, *, token_stored: bool = False) -> str | None:
    """Empty is fine only when a token is already stored (the settings dialog)."""
    value = text.strip()
    if not value:
        if token_stored:
            return None
        return "Paste your ngrok authtoken (from Your Authtoken on the ngrok dashboard)."
    if len(value) < 20 or any(ch.isspace() for ch in value):
        return "That does not look like an ngrok authtoken. Copy the whole token again."
    return None


def poll_interval_problem(seconds: int) -> str | None:
    if seconds < POLL_MIN_S:
        return f"Check at most every {POLL_MIN_S} seconds, or Twilio may refuse the requests."
    if seconds > POLL_MAX_S:
        return "Check at least once an hour, or texts will wait too long."
    return None


# --- the number's current webhook -----------------------------------------------------------


def webhook_elsewhere(sms_url: str) -> str | None:
    """The address a number's texts go to now when that is another app, else None.

    Empty addresses, Twilio's own welcome placeholder and a Twoway address (from this or an
    earlier session: the path ends in ``/twilio/sms``) can be replaced without asking.
    """
    url = sms_url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.hostname or "").lower() in _TWILIO_PLACEHOLDER_HOSTS:
        return None
    if parts.path.rstrip("/").endswith(WEBHOOK_PATH):
        return None
    return url


def capabilities_text(sms: bool, mms: bool) -> str:
    if sms and mms:
        return "Texts and pictures"
    if sms:
        return "Texts only (no pictures)"
    if mms:
        return "Pictures only"
    return "Cannot text"


def tunnel_summary(
    tunnel: TunnelChoice, *, ngrok_domain: str = "", public_url: str = "", poll_interval_s: int = 0
) -> str:
    """How new texts will arrive, completing "New texts arrive: …"."""
    if tunnel is TunnelChoice.NGROK:
        where = f" at https://{ngrok_domain}" if ngrok_domain else ""
        return f"Instantly, through ngrok{where}."
    if tunnel is TunnelChoice.PUBLIC_URL:
        return f"Instantly, at {public_url}{WEBHOOK_PATH}."
    return (
        f"Within {poll_interval_s} seconds: Twoway checks Twilio for them. "
        "Automatic replies are off in this mode."
    )
