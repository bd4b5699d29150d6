"""ngrok failures explained in plain words, and secrets kept out of log records."""

from __future__ import annotations

import logging

import pytest

from desktop.tunnel import errors
from desktop.tunnel.errors import REDACTED, SecretRedactor, explain


def _line(code: str, text: str = "failed to start tunnel") -> str:
    return f"{text}: something went wrong.\\r\\n\\r\\n{code}\\r\\n"


@pytest.mark.parametrize(
    ("code", "words", "retryable"),
    [
        ("ERR_NGROK_105", "did not accept the authtoken", False),
        ("ERR_NGROK_107", "did not accept the authtoken", False),
        ("ERR_NGROK_4018", "needs an authtoken", False),
        ("ERR_NGROK_108", "already connected somewhere else", True),
        ("ERR_NGROK_334", "already in use by another copy", True),
        ("ERR_NGROK_320", "not reserved for this ngrok account", False),
        ("ERR_NGROK_18006", "not reserved for this ngrok account", False),
        ("ERR_NGROK_15002", "needs a reserved address", False),
        ("ERR_NGROK_7027", "checks Twilio's signature", False),
        ("ERR_NGROK_121", "too old", False),
        ("ERR_NGROK_99999", "connection through ngrok stopped", True),
    ],
)
def test_known_codes_become_plain_sentences(code: str, words: str, retryable: bool) -> None:
    problem = explain(_line(code), fallback_poll_seconds=30)
    assert words in problem.message
    assert problem.retryable is retryable
    assert problem.code == code
    assert "ERR_NGROK" not in problem.message + problem.action
    assert "every 30 seconds" in problem.action


def test_the_domain_is_named_when_it_is_the_problem() -> None:
    problem = explain(_line("ERR_NGROK_320"), fallback_poll_seconds=60, domain="a.ngrok.app")
    assert (
        problem.message == "The ngrok address a.ngrok.app is not reserved for this ngrok account."
    )


@pytest.mark.parametrize(
    "text",
    [
        "dial tcp: lookup connect.ngrok-agent.com: no such host",
        "dial tcp 1.2.3.4:443: i/o timeout",
        "heartbeat timeout",
    ],
)
def test_network_trouble_is_retried(text: str) -> None:
    problem = explain(text, fallback_poll_seconds=60)
    assert problem.retryable
    assert "internet" in problem.message


def test_authentication_failures_without_a_code_are_not_retried() -> None:
    problem = explain("authentication failed: whatever", fallback_poll_seconds=60)
    assert not problem.retryable
    assert "authtoken" in problem.message


def test_redactor_cleans_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redactor = SecretRedactor()
    redactor.add("s3cret-token-value")
    redactor.add("abc")  # too short to replace safely
    log = logging.getLogger("test.tunnel.redaction")
    log.addFilter(redactor)
    try:
        with caplog.at_level(logging.DEBUG, logger="test.tunnel.redaction"):
            log.info("Your authtoken: %s (abc)", "s3cret-token-value")
            try:
                raise RuntimeError("bad token s3cret-token-value")
            except RuntimeError:
                log.exception("failed")
    finally:
        log.removeFilter(redactor)

    first, second = caplog.records
    assert first.getMessage() == f"Your authtoken: {REDACTED} (abc)"
    assert "s3cret-token-value" not in caplog.text
    assert second.exc_text is not None
    assert REDACTED in second.exc_text


def test_guard_logs_covers_pyngrok_agent_lines(caplog: pytest.LogCaptureFixture) -> None:
    errors.guard_logs("agent-token-0123456789")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("pyngrok.process.ngrok").error(
            'lvl=eror err="Your authtoken: agent-token-0123456789"'
        )
        logging.getLogger("pyngrok.ngrok").debug(
            "Creating tunnel with options: %s", {"secret": "agent-token-0123456789"}
        )
    assert "agent-token-0123456789" not in caplog.text
    assert caplog.text.count(REDACTED) == 2
