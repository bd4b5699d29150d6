"""Auto-replies end to end: the real receiver answers with TwiML (parsed here as XML), the
answer is in the thread marked automatic, the once-per-window memory survives a restart,
and the backfill adopts Twilio's record of the reply instead of adding a second one."""

from __future__ import annotations

import dataclasses
import http.client
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from desktop.config import Paths
from desktop.domain.auto_reply import AutoReplies, AwayMessage, KeywordRule
from desktop.domain.events import Event, MessageAdded
from desktop.domain.frontdesk_setup import FrontDeskSetup
from desktop.domain.hours import BusinessHours
from desktop.domain.models import Direction, NewMessage, Source
from desktop.frontdesk.setup_file import SetupHolder
from desktop.gateway.ingest import StoreIngest
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.rest import RestGateway
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.simulator.server import SimulatedTwilio
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.sync.backfill import Backfiller
from tests.integration.test_sync_harness import FAST_SIM, Credentials, wait_until
from tests.twilio_helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    OUR_NUMBER,
    form_body,
    inbound_params,
    sign,
)

PUBLIC_URL = "https://calm-otter-1234.ngrok-free.app"
WEEKDAYS = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
MONDAY_EVENING = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # closed in London, 11:00 in LA

SETUP = FrontDeskSetup(
    business_hours=BusinessHours.from_days("Europe/London", WEEKDAYS),
    auto_replies=AutoReplies(
        AwayMessage(True, "Hi {first_name}, we're closed. Hours: {hours}.", once_per_hours=12),
        (KeywordRule("HOURS", "We're open {hours}."), KeywordRule("ADDRESS", "12 Main St & Co.")),
    ),
)


@dataclass
class Desk:
    store: Store
    holder: SetupHolder
    receiver: ReceiverThread
    now: list[datetime]

    def text(self, body: str, sid: str | None = None, customer: str = CUSTOMER) -> ET.Element:
        """Post a signed inbound webhook; return the TwiML answer, parsed."""
        params = inbound_params(sid=sid, body=body, From=customer)
        conn = http.client.HTTPConnection("127.0.0.1", self.receiver.port, timeout=10)
        try:
            conn.request(
                "POST",
                "/twilio/sms",
                form_body(params),
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params),
                },
            )
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Content-Type", "").startswith("text/xml")
            root = ET.fromstring(response.read())  # noqa: S314 - our own answer
        finally:
            conn.close()
        assert root.tag == "Response"
        return root

    def thread(self, customer: str = CUSTOMER) -> list[queries.MessageRow]:
        conversation = queries.find_conversation(self.store.reader(), OUR_NUMBER, customer)
        assert conversation is not None
        return queries.thread_page(self.store.reader(), conversation)


def replies(root: ET.Element) -> list[str]:
    assert all(child.tag == "Message" for child in root)
    return [child.text or "" for child in root]


@contextmanager
def front_desk(paths: Paths, setup: FrontDeskSetup = SETUP) -> Iterator[Desk]:
    store = Store(paths.database, paths.backups)
    store.open()
    holder = SetupHolder.open(paths.data_dir / "frontdesk.json", initial=setup)
    now = [MONDAY_EVENING]
    ingest = StoreIngest(
        store, lambda: holder.current, business_name=lambda: "Bright Smiles", clock=lambda: now[0]
    )
    credentials = WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL)
    receiver = ReceiverThread(WebhookApp(ingest, lambda: credentials), 0, socket_timeout=1.0)
    receiver.start()
    try:
        yield Desk(store, holder, receiver, now)
    finally:
        receiver.stop()
        store.close()


@pytest.fixture
def desk(paths: Paths) -> Iterator[Desk]:
    with front_desk(paths) as running:
        yield running


