"""Which Twilio credentials this run uses, and where they came from.

The environment (the Twilio CLI's names) wins over anything stored: with
``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` set, Twoway needs no keyring at all, and
the optional API key pair is taken from the environment too, or from the keyring only
when one is usable — a missing keyring never turns a complete environment into
"signed out".
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from desktop.secrets import Secret, SecretsLocked, SecretStore, SecretsUnavailable

logger = logging.getLogger(__name__)


class CredentialSource(StrEnum):
    ENVIRONMENT = "environment"
    KEYRING = "keyring"
    DEMO = "demo"


class TwilioCredentials(NamedTuple):
    account_sid: str
    auth_token: str
    api_key: str | None = None
    api_secret: str | None = None
    source: CredentialSource = CredentialSource.KEYRING

    @property
    def rest_auth(self) -> tuple[str, str]:
        """API key + secret when given (revocable), else the Account SID and Auth Token."""
        if self.api_key and self.api_secret:
            return (self.api_key, self.api_secret)
        return (self.account_sid, self.auth_token)

    def __repr__(self) -> str:  # never show secrets in tracebacks or logs
        return f"TwilioCredentials(account_sid={self.account_sid!r}, source={self.source}, …)"


def load_credentials(secrets: SecretStore) -> TwilioCredentials | None:
    """The credentials to use, or None when none are stored anywhere.

    Raises :class:`SecretsUnavailable` only when the keyring is *needed* (the environment
    does not hold the account) and cannot be used.
    """
    if secrets.from_environment(Secret.ACCOUNT_SID) and secrets.from_environment(Secret.AUTH_TOKEN):
        # Both come from the environment: get() reads them there (and registers the token
        # with the log scrubber) without touching the keyring.
        key = _optional(secrets, Secret.API_KEY)
        secret = _optional(secrets, Secret.API_SECRET)
        if not (key and secret):
            key = secret = None
        return TwilioCredentials(
            secrets.get(Secret.ACCOUNT_SID) or "",
            secrets.get(Secret.AUTH_TOKEN) or "",
            key,
            secret,
            source=CredentialSource.ENVIRONMENT,
        )
    account_sid = secrets.get(Secret.ACCOUNT_SID)
    auth_token = secrets.get(Secret.AUTH_TOKEN)
    if not account_sid or not auth_token:
        return None
    return TwilioCredentials(
        account_sid,
        auth_token,
        secrets.get(Secret.API_KEY),
        secrets.get(Secret.API_SECRET),
        source=CredentialSource.KEYRING,
    )


def _optional(secrets: SecretStore, name: Secret) -> str | None:
    """An optional secret: the environment's, else the keyring's if there is a usable one."""
    try:
        return secrets.get(name)
    except SecretsUnavailable:
        return None


ENVIRONMENT_TEXT = "the environment (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"


@dataclass(frozen=True)
class FoundCredentials:
    credentials: TwilioCredentials | None
    #: Where they came from, mid-sentence: "the environment", "GNOME Keyring", "the demo".
    source: str
    #: Why there are none (plain words), "" when there are.
    problem: str = ""


def _ask_passphrase() -> str | None:
    """The passphrase typed at the terminal, or None when nobody is there to type it."""
    if not sys.stdin or not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass("Passphrase for your Twilio credentials: ")
    except (EOFError, KeyboardInterrupt):
        return None


def load_for_command(
    environ: Mapping[str, str] | None = None,
    secrets: SecretStore | None = None,
    *,
    encrypted_file: Path | None = None,
    ask_passphrase: Callable[[], str | None] = _ask_passphrase,
) -> FoundCredentials:
    """Credentials for a command run outside the app (``doctor``, ``repair``): the same
    rules as the app, and the encrypted file's passphrase asked at a terminal."""
    store = secrets or SecretStore(environ=environ, encrypted_file=encrypted_file)
    try:
        found = load_credentials(store)
    except SecretsLocked as locked:
        passphrase = ask_passphrase()
        if passphrase is None:
            return FoundCredentials(
                None,
                "an encrypted file",
                f"{locked} Run this in a terminal to type it, or set TWILIO_ACCOUNT_SID and "
                "TWILIO_AUTH_TOKEN in the environment.",
            )
        try:
            store.use_passphrase(passphrase)
            found = load_credentials(store)
        except (ValueError, SecretsUnavailable) as exc:  # wrong passphrase, unreadable file
            return FoundCredentials(None, "an encrypted file", str(exc))
    except SecretsUnavailable as exc:
        return FoundCredentials(None, "nowhere", str(exc))
    if found is None:
        where = store.where()
        return FoundCredentials(
            None,
            where,
            f"No Twilio credentials were found in the environment or in {where}.",
        )
    if found.source is CredentialSource.ENVIRONMENT:
        return FoundCredentials(found, ENVIRONMENT_TEXT)
    return FoundCredentials(found, store.where())
