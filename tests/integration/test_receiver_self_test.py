"""The receiver's answer to the readiness self-test: a proof for a signed probe, never a message."""

from __future__ import annotations

import http.client

from desktop.domain import self_test
from tests.receiver_fixture import RunningReceiver
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, inbound_params, sign

NONCE = "n0nce-for-the-test_1234567890"


def _probe(**extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT_SID, self_test.SELF_TEST_FIELD: NONCE, **extra}


def test_a_signed_probe_gets_a_proof_and_nothing_is_stored(
    running_receiver: RunningReceiver,
) -> None:
    reply = running_receiver.post_signed("/twilio/sms", _probe())
    assert reply.status == 200
    assert reply.content_type.startswith("text/xml")
    assert b"<Message>" not in reply.body
    assert running_receiver.count() == 0
    assert running_receiver.count("conversations") == 0


def test_the_proof_is_in_the_header_and_needs_the_token(running_receiver: RunningReceiver) -> None:
    params = _probe()
    conn = http.client.HTTPConnection("127.0.0.1", running_receiver.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/twilio/sms",
            form_body(params),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(running_receiver.public_url + "/twilio/sms", params),
            },
        )
        response = conn.getresponse()
        response.read()
        answer = response.getheader(self_test.PROOF_HEADER, "")
    finally:
        conn.close()
    assert self_test.proof_matches(AUTH_TOKEN, NONCE, answer)
    assert not self_test.proof_matches("0" * 32, NONCE, answer)
    assert AUTH_TOKEN not in answer


def test_an_unsigned_or_foreign_probe_is_refused_like_any_webhook(
    running_receiver: RunningReceiver,
) -> None:
    assert running_receiver.post_signed("/twilio/sms", _probe(), token="0" * 32).status == 403
    foreign = _probe(AccountSid="AC" + "b2" * 16)
    assert running_receiver.post_signed("/twilio/sms", foreign).status == 403
    bad_nonce = {"AccountSid": ACCOUNT_SID, self_test.SELF_TEST_FIELD: "short"}
    assert running_receiver.post_signed("/twilio/sms", bad_nonce).status == 400
    assert running_receiver.count() == 0


def test_a_real_message_with_the_same_receiver_is_still_stored(
    running_receiver: RunningReceiver,
) -> None:
    assert running_receiver.post_signed("/twilio/sms", inbound_params()).status == 200
    assert running_receiver.count() == 1