def test_away_message_once_per_window_as_twiml_and_in_the_thread(desk: Desk) -> None:
    desk.store.writer.call(
        lambda tx: tx.execute(
            "INSERT INTO contacts (e164, name) VALUES (?, 'Ada Lovelace')", (CUSTOMER,)
        )
    )
    first = desk.text("Can I book a cleaning?")
    assert replies(first) == ["Hi Ada, we're closed. Hours: Mon–Fri 9:00–17:00; closed Sat, Sun."]

    desk.now[0] += timedelta(hours=11, minutes=59)
    assert replies(desk.text("Hello?")) == []
    desk.now[0] += timedelta(minutes=1)
    assert len(replies(desk.text("Still closed?"))) == 1

    thread = desk.thread()
    assert [(m.direction, m.automatic) for m in thread] == [
        ("inbound", False),
        ("outbound", True),
        ("inbound", False),
        ("inbound", False),
        ("outbound", True),
    ]
    answer = thread[1]
    assert answer.sid is None
    assert answer.status == "queued"
    assert answer.body.startswith("Hi Ada, we're closed.")
    assert answer.key > thread[0].key


def test_keywords_answer_whole_words_open_or_closed_and_xml_is_escaped(desk: Desk) -> None:
    desk.now[0] = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # open
    assert replies(desk.text("what are your HOURS?")) == [
        "We're open Mon–Fri 9:00–17:00; closed Sat, Sun."
    ]
    assert replies(desk.text("your address <please>")) == ["12 Main St & Co."]
    assert replies(desk.text("ourshourses")) == []  # open, and no whole-word keyword


@pytest.mark.parametrize("body", ["STOP", "Help", "start", "unsubscribe."])
def test_twilio_keywords_get_an_empty_response(desk: Desk, body: str) -> None:
    assert replies(desk.text(body)) == []
    assert [m.automatic for m in desk.thread()] == [False]


def test_an_opted_out_customer_gets_no_auto_reply(desk: Desk) -> None:
    assert replies(desk.text("STOP")) == []
    assert replies(desk.text("what are your hours?")) == []
    assert replies(desk.text("anyone there?")) == []
    assert not any(m.automatic for m in desk.thread())


def test_a_repeated_webhook_is_answered_once(desk: Desk) -> None:
    sid = "SM" + "ab" * 16
    assert len(replies(desk.text("Are you there?", sid=sid))) == 1
    assert replies(desk.text("Are you there?", sid=sid)) == []  # Twilio's retry, ngrok replay
    assert len(desk.thread()) == 2


def test_a_webhook_for_a_text_the_log_stored_first_is_still_answered_once(desk: Desk) -> None:
    # A backfill or poll (just after a takeover, or a slow webhook) stored the text first;
    # the webhook is still the only chance to answer it.
    sid = "SM" + "cd" * 16
    logged = NewMessage(
        sid=sid,
        direction=Direction.INBOUND,
        from_number=CUSTOMER,
        to_number=OUR_NUMBER,
        body="Are you open?",
        status="received",
        created_at_ms=writes.now_ms(),
        source=Source.BACKFILL,
    )
    desk.store.writer.call(lambda tx: writes.insert_message(tx, logged))
    assert len(replies(desk.text("Are you open?", sid=sid))) == 1
    assert replies(desk.text("Are you open?", sid=sid)) == []  # Twilio's retry
    assert [(m.direction, m.automatic) for m in desk.thread()] == [
        ("inbound", False),
        ("outbound", True),
    ]


def test_the_once_per_window_memory_survives_a_restart(paths: Paths) -> None:
    with front_desk(paths) as desk:
        assert len(replies(desk.text("Hi, are you open?"))) == 1
    with front_desk(paths) as desk:
        desk.now[0] = MONDAY_EVENING + timedelta(hours=3)
        assert replies(desk.text("Hello again")) == []
        desk.now[0] = MONDAY_EVENING + timedelta(hours=12)
        assert len(replies(desk.text("Hello again, later"))) == 1
    # Per customer: another customer still gets theirs.
    with front_desk(paths) as desk:
        desk.now[0] = MONDAY_EVENING + timedelta(hours=13)
        assert len(replies(desk.text("Hi!", customer="+15035550177"))) == 1


