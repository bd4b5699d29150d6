"""Twilio and ngrok credentials in the OS keyring, under the service name ``Twoway``.

The environment (the names the Twilio CLI and ngrok use) overrides the keyring.  Keyrings
that would write the secret to a plain file, or that silently do nothing, are refused
with a message a receptionist can act on: we never fall back to storing a token in a file.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TypeVar

from desktop.logs import register_secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

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
    "available right now. On Linux, install and unlock GNOME Keyring or KDE Wallet and "
    "sign in again. Alternatively set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in the "
    "environment. Twoway never stores passwords in a plain file."
)


class SecretStore:
    """Reads secrets from the environment first, then the keyring; writes to the keyring."""

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        use_environment: bool = True,
    ) -> None:
        self._backend = backend
        self._environ = os.environ if environ is None else environ
        self._use_environment = use_environment

    def _keyring(self) -> KeyringBackend:
        if self._backend is None:
            import keyring  # slow to import (entry points); kept off the startup path

            self._backend = keyring.get_keyring()
        if _is_refused(self._backend):
            raise SecretsUnavailable(_NO_KEYRING_MESSAGE)
        return self._backend

    def where(self) -> str:
        """Where the secrets are kept, for the settings dialog."""
        try:
            return _describe(self._keyring())
        except SecretsUnavailable:
            return "nowhere (no secure keyring is available)"

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
