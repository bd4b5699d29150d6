"""Credentials: keyring under "Twoway", environment overrides, unsafe keyrings refused."""

from __future__ import annotations

import pytest
from keyring.backends import fail, null

from desktop.secrets import SERVICE_NAME, Secret, SecretStore, SecretsUnavailable
from tests.fakes.memory_keyring import MemoryKeyring


def test_secrets_round_trip_through_the_keyring_under_the_twoway_service() -> None:
    backend = MemoryKeyring()
    secrets = SecretStore(backend, environ={})
    secrets.set(Secret.AUTH_TOKEN, "tok-123456")
    assert backend.values == {(SERVICE_NAME, "twilio_auth_token"): "tok-123456"}
    assert secrets.get(Secret.AUTH_TOKEN) == "tok-123456"
    secrets.delete_all()
    secrets.delete_all()  # signing out twice is fine
    assert secrets.get(Secret.AUTH_TOKEN) is None


def test_environment_wins_over_the_keyring() -> None:
    backend = MemoryKeyring()
    backend.set_password(SERVICE_NAME, "twilio_account_sid", "AC-from-keyring")
    secrets = SecretStore(backend, environ={"TWILIO_ACCOUNT_SID": "AC-from-env"})
    assert secrets.get(Secret.ACCOUNT_SID) == "AC-from-env"


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_keyrings_that_lose_or_leak_secrets_are_refused_in_plain_words(backend: object) -> None:
    secrets = SecretStore(backend, environ={})  # type: ignore[arg-type]
    with pytest.raises(SecretsUnavailable, match="never stores passwords in a plain file"):
        secrets.set(Secret.AUTH_TOKEN, "tok-123456")
    with pytest.raises(SecretsUnavailable):
        secrets.get(Secret.AUTH_TOKEN)
    assert "no secure keyring" in secrets.where()


def test_plaintext_file_keyring_is_refused() -> None:
    plaintext = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})()
    with pytest.raises(SecretsUnavailable):
        SecretStore(plaintext, environ={}).set(Secret.AUTH_TOKEN, "tok-123456")


def test_environment_credentials_work_without_any_keyring() -> None:
    secrets = SecretStore(fail.Keyring(), environ={"TWILIO_AUTH_TOKEN": "tok-env-654321"})
    assert secrets.get(Secret.AUTH_TOKEN) == "tok-env-654321"


def test_locked_keyring_is_explained() -> None:
    from keyring.errors import KeyringLocked

    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise KeyringLocked("locked")

    with pytest.raises(SecretsUnavailable, match="is locked"):
        SecretStore(Locked(), environ={}).get(Secret.AUTH_TOKEN)
