"""The built-in Twilio simulator, driven by the real twilio-python client over real HTTP.

If these pass, the app's gateway code (which only knows twilio-python) works unchanged in
demo mode and against the test suite's fake Twilio.
"""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from desktop.simulator.config import SimulatorConfig
from desktop.simulator.images import landscape_png
from desktop.simulator.personas import (
    JAMAL,
    LONG_EMOJI_MESSAGE,
    MARIA,
    OAKRIDGE,
    PRIYA,
    TOM,
    DemoTwilio,
)
from desktop.simulator.server import SimulatedTwilio
from desktop.simulator.state import Geo

OURS = "+15035550100"
TOLL_FREE = "+18005550199"
CUSTOMER = "+15035550123"
FAST = SimulatorConfig(status_step_delay=0.02, random_seed=7)

# -- a tiny webhook receiver ----------------------------------------------------------


@dataclass
class Hit:
    path: str
    method: str
    form: list[tuple[str, str]]
    headers: dict[str, str]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.form if k == name), None)


@dataclass
class Receiver:
    """Records every request; answers /sms with ``reply`` and serves /img.png."""

    reply: tuple[int, str | None, str] = (200, "text/xml", "<Response/>")
    hits: list[Hit] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def __call__(self, environ, start_response):
        request = Request(environ)
        form = list(request.form.items(multi=True)) + list(request.args.items(multi=True))
        with self._cond:
            self.hits.append(Hit(request.path, request.method, form, dict(request.headers)))
            self._cond.notify_all()
        if request.path == "/img.png":
            response = Response(landscape_png(64, 48), content_type="image/png")
        elif request.path == "/slow":
            self.release.wait(3)
            response = Response("<Response/>", content_type="text/xml")
        elif request.path.startswith("/sms"):
            status, content_type, body = self.reply
            response = Response(body, status=status)
            if content_type is None:
                del response.headers["Content-Type"]
            else:
                response.headers["Content-Type"] = content_type
        elif request.path == "/status":
            response = Response("", content_type="text/plain")
        else:
            response = Response("not here", status=404, content_type="text/plain")
        return response(environ, start_response)

    def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.on(path)) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"only {len(self.on(path))} requests to {path}"
                self._cond.wait(remaining)
            return self.on(path)

    def on(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


@contextmanager
def recording_receiver() -> Iterator[Receiver]:
    """A :class:`Receiver` listening on a loopback port (also used by other test modules)."""
    app = Receiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        app.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with recording_receiver() as app:
        yield app


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(friendly_name="Test Dental", config=FAST) as simulator:
        simulator.add_number(OURS, geo=Geo("PORTLAND", "OR", "97205", "US"))
        simulator.add_number(TOLL_FREE, number_type="tollfree")
        yield simulator


def make_client(sim: SimulatedTwilio, username: str, password: str) -> Client:
    client = Client(username, password, sim.account_sid)
    client.api.base_url = sim.base_url
    return client


@pytest.fixture
def client(sim: SimulatedTwilio) -> Iterator[Client]:
    c = make_client(sim, sim.account_sid, sim.auth_token)
    yield c
    c.http_client.session.close()


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    try:
        conn.request(
            "GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {}
        )
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# -- REST basics ----------------------------------------------------------------------


def test_account_and_numbers_can_be_read_and_the_sms_url_set(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    assert client.api.v2010.accounts(sim.account_sid).fetch().friendly_name == "Test Dental"
    sim.add_number("+15035550111")
    numbers = list(client.incoming_phone_numbers.stream(page_size=2))
    assert [n.phone_number for n in numbers] == [OURS, TOLL_FREE, "+15035550111"]
    assert numbers[0].capabilities["sms"]
    assert numbers[0].capabilities["mms"]

    [ours] = client.incoming_phone_numbers.list(phone_number=OURS)
    updated = client.incoming_phone_numbers(ours.sid).update(
        sms_url=receiver.url + "/sms", sms_method="POST"
    )
    assert updated.sms_url == receiver.url + "/sms"
    number = sim.number(OURS)
    assert number is not None
    assert number.sms_url == receiver.url + "/sms"


def test_messages_create_fetch_and_list_newest_first_across_pages(
    sim: SimulatedTwilio, client: Client
) -> None:
    sim.seed_history(130, our_number=OURS, days=3)
    sent = client.messages.create(to=CUSTOMER, from_=OURS, body="Your crown is ready 👑")
    assert (sent.sid[:2], sent.status, sent.direction) == ("SM", "queued", "outbound-api")
    assert (sent.num_segments, sent.num_media) == ("1", "0")
    assert sent.uri.endswith(f"/Messages/{sent.sid}.json")

    first_page = client.messages.page(page_size=50)
    assert first_page.next_page_url is not None
    listed = list(client.messages.stream(page_size=50))
    assert len(listed) == 131
    assert len({m.sid for m in listed}) == 131
    assert listed[0].sid == sent.sid
    dates = [m.date_sent or m.date_created for m in listed]
    assert dates == sorted(dates, reverse=True)

    assert [m.sid for m in client.messages.list(to=CUSTOMER)] == [sent.sid]
    fetched = client.messages(sent.sid).fetch()
    assert fetched.body == "Your crown is ready 👑"


def test_date_sent_filters_are_whole_gmt_days(sim: SimulatedTwilio, client: Client) -> None:
    now = datetime.now(UTC)
    sim.add_history_message(from_=CUSTOMER, to=OURS, body="old", at=now - timedelta(days=3))
    # Early today (never yesterday, whatever the time of day the test runs).
    today = datetime.combine(now.date(), datetime.min.time()).replace(tzinfo=UTC)
    sim.add_history_message(from_=CUSTOMER, to=OURS, body="new", at=today + timedelta(seconds=1))
    since = (now - timedelta(days=1)).date()
    assert [m.body for m in client.messages.list(date_sent_after=since)] == ["new"]
    assert [m.body for m in client.messages.list(date_sent_before=since)] == ["old"]
    # A time of day is ignored: the whole day is returned.
    late = datetime.combine(now.date(), datetime.max.time()).replace(tzinfo=UTC)
    assert [m.body for m in client.messages.list(date_sent_after=late)] == ["new"]


def test_seeding_2500_messages_is_fast_and_listable(sim: SimulatedTwilio, client: Client) -> None:
    started = time.perf_counter()
    sim.seed_history(2500, our_number=OURS, days=10)
    assert time.perf_counter() - started < 1.0
    listed = list(client.messages.stream(page_size=1000))
    assert len(listed) == 2500


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "kwargs", "code", "status"),
    [
        (None, {"to": "+1555", "body": "x"}, 21211, 400),
        (None, {"to": CUSTOMER, "from_": "+15035550177", "body": "x"}, 21606, 400),
        (None, {"to": CUSTOMER, "from_": "nope!", "body": "x"}, 21212, 400),
        (None, {"to": CUSTOMER}, 21602, 400),
        (None, {"to": CUSTOMER, "body": "x" * 1601}, 21617, 400),
        ("opted_out", {"to": CUSTOMER, "body": "x"}, 21610, 400),
        ("not_mobile", {"to": CUSTOMER, "body": "x"}, 21614, 400),
        ("region", {"to": "+442079460958", "body": "x"}, 21408, 400),
        ("throttled", {"to": CUSTOMER, "body": "x"}, 20429, 429),
        ("outage", {"to": CUSTOMER, "body": "x"}, 20503, 503),
    ],
)
def test_create_errors_arrive_as_twilio_rest_exceptions(
    sim: SimulatedTwilio,
    client: Client,
    setup: str | None,
    kwargs: dict[str, str],
    code: int,
    status: int,
) -> None:
    if setup == "opted_out":
        sim.state.set_opted_out(CUSTOMER, OURS, True)
    elif setup == "not_mobile":
        sim.faults.mark_not_mobile(CUSTOMER)
    elif setup == "region":
        sim.faults.disable_region("GB")
    elif setup == "throttled":
        sim.faults.fail_next_creates(1, code=20429, status=429)
    elif setup == "outage":
        sim.faults.start_outage(503)
    kwargs.setdefault("from_", OURS)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(**kwargs)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert sim.messages() == []


