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


def test_a_log_file_that_cannot_be_written_pauses_quietly_and_picks_up_again(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from desktop.logs import QuietFileHandler

    blocked = tmp_path / "logs"
    blocked.write_text("a file where the log folder should be")  # opening fails: ENOTDIR
    now = [1000.0]
    handler = QuietFileHandler(blocked / "twoway.log", retry_after_s=30.0, clock=lambda: now[0])
    log = logging.getLogger("desktop.test.quiet")
    log.propagate = False
    log.addHandler(handler)
    try:
        for n in range(5):
            log.warning("line %d", n)
        assert handler.is_paused()
        assert handler.dropped == 5
        blocked.unlink()
        blocked.mkdir()
        now[0] += 10
        log.warning("still within the pause")
        assert not (blocked / "twoway.log").exists()
        now[0] += 30
        log.warning("back")
        handler.flush()
        text = (blocked / "twoway.log").read_text()
        assert "6 log lines could not be written" in text
        assert text.rstrip().endswith("back")
        assert not handler.is_paused()
    finally:
        log.removeHandler(handler)
        handler.close()
        log.propagate = True
    assert "Logging error" not in capfd.readouterr().err
