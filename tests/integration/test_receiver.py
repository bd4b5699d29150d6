"""The webhook receiver over real HTTP: signatures, limits, durability, idempotency."""

from __future__ import annotations

import itertools
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from desktop.store import queries
from tests.receiver_fixture import PUBLIC_URL, RunningReceiver
from tests.twilio_helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    OUR_NUMBER,
    form_body,
    inbound_params,
    new_sid,
    sign,
    status_params,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_signed_inbound_message_is_stored_and_acknowledged_with_twiml(
    running_receiver: RunningReceiver,
) -> None:
    params = inbound_params(
        body="Do you have an opening on Thursday?",
        FromCity="PORTLAND",
        FromState="OR",
        FromZip="97201",
        FromCountry="US",
        ToCity="PORTLAND",
        ToCountry="US",
    )
    reply = running_receiver.post_signed("/twilio/sms", params)

    assert reply.status == 200
    assert reply.content_type.startswith("text/xml")
    assert b"<Response" in reply.body
    assert b"<Message" not in reply.body
    conn = running_receiver.store.reader()
    row = conn.execute(
        "SELECT sid, direction, from_number, to_number, body, status, "
        "from_city, from_state, from_zip, from_country, to_city "
        "FROM messages"
    ).fetchone()
    assert row == (
        params["MessageSid"],
        "inbound",
        CUSTOMER,
        OUR_NUMBER,
        "Do you have an opening on Thursday?",
        "received",
        "PORTLAND",
        "OR",
        "97201",
        "US",
        "PORTLAND",
    )
    [conversation] = queries.conversations(conn)
    assert conversation.unread_count == 1
    assert conversation.snippet == "Do you have an opening on Thursday?"


def test_unknown_extra_parameters_are_part_of_the_signature_and_accepted(
    running_receiver: RunningReceiver,
) -> None:
    params = inbound_params(SomeFieldTwilioAddedLater="x", AddOns='{"status":"successful"}')
    assert running_receiver.post_signed("/twilio/sms", params).status == 200
    assert running_receiver.count() == 1


def test_all_media_items_segments_and_geo_are_committed_before_the_ack(
    running_receiver: RunningReceiver,
) -> None:
    sid = new_sid("MM")
    base = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/"
    media_sids = [new_sid("ME") for _ in range(3)]
    params = inbound_params(sid, body="", NumMedia="3", NumSegments="2")
    for index, media_sid in enumerate(media_sids):
        params[f"MediaUrl{index}"] = base + media_sid
        params[f"MediaContentType{index}"] = ["image/jpeg", "image/png", "video/mp4"][index]

    assert running_receiver.post_signed("/twilio/sms", params).status == 200

    conn = running_receiver.store.reader()
    rows = conn.execute("SELECT idx, media_sid, content_type, state FROM media ORDER BY idx")
    assert rows.fetchall() == [
        (0, media_sids[0], "image/jpeg", "pending"),
        (1, media_sids[1], "image/png", "pending"),
        (2, media_sids[2], "video/mp4", "pending"),
    ]
    assert conn.execute("SELECT num_segments, num_media FROM messages").fetchone() == (2, 3)
    assert queries.conversations(conn)[0].snippet == "Attachment"


def _tampered_cases() -> list[tuple[str, dict[str, object]]]:
    return [
        ("wrong token", {"token": "0" * 32}),
        (
            "http instead of https",
            {"sign_url": PUBLIC_URL.replace("https", "http") + "/twilio/sms"},
        ),
        ("other host", {"sign_url": "https://evil.example.com/twilio/sms"}),
        ("other port", {"sign_url": PUBLIC_URL + ":8443/twilio/sms"}),
        ("other path", {"sign_url": PUBLIC_URL + "/twilio/status"}),
        ("local url", {"sign_url": "http://127.0.0.1/twilio/sms"}),
    ]


@pytest.mark.parametrize(
    ("case", "kwargs"), _tampered_cases(), ids=[c for c, _ in _tampered_cases()]
)
def test_signature_over_anything_else_is_refused_and_nothing_stored(
    running_receiver: RunningReceiver, case: str, kwargs: dict[str, object]
) -> None:
    reply = running_receiver.post_signed("/twilio/sms", inbound_params(), **kwargs)  # type: ignore[arg-type]
    assert reply.status == 403, case
    assert running_receiver.count() == 0


def test_a_parameter_added_after_signing_is_refused(running_receiver: RunningReceiver) -> None:
    signed = inbound_params()
    sent = dict(signed, Body="Send the payment to this account instead")
    sent["Extra"] = "1"
    reply = running_receiver.post_signed("/twilio/sms", sent, signed_params=signed)
    assert reply.status == 403
    assert running_receiver.count() == 0


def test_a_parameter_removed_after_signing_is_refused(running_receiver: RunningReceiver) -> None:
    signed = inbound_params(FromCity="PORTLAND")
    sent = {k: v for k, v in signed.items() if k != "FromCity"}
    reply = running_receiver.post_signed("/twilio/sms", sent, signed_params=signed)
    assert reply.status == 403
    assert running_receiver.count() == 0