def test_injected_failures_are_used_up_then_creates_succeed(
    sim: SimulatedTwilio, client: Client
) -> None:
    sim.faults.fail_next_creates(2, code=20429, status=429)
    for _ in range(2):
        with pytest.raises(TwilioRestException):
            client.messages.create(to=CUSTOMER, from_=OURS, body="retry me")
    client.messages.create(to=CUSTOMER, from_=OURS, body="retry me")
    assert sim.create_attempt_count(CUSTOMER, "retry me") == 3
    assert sim.create_count(CUSTOMER, "retry me") == 1


def test_credentials_api_keys_and_other_accounts(sim: SimulatedTwilio, client: Client) -> None:
    bad = make_client(sim, sim.account_sid, "wrong-token")
    with pytest.raises(TwilioException):  # a list raises the library's generic error
        bad.messages.list()
    with pytest.raises(TwilioRestException) as caught:
        bad.api.v2010.accounts(sim.account_sid).fetch()
    assert (caught.value.code, caught.value.status) == (20003, 401)
    bad.http_client.session.close()

    key_sid, secret = sim.add_api_key()
    with_key = make_client(sim, key_sid, secret)
    assert with_key.api.v2010.accounts(sim.account_sid).fetch().auth_token is None
    with_key.http_client.session.close()

    other = sim.add_account("Someone Else")
    with pytest.raises(TwilioRestException) as caught:
        client.api.v2010.accounts(other.sid).fetch()
    assert caught.value.status == 404
    other_key, other_secret = sim.add_api_key(other.sid)
    wrong_key = make_client(sim, other_key, other_secret)
    with pytest.raises(TwilioRestException) as caught:
        wrong_key.messages.create(to=CUSTOMER, from_=OURS, body="x")
    assert caught.value.status == 404
    wrong_key.http_client.session.close()