def test_a_new_setup_applies_to_the_next_text_time_zone_included(desk: Desk) -> None:
    assert len(replies(desk.text("first"))) == 1  # 19:00 in London: closed
    moved = dataclasses.replace(
        desk.holder.current,
        business_hours=BusinessHours.from_days("America/Los_Angeles", WEEKDAYS),
    )
    desk.holder.replace(moved)
    assert replies(desk.text("just hi", customer="+15035550177")) == []  # 11:00 in LA
    off = dataclasses.replace(
        desk.holder.current,
        auto_replies=dataclasses.replace(
            desk.holder.current.auto_replies,
            away=AwayMessage(False, "x"),
            keywords=(),
        ),
    )
    desk.holder.replace(off)
    desk.now[0] = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # Saturday: closed, but away is off
    assert replies(desk.text("hours?", customer="+15035550188")) == []


# -- against the simulator: Twilio's record of the reply is adopted ---------------------------


def test_the_backfill_adopts_twilios_record_of_an_auto_reply(paths: Paths) -> None:
    always_closed = dataclasses.replace(SETUP, business_hours=BusinessHours.from_days("UTC", {}))
    store = Store(paths.database, paths.backups)
    store.open()
    holder = SetupHolder.open(paths.data_dir / "frontdesk.json", initial=always_closed)
    with SimulatedTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, config=FAST_SIM) as sim:
        sim.add_number(OUR_NUMBER)
        ingest = StoreIngest(store, lambda: holder.current)
        receiver = ReceiverThread(
            WebhookApp(
                ingest, lambda: WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, receiver.local_url)
            ),
            0,
            socket_timeout=1.0,
        )
        receiver.start()
        try:
            sim.set_sms_url(OUR_NUMBER, receiver.local_url + "/twilio/sms")
            question = sim.send_inbound(CUSTOMER, OUR_NUMBER, "What are your hours?")
            keyword = sim.send_inbound("+15035550177", OUR_NUMBER, "Hello")  # the away message

            def twilio_replies() -> list[object]:
                return [
                    m
                    for m in sim.messages(from_=OUR_NUMBER)
                    if m.direction == "outbound-reply" and m.status == "delivered"
                ]

            wait_until(lambda: len(twilio_replies()) == 2, what="Twilio sending both TwiML replies")
            logged = {m.to: m for m in sim.messages(from_=OUR_NUMBER)}  # type: ignore[attr-defined]
            assert {question.sid, keyword.sid} <= {
                r[0] for r in store.reader().execute("SELECT sid FROM messages")
            }

            added: list[MessageAdded] = []

            def collect(events: Sequence[Event]) -> None:
                added.extend(e for e in events if isinstance(e, MessageAdded))

            store.events.subscribe(collect)
            gateway = RestGateway(Credentials(), sim.base_url)
            try:
                result = Backfiller(store, gateway).run([OUR_NUMBER], reason="start")
                again = Backfiller(store, gateway).run([OUR_NUMBER], reason="start")
            finally:
                gateway.close()
        finally:
            receiver.stop()
    try:
        assert result.added == 0
        assert again.added == 0
        assert added == []
        for customer in (CUSTOMER, "+15035550177"):
            conversation = queries.find_conversation(store.reader(), OUR_NUMBER, customer)
            assert conversation is not None
            thread = queries.thread_page(store.reader(), conversation)
            assert [(m.direction, m.automatic) for m in thread] == [
                ("inbound", False),
                ("outbound", True),
            ]
            reply = thread[1]
            assert reply.sid == logged[customer].sid  # type: ignore[attr-defined]
            assert reply.status == "delivered"
            assert reply.body == logged[customer].body  # type: ignore[attr-defined]
        assert thread[1].body.startswith("Hi, we're closed.")  # no name: {first_name} dropped
    finally:
        store.close()