def test_missing_or_garbage_signature_is_refused(running_receiver: RunningReceiver) -> None:
    body = form_body(inbound_params())
    assert running_receiver.request("POST", "/twilio/sms", body, FORM).status == 403
    garbage = dict(FORM, **{"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert running_receiver.request("POST", "/twilio/sms", body, garbage).status == 403
    assert running_receiver.count() == 0


def test_validly_signed_request_for_another_account_is_refused(
    running_receiver: RunningReceiver,
) -> None:
    params = inbound_params(AccountSid="AC" + "b2" * 16)
    assert running_receiver.post_signed("/twilio/sms", params).status == 403
    assert running_receiver.count() == 0


def test_query_string_is_part_of_the_signed_url(running_receiver: RunningReceiver) -> None:
    params = inbound_params()
    url = PUBLIC_URL + "/twilio/sms?source=tunnel"
    signature = sign(url, params)
    headers = dict(FORM, **{"X-Twilio-Signature": signature})
    ok = running_receiver.request("POST", "/twilio/sms?source=tunnel", form_body(params), headers)
    assert ok.status == 200
    again = inbound_params()
    headers = dict(FORM, **{"X-Twilio-Signature": sign(url, again)})
    moved = running_receiver.request("POST", "/twilio/sms?source=other", form_body(again), headers)
    assert moved.status == 403


def test_body_over_64_kib_is_refused_with_413(running_receiver: RunningReceiver) -> None:
    params = inbound_params(Body="x" * (70 * 1024))
    reply = running_receiver.post_signed("/twilio/sms", params)
    assert reply.status == 413
    assert running_receiver.count() == 0


def test_body_over_64_kib_without_content_length_is_refused(
    running_receiver: RunningReceiver,
) -> None:
    with socket.create_connection(("127.0.0.1", running_receiver.port), timeout=5) as sock:
        sock.sendall(
            b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"X-Twilio-Signature: abc\r\n\r\n"
        )
        chunk = b"Body=" + b"x" * (80 * 1024)
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n")
        status_line = sock.recv(64)
    assert status_line.split()[1] in (b"403", b"413")
    assert running_receiver.count() == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x", ""]
)
def test_only_form_encoding_is_accepted(
    running_receiver: RunningReceiver, content_type: str
) -> None:
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", {})}
    if content_type:
        headers["Content-Type"] = content_type
    reply = running_receiver.request("POST", "/twilio/sms", b'{"Body": "hi"}', headers)
    assert reply.status == 415


def test_wrong_method_and_unknown_paths(running_receiver: RunningReceiver) -> None:
    assert running_receiver.request("GET", "/twilio/sms").status == 405
    assert running_receiver.request("GET", "/admin").status == 404
    assert running_receiver.request("GET", "/media/not-a-token").status == 404


def test_signed_but_malformed_webhooks_get_400_not_500(running_receiver: RunningReceiver) -> None:
    cases = [
        inbound_params(MessageSid="SM123"),
        inbound_params(NumMedia="3"),  # no MediaUrl0..2
        inbound_params(NumMedia="lots"),
        {k: v for k, v in inbound_params().items() if k != "From"},
    ]
    for params in cases:
        assert running_receiver.post_signed("/twilio/sms", params).status == 400
    assert (
        running_receiver.post_signed(
            "/twilio/status",
            {"MessageSid": new_sid(), "AccountSid": ACCOUNT_SID, "MessageStatus": "<script>"},
        ).status
        == 400
    )
    assert running_receiver.count() == 0


def test_slow_sender_is_cut_off_while_others_are_served(running_receiver: RunningReceiver) -> None:
    slow = socket.create_connection(("127.0.0.1", running_receiver.port), timeout=10)
    slow.sendall(b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n")
    assert running_receiver.post_signed("/twilio/sms", inbound_params()).status == 200
    started = time.monotonic()
    data = slow.recv(1024)  # the server gives up on us (socket timeout is 1 s in tests)
    assert time.monotonic() - started < 5
    assert data == b"" or data.startswith(b"HTTP/1.1 408") or data.startswith(b"HTTP/1.1 400")
    slow.close()


def test_100_concurrent_webhooks_are_all_stored(running_receiver: RunningReceiver) -> None:
    params = [inbound_params(body=f"message {i}") for i in range(100)]
    with ThreadPoolExecutor(100) as pool:
        replies = list(pool.map(lambda p: running_receiver.post_signed("/twilio/sms", p), params))
    assert [r.status for r in replies] == [200] * 100
    assert running_receiver.count() == 100
    assert queries.conversations(running_receiver.store.reader())[0].unread_count == 100


def test_the_same_webhook_ten_times_at_once_gives_one_row(
    running_receiver: RunningReceiver,
) -> None:
    params = inbound_params(body="Is this the dentist?")
    with ThreadPoolExecutor(10) as pool:
        replies = list(
            pool.map(lambda _: running_receiver.post_signed("/twilio/sms", params), range(10))
        )
    assert [r.status for r in replies] == [200] * 10
    assert running_receiver.count() == 1
    assert queries.conversations(running_receiver.store.reader())[0].unread_count == 1


def _insert_outbound(running_receiver: RunningReceiver, sid: str) -> None:
    from desktop.domain.models import Direction, NewMessage, Source
    from desktop.store import writes

    msg = NewMessage(
        sid=sid,
        direction=Direction.OUTBOUND,
        from_number=OUR_NUMBER,
        to_number=CUSTOMER,
        body="Your appointment is confirmed",
        status="queued",
        created_at_ms=writes.now_ms(),
        source=Source.APP,
    )
    running_receiver.store.writer.call(lambda tx: writes.insert_message(tx, msg))


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["sent", "delivered", "undelivered"]))
)
def test_status_callbacks_in_any_order_end_at_the_furthest_status(
    running_receiver: RunningReceiver, order: tuple[str, ...]
) -> None:
    sid = new_sid()
    _insert_outbound(running_receiver, sid)
    for status in order:
        code = "30006" if status == "undelivered" else None
        reply = running_receiver.post_signed("/twilio/status", status_params(sid, status, code))
        assert reply.status == 200
    row = (
        running_receiver.store.reader()
        .execute("SELECT status, error_code FROM messages WHERE sid = ?", (sid,))
        .fetchone()
    )
    assert row[0] == "delivered"


