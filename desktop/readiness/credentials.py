"""Where the doctor (and ``repair``) get Twilio credentials outside the running app.

The same rules as the app (:func:`desktop.credentials.load_credentials`): the environment
first, then the keyring — or the encrypted credentials file, whose passphrase is asked
for when a person is at the terminal.  Read only.
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from desktop.credentials import CredentialSource as Origin
from desktop.credentials import TwilioCredentials
from desktop.credentials import load_credentials as load_app_credentials
from desktop.secret_file import UnreadableSecretFile, WrongPassphrase
from desktop.secrets import SecretsLocked, SecretStore, SecretsUnavailable

logger = logging.getLogger(__name__)

ENVIRONMENT_TEXT = "the environment (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"


@dataclass(frozen=True)
class CredentialSource:
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


def load_credentials(
    environ: Mapping[str, str] | None = None,
    secrets: SecretStore | None = None,
    *,
    encrypted_file: Path | None = None,
    ask_passphrase: Callable[[], str | None] = _ask_passphrase,
) -> CredentialSource:
    """The credentials to check with (see the module docstring)."""
    store = secrets or SecretStore(environ=environ, encrypted_file=encrypted_file)
    try:
        found = load_app_credentials(store)
    except SecretsLocked as locked:
        passphrase = ask_passphrase()
        if passphrase is None:
            return CredentialSource(
                None,
                "an encrypted file",
                f"{locked} Run this in a terminal to type it, or set TWILIO_ACCOUNT_SID and "
                "TWILIO_AUTH_TOKEN in the environment.",
            )
        try:
            store.use_passphrase(passphrase)
            found = load_app_credentials(store)
        except (WrongPassphrase, UnreadableSecretFile, SecretsUnavailable) as exc:
            return CredentialSource(None, "an encrypted file", str(exc))
    except SecretsUnavailable as exc:
        return CredentialSource(None, "nowhere", str(exc))
    if found is None:
        where = store.where()
        return CredentialSource(
            None,
            where,
            f"No Twilio credentials were found in the environment or in {where}.",
        )
    if found.source is Origin.ENVIRONMENT:
        return CredentialSource(found, ENVIRONMENT_TEXT)
    return CredentialSource(found, store.where())
