"""Secrets in an encrypted file, for desktops without a secure keyring.

A kiosk, a minimal Linux desktop or a support machine may have no Secret Service, no KDE
Wallet.  Rather than refuse to work there (or, worse, write a token in plain text), Twoway
can keep the credentials in one file in the data folder, encrypted with a key derived
from a passphrase the user types when the app starts:

- the key is derived once per unlock with scrypt (n=2^15, r=8, p=1: about 0.1 s and 32 MB,
  which makes guessing passphrases expensive), from a random salt kept in the file;
- the secrets are one JSON object sealed with AES-256-GCM (a fresh nonce on every save);
  the file's header is authenticated too, so a changed KDF setting is detected;
- a wrong passphrase fails the authentication tag: it is reported, never "decrypted" to
  garbage; the file is written atomically and readable by the user only.

It is a ``keyring`` backend, so :class:`desktop.secrets.SecretStore` uses it exactly as it
uses the OS keyring.  ``cryptography`` provides the primitives (it is already what the
Secret Service backend uses on Linux).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any, Final

from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

logger = logging.getLogger(__name__)

FORMAT: Final = "twoway-secrets"
VERSION: Final = 1
SCRYPT_N: Final = 2**15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
MIN_PASSPHRASE: Final = 8


class WrongPassphrase(ValueError):
    """The passphrase does not open this file (or the file was altered)."""


class UnreadableSecretFile(ValueError):
    """The file is not a Twoway secrets file (damaged or something else)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise UnreadableSecretFile("a field of the secrets file is not text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise UnreadableSecretFile("a field of the secrets file is damaged") from exc


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def passphrase_problem(passphrase: str, repeated: str | None = None) -> str | None:
    """What is wrong with a new passphrase, in plain words (None: fine)."""
    if len(passphrase) < MIN_PASSPHRASE:
        return f"Choose a passphrase of at least {MIN_PASSPHRASE} characters."
    if repeated is not None and repeated != passphrase:
        return "The two passphrases are not the same."
    return None


class EncryptedFileKeyring(KeyringBackend):
    """A keyring backend over one encrypted file; open it with :meth:`create` or :meth:`unlock`."""

    @properties.classproperty
    def priority(cls) -> float:
        # Never chosen by keyring's own detection: Twoway opens it explicitly.
        raise RuntimeError("Twoway's encrypted file is opened explicitly")

    def __init__(self, path: Path, key: bytes, header: dict[str, Any], data: dict[str, Any]):
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = path
        self._key = key
        self._header = header
        self._data = data
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "an encrypted file protected by your passphrase"

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, passphrase: str) -> EncryptedFileKeyring:
        """A new, empty file sealed with ``passphrase`` (replaces an existing one)."""
        problem = passphrase_problem(passphrase)
        if problem:
            raise ValueError(problem)
        salt = secrets.token_bytes(16)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "kdf": {
                "name": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": _b64(salt),
            },
        }
        keyring = cls(path, _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P), header, {})
        keyring._save()
        logger.info("Created an encrypted secrets file at %s", path.name)
        return keyring

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> EncryptedFileKeyring:
        """Open an existing file; raises WrongPassphrase or UnreadableSecretFile."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UnreadableSecretFile(f"Twoway cannot read {path.name}: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise UnreadableSecretFile(f"{path.name} is not a Twoway secrets file.")
        if document.get("version") != VERSION:
            raise UnreadableSecretFile(
                f"{path.name} was written by a newer version of Twoway; update Twoway."
            )
        kdf = document.get("kdf")
        if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
            raise UnreadableSecretFile(f"{path.name} uses an unknown key derivation.")
        try:
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UnreadableSecretFile(f"{path.name} is damaged.") from exc
        if not (2**14 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise UnreadableSecretFile(f"{path.name} has unusable key derivation settings.")
        header = {k: document[k] for k in ("format", "version", "kdf")}
        key = _derive(passphrase, _unb64(kdf.get("salt")), n, r, p)
        try:
            plain = AESGCM(key).decrypt(
                _unb64(document.get("nonce")), _unb64(document.get("ciphertext")), _aad(header)
            )
        except InvalidTag:
            raise WrongPassphrase(
                "That passphrase does not unlock your Twilio credentials. Check it and try again."
            ) from None
        data = json.loads(plain.decode("utf-8"))
        if not isinstance(data, dict):
            raise UnreadableSecretFile(f"{path.name} is damaged.")
        return cls(path, key, header, data)

    # -- the keyring API ------------------------------------------------------------------------

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            value = self._data.get(service, {}).get(username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._data.setdefault(service, {})[username] = password
            self._save()

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            values = self._data.get(service, {})
            if username not in values:
                raise PasswordDeleteError(f"{username} is not stored")
            del values[username]
            self._save()

    # -- writing --------------------------------------------------------------------------------

    def _save(self) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._key).encrypt(
            nonce, json.dumps(self._data).encode("utf-8"), _aad(self._header)
        )
        document = dict(self._header, nonce=_b64(nonce), ciphertext=_b64(sealed))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=self.path.parent)
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True).encode("utf-8")
