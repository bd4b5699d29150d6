"""Twilio and ngrok credentials in the OS keyring, under the service name ``Twoway``.

The environment (the names the Twilio CLI and ngrok use) overrides the keyring.  Keyrings
that would write the secret to a plain file, or that silently do nothing, are refused
with a message a receptionist can act on: we never store a token in plain text.  Where no
secure keyring exists, the user may choose a passphrase instead: the secrets then live in
an encrypted file in the data folder (:mod:`desktop.secret_file`), unlocked at start.
Once that file exists it is where the secrets are, keyring or not, so they never end up
split between two places.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from desktop.logs import register_secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from desktop.secret_file import EncryptedFileKeyring

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

SERVICE_NAME: Final = "Twoway"


class Secret(StrEnum):
    ACCOUNT_SID = "twilio_account_sid"
    AUTH_TOKEN = "twilio_auth_token"
    API_KEY = "twilio_api_key"
    API_SECRET = "twilio_api_secret"
    NGROK_AUTHTOKEN = "ngrok_authtoken"


ENVIRONMENT_NAMES: Final[Mapping[Secret, str]] = {
    Secret.ACCOUNT_SID: "TWILIO_ACCOUNT_SID",
    Secret.AUTH_TOKEN: "TWILIO_AUTH_TOKEN",
    Secret.API_KEY: "TWILIO_API_KEY",
    Secret.API_SECRET: "TWILIO_API_SECRET",
    Secret.NGROK_AUTHTOKEN: "NGROK_AUTHTOKEN",
}

#: Values that are not secret by themselves and may appear in logs.
_NOT_SECRET: Final = frozenset({Secret.ACCOUNT_SID, Secret.API_KEY})

#: Backends that lose the secret or keep it in a readable file.
_REFUSED_BACKENDS: Final = (
    ("keyring.backends.fail", "Keyring"),
    ("keyring.backends.null", "Keyring"),
    ("keyrings.alt.file", "PlaintextKeyring"),
    ("keyrings.alt.file", "EncryptedKeyring"),
    ("keyrings.alt.Gnome", "Keyring"),
)


class SecretsUnavailable(RuntimeError):
    """The keyring cannot be used; ``str()`` is a plain-language explanation."""


class SecretsLocked(SecretsUnavailable):
    """The secrets are in the encrypted file, which needs the passphrase first."""


class StorageKind(StrEnum):
    KEYRING = "keyring"
    ENCRYPTED_FILE = "encrypted_file"
    NONE = "none"


@dataclass(frozen=True)
class SecretStorage:
    """Where secrets are kept on this computer, for the setup wizard and Settings."""

    kind: StorageKind
    #: As a user would name it ("Windows Credential Manager", "an encrypted file …").
    description: str
    #: The encrypted file exists but has not been unlocked yet.
    locked: bool = False

    @property
    def usable(self) -> bool:
        return self.kind is not StorageKind.NONE and not self.locked


#: What to install so that a secure keyring exists, per platform.
INSTALL_HINT: Final = (
    "install GNOME Keyring (on Debian or Ubuntu: sudo apt install gnome-keyring) or KDE "
    "Wallet, make sure it is unlocked when you sign in to the desktop, then restart Twoway"
)


def _describe(backend: KeyringBackend) -> str:
    module = type(backend).__module__
    if "Windows" in module:
        return "Windows Credential Manager"
    if "macOS" in module:
        return "the macOS Keychain"
    if "SecretService" in module or "libsecret" in module:
        return "your desktop's keyring (GNOME Keyring or compatible)"
    if "kwallet" in module:
        return "KDE Wallet"
    return getattr(backend, "name", type(backend).__name__)


def _is_refused(backend: KeyringBackend) -> bool:
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        usable = [b for b in backend.backends if not _is_refused(b)]
        return not usable
    cls = type(backend)
    for module, name in _REFUSED_BACKENDS:
        if cls.__module__ == module and cls.__name__ == name:
            return True
    return cls.__module__.startswith("keyrings.alt.file")


_NO_KEYRING_MESSAGE: Final = (
    "Twoway keeps your Twilio password in your computer's secure keyring, and none is "
    f"available right now. To get one, {INSTALL_HINT}. Or sign in again and protect the "
    "password with a passphrase of your own, or set TWILIO_ACCOUNT_SID and "
    "TWILIO_AUTH_TOKEN in the environment. Twoway never stores passwords in a plain file."
)
_LOCKED_MESSAGE: Final = (
    "Your Twilio credentials are in an encrypted file. Enter your passphrase to unlock them."
)


class SecretStore:
    """Reads secrets from the environment first, then the keyring; writes to the keyring."""

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        use_environment: bool = True,
        encrypted_file: Path | None = None,
    ) -> None:
        self._backend = backend
        self._environ = os.environ if environ is None else environ
        self._use_environment = use_environment
        self._encrypted_path = encrypted_file
        self._unlocked: EncryptedFileKeyring | None = None

    def _keyring(self) -> KeyringBackend:
        if self._unlocked is not None:
            return self._unlocked
        if self._encrypted_path is not None and self._encrypted_path.exists():
            raise SecretsLocked(_LOCKED_MESSAGE)
        return self._os_keyring()

    def _os_keyring(self) -> KeyringBackend:
        if self._backend is None:
            import keyring  # slow to import (entry points); kept off the startup path

            self._backend = keyring.get_keyring()
        if _is_refused(self._backend):
            raise SecretsUnavailable(_NO_KEYRING_MESSAGE)
        return self._backend

    def storage(self) -> SecretStorage:
        """Where secrets are (or would be) kept; may talk to D-Bus: not on the GUI thread."""
        if self._unlocked is not None:
            return SecretStorage(StorageKind.ENCRYPTED_FILE, self._unlocked.name)
        if self._encrypted_path is not None and self._encrypted_path.exists():
            return SecretStorage(
                StorageKind.ENCRYPTED_FILE,
                "an encrypted file protected by your passphrase",
                locked=True,
            )
        try:
            return SecretStorage(StorageKind.KEYRING, _describe(self._os_keyring()))
        except SecretsUnavailable:
            return SecretStorage(StorageKind.NONE, "nowhere (no secure keyring is available)")

    def where(self) -> str:
        """Where the secrets are kept, for the settings dialog."""
        return self.storage().description

    def use_passphrase(self, passphrase: str) -> None:
        """Keep secrets in the encrypted file from now on, sealed with ``passphrase``.

        Unlocks the existing file, or creates it when there is none.  Raises
        :class:`desktop.secret_file.WrongPassphrase` (its ``str()`` says so plainly).
        """
        from desktop.secret_file import EncryptedFileKeyring

        if self._encrypted_path is None:
            raise SecretsUnavailable("This Twoway has no place for an encrypted secrets file.")
        if self._encrypted_path.exists():
            self._unlocked = EncryptedFileKeyring.unlock(self._encrypted_path, passphrase)
        else:
            self._unlocked = EncryptedFileKeyring.create(self._encrypted_path, passphrase)
        register_secret(passphrase)

    def from_environment(self, name: Secret) -> str | None:
        if not self._use_environment:
            return None
        value = (self._environ.get(ENVIRONMENT_NAMES[name]) or "").strip()
        return value or None

    def get(self, name: Secret) -> str | None:
        value = self.from_environment(name)
        if value is None:
            value = self._call(lambda kr: kr.get_password(SERVICE_NAME, name.value), name)
        if value and name not in _NOT_SECRET:
            register_secret(value)
        return value or None

    def set(self, name: Secret, value: str) -> None:
        value = value.strip()
        if not value:
            self.delete(name)
            return
        if name not in _NOT_SECRET:
            register_secret(value)
        self._call(lambda kr: kr.set_password(SERVICE_NAME, name.value, value), name)
        logger.info("Stored %s in %s", name.value, self.where())

    def delete(self, name: Secret) -> None:
        from keyring.errors import PasswordDeleteError

        def remove(kr: KeyringBackend) -> None:
            # Already gone is fine: signing out twice must not fail.
            with contextlib.suppress(PasswordDeleteError):
                kr.delete_password(SERVICE_NAME, name.value)

        self._call(remove, name)

    def delete_all(self) -> None:
        """Sign out: remove every secret (and the encrypted file, passphrase and all)."""
        if self._encrypted_path is not None and self._encrypted_path.exists():
            self._encrypted_path.unlink()
            self._unlocked = None
            logger.info("Removed the encrypted secrets file")
            return
        for name in Secret:
            self.delete(name)

    def _call(self, action: Callable[[KeyringBackend], _T], name: Secret) -> _T:
        from keyring.errors import KeyringError, KeyringLocked

        backend = self._keyring()
        try:
            return action(backend)
        except KeyringLocked as exc:
            raise SecretsUnavailable(
                f"Your keyring ({_describe(backend)}) is locked. Unlock it and try again."
            ) from exc
        except KeyringError as exc:
            logger.warning("Keyring failed for %s: %s", name.value, type(exc).__name__)
            raise SecretsUnavailable(
                f"Twoway could not use {_describe(backend)}: {exc}. "
                "Check that it is installed and unlocked."
            ) from exc
