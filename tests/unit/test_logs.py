"""Nothing secret ever reaches the log file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.logs import redact, register_secret, setup_logging
from desktop.secrets import Secret, SecretStore
from tests.fakes.memory_keyring import MemoryKeyring


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs" / "twoway.log"
    setup_logging(path)
    yield path
    setup_logging(None)


def test_secret_values_headers_and_media_tokens_are_scrubbed(log_file: Path) -> None:
    backend = MemoryKeyring()
    secrets = SecretStore(backend, environ={})
    secrets.set(Secret.AUTH_TOKEN, "supersecrettoken1234")
    secrets.set(Secret.NGROK_AUTHTOKEN, "2abcNGROKtoken_xyz")
    log = logging.getLogger("desktop.test")
    log.info("token=%s", "supersecrettoken1234")
    log.warning("Authorization: Basic QUMxMjM6c2VjcmV0")
    log.warning("X-Twilio-Signature: abc123def456=")
    log.info("served /media/%s", "Zx9_" * 10)
    log.info("https://AC123:supersecrettoken1234@api.twilio.com/x")
    try:
        raise RuntimeError("failed with 2abcNGROKtoken_xyz")
    except RuntimeError:
        log.exception("ngrok said")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    for secret in (
        "supersecrettoken1234",
        "2abcNGROKtoken_xyz",
        "QUMxMjM6c2VjcmV0",
        "abc123def456",
        "Zx9_Zx9_",
    ):
        assert secret not in text
    assert "[redacted]" in text
    assert "ngrok said" in text


def test_redact_is_a_pure_function() -> None:
    register_secret("another-secret-value")
    assert redact("x another-secret-value y") == "x [redacted] y"
    assert redact("nothing to hide") == "nothing to hide"