@pytest.mark.parametrize("order", list(itertools.permutations(["queued", "sent", "undelivered"])))
def test_error_code_survives_late_callbacks(
    running_receiver: RunningReceiver, order: tuple[str, ...]
) -> None:
    sid = new_sid()
    _insert_outbound(running_receiver, sid)
    for status in order:
        code = "30006" if status == "undelivered" else None
        running_receiver.post_signed("/twilio/status", status_params(sid, status, code))
    row = (
        running_receiver.store.reader()
        .execute("SELECT status, error_code FROM messages WHERE sid = ?", (sid,))
        .fetchone()
    )
    assert tuple(row) == ("undelivered", 30006)


def test_status_that_arrives_before_the_message_is_applied_when_it_is_stored(
    running_receiver: RunningReceiver,
) -> None:
    sid = new_sid()
    assert (
        running_receiver.post_signed("/twilio/status", status_params(sid, "delivered")).status
        == 200
    )
    _insert_outbound(running_receiver, sid)
    status = (
        running_receiver.store.reader()
        .execute("SELECT status FROM messages WHERE sid = ?", (sid,))
        .fetchone()[0]
    )
    assert status == "delivered"


def test_failed_commit_is_not_acknowledged(running_receiver: RunningReceiver) -> None:
    store = running_receiver.store
    # Simulate a full disk: SQLite refuses to grow the file past its current size.
    pages = store.reader().execute("PRAGMA page_count").fetchone()[0]
    store.writer.call(lambda tx: tx.execute(f"PRAGMA max_page_count = {pages}"))
    big = inbound_params(body="x" * 1500)
    replies = [
        running_receiver.post_signed(
            "/twilio/sms", dict(big, MessageSid=new_sid(), Body=f"{i} " + "y" * 1500)
        )
        for i in range(40)
    ]
    assert 503 in {r.status for r in replies}
    stored = {row[0] for row in store.reader().execute("SELECT body FROM messages")}
    for reply, i in zip(replies, range(40), strict=True):
        body = f"{i} " + "y" * 1500
        assert (reply.status == 200) == (body in stored)
    store.writer.call(lambda tx: tx.execute("PRAGMA max_page_count = 1073741823"))
    assert running_receiver.post_signed("/twilio/sms", inbound_params()).status == 200


def test_sha256_signature_settings_are_refused(running_receiver: RunningReceiver) -> None:
    reply = running_receiver.post_signed(
        "/twilio/sms",
        inbound_params(),
        headers={"X-Twilio-Webhooks-Signature-Settings": "key=KS1,algorithm=HMAC_SHA256"},
    )
    assert reply.status == 403


def test_database_is_consistent_after_the_run(running_receiver: RunningReceiver) -> None:
    for i in range(20):
        running_receiver.post_signed("/twilio/sms", inbound_params(body=f"hello {i}"))
    conn = sqlite3.connect(running_receiver.store.path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')")
    finally:
        conn.close()


def test_auth_token_never_reaches_the_database(running_receiver: RunningReceiver) -> None:
    running_receiver.post_signed("/twilio/sms", inbound_params())
    running_receiver.post_signed("/twilio/sms", inbound_params(), token="0" * 32)
    for path in running_receiver.store.path.parent.glob("twoway.sqlite3*"):
        assert AUTH_TOKEN.encode() not in path.read_bytes()


def test_a_webhook_signed_with_the_default_port_written_out_is_accepted(
    running_receiver: RunningReceiver,
) -> None:
    # Twilio has signed https URLs both with and without ":443"; both are ours.
    reply = running_receiver.post_signed(
        "/twilio/sms", inbound_params(), sign_url=PUBLIC_URL + ":443/twilio/sms"
    )
    assert reply.status == 200
    assert running_receiver.count() == 1