def test_dropped_connection_after_create_leaves_the_message_at_twilio(
    sim: SimulatedTwilio, client: Client
) -> None:
    sim.faults.drop_next_create_response()
    with pytest.raises(OSError, match="Connection aborted"):
        client.messages.create(to=CUSTOMER, from_=OURS, body="did it go?")
    assert sim.create_count(CUSTOMER, "did it go?") == 1
    assert [m.body for m in client.messages.list(to=CUSTOMER)] == ["did it go?"]


# -- status callbacks -----------------------------------------------------------------


def _statuses(receiver: Receiver, count: int) -> list[str | None]:
    return [hit.get("MessageStatus") for hit in receiver.wait_for("/status", count)]


def test_status_callbacks_follow_the_message_and_are_signed(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    url = receiver.url + "/status"
    sent = client.messages.create(to=CUSTOMER, from_=OURS, body="hi", status_callback=url)
    assert _statuses(receiver, 3) == ["sending", "sent", "delivered"]
    validator = RequestValidator(sim.auth_token)
    for hit in receiver.on("/status"):
        assert hit.get("MessageSid") == sent.sid
        assert validator.validate(url, dict(hit.form), hit.headers["X-Twilio-Signature"])
    assert client.messages(sent.sid).fetch().status == "delivered"


def test_callbacks_out_of_order_and_failed_deliveries(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    url = receiver.url + "/status"
    sim.faults.set_callbacks_out_of_order(True)
    client.messages.create(to=CUSTOMER, from_=OURS, body="1", status_callback=url)
    assert _statuses(receiver, 3) == ["sending", "delivered", "sent"]

    sim.faults.set_callbacks_out_of_order(False)
    sim.faults.mark_landline("+15035550188")
    landline = client.messages.create(to="+15035550188", from_=OURS, body="2", status_callback=url)
    assert sim.wait_for_status(landline.sid, "undelivered").error_code == 30006
    last = receiver.wait_for("/status", 6)[-1]
    assert (last.get("MessageStatus"), last.get("ErrorCode")) == ("undelivered", "30006")

    sim.faults.set_recipient_outcome("+15035550199", "failed", 30007)
    failed = client.messages.create(to="+15035550199", from_=OURS, body="3")
    assert sim.wait_for_status(failed.sid, "failed").error_code == 30007


# -- inbound --------------------------------------------------------------------------


def test_inbound_webhook_is_signed_like_twilio_and_links_media(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    url = receiver.url + "/sms"
    sim.set_sms_url(OURS, url)
    picture = landscape_png(32, 24)
    message = sim.send_inbound(
        CUSTOMER,
        OURS,
        "Is this swelling normal?",
        [("image/png", picture)],
        from_geo=Geo("PORTLAND", "OR", "97201", "US"),
    )
    [hit] = receiver.wait_for("/sms", 1)
    form = dict(hit.form)
    signature = hit.headers["X-Twilio-Signature"]
    assert RequestValidator(sim.auth_token).validate(url, form, signature)
    assert not RequestValidator("0" * 32).validate(url, form, signature)
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"] == message.sid
    assert message.sid.startswith("MM")
    assert (form["From"], form["To"], form["NumMedia"], form["NumSegments"]) == (
        CUSTOMER,
        OURS,
        "1",
        "1",
    )
    assert (form["FromCity"], form["FromZip"], form["ToState"]) == ("PORTLAND", "97201", "OR")
    media_url = form["MediaUrl0"]
    assert media_url.startswith(f"{sim.base_url}/2010-04-01/Accounts/{sim.account_sid}/")
    assert form["MediaContentType0"] == "image/png"

    # Media: Basic auth → redirect → media host, which refuses credentials.
    assert http_get(media_url)[0] == 401
    status, headers, _ = http_get(media_url, basic(sim.account_sid, sim.auth_token))
    assert status in (302, 307)
    cdn_url = headers["Location"]
    assert cdn_url.startswith(sim.media_host_url)
    assert sim.auth_token not in cdn_url
    assert http_get(cdn_url, basic(sim.account_sid, sim.auth_token))[0] == 400
    status, headers, body = http_get(cdn_url)
    assert (status, headers["Content-Type"], body) == (200, "image/png", picture)
    sim.media_host.expire_all()
    assert http_get(cdn_url)[0] == 403

    [media] = client.messages(message.sid).media.list()
    assert (media.content_type, media.parent_sid) == ("image/png", message.sid)
    assert client.messages(message.sid).media(media.sid).fetch().sid == media.sid


def test_twiml_replies_become_outbound_reply_messages(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms")
    receiver.reply = (200, "text/xml", "<Response><Message>Thanks, we got it!</Message></Response>")
    sim.send_inbound(CUSTOMER, OURS, "hello")
    assert sim.wait_until(lambda: any(m.direction == "outbound-reply" for m in sim.messages()))
    [reply] = [m for m in client.messages.list(to=CUSTOMER) if m.direction == "outbound-reply"]
    assert (reply.from_, reply.body) == (OURS, "Thanks, we got it!")

    receiver.reply = (200, None, "")
    inbound = sim.send_inbound(CUSTOMER, OURS, "again")
    [attempt] = sim.wait_for_deliveries(1, kind="incoming", message_sid=inbound.sid)
    assert attempt.error_code == 12300


def test_webhook_retries_once_on_connection_failure_only(receiver: Receiver) -> None:
    config = SimulatorConfig(status_step_delay=0.02, webhook_total_timeout=0.3)
    with SimulatedTwilio(config=config) as sim:
        sim.add_number(OURS)
        with closed_port_url() as dead_url:
            sim.set_sms_url(OURS, dead_url)
            refused = sim.send_inbound(CUSTOMER, OURS, "anyone there?")
            attempts = sim.wait_for_deliveries(2, kind="incoming", message_sid=refused.sid)
        assert [a.error_code for a in attempts] == [11205, 11205]

        sim.set_sms_url(OURS, receiver.url + "/slow")
        slow = sim.send_inbound(CUSTOMER, OURS, "hello?")
        [attempt] = sim.wait_for_deliveries(1, kind="incoming", message_sid=slow.sid)
        assert attempt.error_code == 11205
        assert "Timeout" in attempt.error
        # A slow receiver is not retried (a retry would arrive within milliseconds).
        assert not sim.wait_until(lambda: len(receiver.on("/slow")) > 1, timeout=0.3)
        receiver.release.set()


@contextmanager
def closed_port_url() -> Iterator[str]:
    """A loopback URL on which nothing listens (bound, not listening: refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/sms"


def test_stop_opts_out_and_start_opts_back_in(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms")
    sim.send_inbound(CUSTOMER, OURS, "  stop ")
    assert receiver.wait_for("/sms", 1)[0].get("Body") == "  stop "
    assert sim.is_opted_out(CUSTOMER, OURS)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CUSTOMER, from_=OURS, body="Are you sure?")
    assert caught.value.code == 21610
    # Opt-out is per sender number: the toll-free number may still text.
    client.messages.create(to=CUSTOMER, from_=TOLL_FREE, body="From the other line")

    sim.send_inbound(CUSTOMER, OURS, "START")
    receiver.wait_for("/sms", 2)
    assert not sim.is_opted_out(CUSTOMER, OURS)
    client.messages.create(to=CUSTOMER, from_=OURS, body="Welcome back")
    confirmations = [m.body for m in sim.messages(to=CUSTOMER) if m.direction == "outbound-reply"]
    assert any("unsubscribed" in body for body in confirmations)


# -- outbound media -------------------------------------------------------------------


def test_outbound_media_is_fetched_without_credentials_and_stored(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    sent = client.messages.create(
        to=CUSTOMER, from_=OURS, body="Your x-ray", media_url=[receiver.url + "/img.png"]
    )
    assert (sent.sid[:2], sent.num_media) == ("MM", "1")
    sim.wait_for_status(sent.sid, "delivered")
    [fetch] = receiver.on("/img.png")
    assert "Authorization" not in fetch.headers
    [media] = client.messages(sent.sid).media.list()
    assert media.content_type == "image/png"

    broken = client.messages.create(
        to=CUSTOMER, from_=OURS, body="oops", media_url=[receiver.url + "/missing.png"]
    )
    assert sim.wait_for_status(broken.sid, "failed").error_code == 11200

    sim.faults.fail_next_media_fetches(1)
    unlucky = client.messages.create(
        to=CUSTOMER, from_=OURS, body="cdn hiccup", media_url=[receiver.url + "/img.png"]
    )
    assert sim.wait_for_status(unlucky.sid, "failed").error_code == 11200


# -- the demo -------------------------------------------------------------------------


def test_demo_script_texts_in_once_the_app_sets_the_webhook(receiver: Receiver) -> None:
    config = SimulatorConfig(status_step_delay=0.4, random_seed=3)
    with DemoTwilio.start(speed=80, auto_start_after=None, config=config) as demo:
        client = Client(demo.account_sid, demo.auth_token, demo.account_sid)
        client.api.base_url = demo.base_url
        history = client.messages.list()
        assert len(history) >= 8
        assert {m.to for m in history} >= {MARIA.number, PRIYA.number}
        assert not demo.script.activated

        local = client.incoming_phone_numbers.list(phone_number=demo.numbers[0])[0]
        local.update(sms_url=receiver.url + "/sms")
        # Customers text the number the app just configured.
        texts = [(hit.get("From"), hit) for hit in receiver.wait_for("/sms", 6, timeout=5)]
        assert [hit.get("Body") for sender, hit in texts if sender == TOM.number] == [
            "STOP",
            "START",
        ]
        assert not demo.simulator.is_opted_out(TOM.number, demo.numbers[0])
        [maria] = [hit for sender, hit in texts if sender == MARIA.number]
        assert maria.get("Body") == "Hi, do you have any openings Thursday afternoon?"
        [jamal] = [hit for sender, hit in texts if sender == JAMAL.number]
        assert jamal.get("MediaContentType0") == "image/png"
        [priya] = [hit for sender, hit in texts if sender == PRIYA.number]
        assert priya.get("Body") == LONG_EMOJI_MESSAGE
        assert int(priya.get("NumSegments") or 0) > 1
        assert {sender for sender, _ in texts} == {
            MARIA.number,
            JAMAL.number,
            PRIYA.number,
            TOM.number,
            OAKRIDGE.number,
        }

        before = len(demo.simulator.messages(from_=MARIA.number))
        client.messages.create(to=MARIA.number, from_=demo.numbers[0], body="Yes! 3:30?")
        assert demo.simulator.wait_until(
            lambda: len(demo.simulator.messages(from_=MARIA.number)) == before + 1, timeout=3
        )
        assert receiver.wait_for("/sms", 7)[-1].get("Body") == "3:30 would be perfect!"
        to_pharmacy = client.messages.create(to=OAKRIDGE.number, from_=demo.numbers[0], body="Hi")
        assert demo.simulator.wait_for_status(to_pharmacy.sid, "undelivered").error_code == 30006
        client.http_client.session.close()


# -- less common paths ----------------------------------------------------------------


def test_messaging_service_picks_the_sender_and_starts_accepted(
    sim: SimulatedTwilio, client: Client, receiver: Receiver
) -> None:
    service = sim.add_messaging_service([TOLL_FREE])
    url = receiver.url + "/status"
    sent = client.messages.create(
        to=CUSTOMER, messaging_service_sid=service, body="hi", status_callback=url
    )
    assert (sent.status, sent.from_, sent.messaging_service_sid) == ("accepted", TOLL_FREE, service)
    assert _statuses(receiver, 4) == ["queued", "sending", "sent", "delivered"]
    assert receiver.on("/status")[0].get("MessagingServiceSid") == service


def test_get_webhooks_carry_the_fields_in_the_signed_query(
    sim: SimulatedTwilio, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms?clinic=1", method="GET")
    sim.send_inbound(CUSTOMER, OURS, "via GET")
    [hit] = receiver.wait_for("/sms", 1)
    assert hit.method == "GET"
    assert hit.get("Body") == "via GET"
    [attempt] = sim.wait_for_deliveries(1, kind="incoming")
    assert RequestValidator(sim.auth_token).validate(
        attempt.url, {}, hit.headers["X-Twilio-Signature"]
    )


def test_latency_and_a_timed_outage(sim: SimulatedTwilio, client: Client) -> None:
    sim.faults.set_latency(0.2)
    started = time.monotonic()
    client.api.v2010.accounts(sim.account_sid).fetch()
    assert time.monotonic() - started >= 0.2
    sim.faults.set_latency(0)

    sim.faults.start_outage(500, seconds=0.3)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CUSTOMER, from_=OURS, body="during outage")
    assert (caught.value.status, caught.value.code) == (500, 20500)
    deadline = time.monotonic() + 3
    while True:
        try:
            client.messages.create(to=CUSTOMER, from_=OURS, body="after outage")
            break
        except TwilioRestException:
            assert time.monotonic() < deadline, "the outage did not end"
            sim.wait_until(lambda: False, timeout=0.05)
    assert sim.create_count(CUSTOMER, "during outage") == 0
