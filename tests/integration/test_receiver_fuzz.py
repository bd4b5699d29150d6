"""Fuzzed webhooks: whatever arrives, the receiver answers 2xx/4xx, never 5xx, and survives."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.receiver_fixture import RunningReceiver
from tests.twilio_helpers import inbound_params

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

keys = st.sampled_from(
    [
        "MessageSid",
        "AccountSid",
        "From",
        "To",
        "Body",
        "NumMedia",
        "NumSegments",
        "MediaUrl0",
        "MediaContentType0",
        "FromCity",
        "MessageStatus",
        "ErrorCode",
        "SmsSid",
    ]
) | st.text(max_size=20)
values = st.text(max_size=300) | st.sampled_from(
    ["", "0", "1", "10", "11", "-1", "9" * 30, "SM" + "0" * 32, "\x00", "%ZZ"]
)


@FUZZ
@given(
    overrides=st.dictionaries(keys, values, max_size=8),
    path=st.sampled_from(["/twilio/sms", "/twilio/status"]),
)
def test_signed_fuzz_never_gives_a_server_error(
    running_receiver: RunningReceiver, overrides: dict[str, str], path: str
) -> None:
    params = inbound_params(**{"MessageStatus": "sent"})
    params.update(overrides)
    reply = running_receiver.post_signed(path, params)
    assert reply.status in (200, 400, 403, 413), reply


@FUZZ
@given(
    body=st.binary(max_size=2048),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "text/xml",
            "multipart/form-data",
        ]
    ),
)
def test_raw_garbage_never_gives_a_server_error(
    running_receiver: RunningReceiver, body: bytes, content_type: str
) -> None:
    reply = running_receiver.request(
        "POST", "/twilio/sms", body, {"Content-Type": content_type, "X-Twilio-Signature": "AAAA"}
    )
    assert 400 <= reply.status < 500, reply


def test_receiver_still_works_after_the_fuzzing(running_receiver: RunningReceiver) -> None:
    assert running_receiver.post_signed("/twilio/sms", inbound_params()).status == 200
