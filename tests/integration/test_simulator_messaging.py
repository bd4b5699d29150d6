"""The simulator's Messaging API and service-owned routing, driven by the app's own gateway.

Requests go through :class:`RestGateway`, whose client sends ``messaging.twilio.com`` to
``<simulator>/messaging`` (the ``TWOWAY_TWILIO_API_URL`` routing); inbound texts are posted
by the simulator to a small recording receiver, so each routing case is what the server
actually did over a socket.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desktop.gateway.messaging_types import RouteOwner, inbound_route
from desktop.gateway.rest import RestGateway, routed_url
from desktop.gateway.rest_types import TwilioProblem
from desktop.simulator.config import SimulatorConfig
from desktop.simulator.server import SimulatedTwilio
from tests.integration.test_simulator import Receiver, recording_receiver
from tests.integration.test_sync_harness import Credentials
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN

OURS = "+15035550100"
COLLEAGUE = "+15035550111"
TOLL_FREE = "+18005550199"
CUSTOMER = "+15035550123"
CONFIG = SimulatorConfig(status_step_delay=0.02, random_seed=5, enforce_registration=True)


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, config=CONFIG) as s:
        s.add_number(OURS)
        s.add_number(COLLEAGUE)
        s.add_number(TOLL_FREE, number_type="tollfree")
        yield s


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with recording_receiver() as app:
        yield app


@pytest.fixture
def gateway(sim: SimulatedTwilio) -> Iterator[RestGateway]:
    g = RestGateway(Credentials(), sim.base_url, read_timeout=5)
    yield g
    g.close()


def _sid(sim: SimulatedTwilio, phone: str) -> str:
    number = sim.number(phone)
    assert number is not None
    return number.sid


# -- routing every product through one base URL ---------------------------------------------


def test_every_twilio_product_is_routed_to_the_base_url() -> None:
    base = "http://127.0.0.1:9000"
    assert routed_url("https://api.twilio.com/2010-04-01/Accounts/AC1.json", base) == (
        f"{base}/2010-04-01/Accounts/AC1.json"
    )
    assert routed_url("https://messaging.twilio.com/v1/Services?PageSize=5", base) == (
        f"{base}/messaging/v1/Services?PageSize=5"
    )
    assert routed_url("https://sync.twilio.com/v1/Services/IS1/Documents", base + "/") == (
        f"{base}/sync/v1/Services/IS1/Documents"
    )
    assert routed_url("https://messaging.ashburn.us1.twilio.com/v1/Services", base) == (
        f"{base}/messaging/v1/Services"
    )
    # Not Twilio, or no override: untouched.
    cdn = "https://s3-external-1.amazonaws.com/media/ME1"
    assert routed_url(cdn, base) == cdn
    real = "https://messaging.twilio.com/v1/Services"
    assert routed_url(real, "https://api.twilio.com") == real


def test_other_products_reach_the_simulator_under_their_name(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    mg = sim.add_messaging_service([OURS], friendly_name="Pearl Dental")
    assert [s.sid for s in gateway.messaging.list_services()] == [mg]
    assert gateway.call("Listing Sync services", lambda c: c.sync.v1.services.list()) == []
    # A product the simulator does not have answers 404 at <base>/conversations/…: routed there.
    with pytest.raises(TwilioProblem) as caught:
        gateway.call("Listing services", lambda c: list(c.conversations.v1.services.stream()))
    assert caught.value.status == 404


def test_v1_paging_follows_meta_next_page_url(sim: SimulatedTwilio, gateway: RestGateway) -> None:
    made = [sim.add_messaging_service([], friendly_name=f"Service {i}") for i in range(7)]
    listed = gateway.call(
        "Listing services", lambda c: [s.sid for s in c.messaging.v1.services.stream(page_size=3)]
    )
    assert listed == made


def test_the_directory_knows_every_services_numbers(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    mg = sim.add_messaging_service([OURS, COLLEAGUE], friendly_name="Pearl Dental")
    directory = gateway.messaging.directory()
    service = directory.service_of(OURS)
    assert service is not None
    assert (service.sid, service.friendly_name) == (mg, "Pearl Dental")
    assert directory.service_of(_sid(sim, COLLEAGUE)) == service
    assert directory.service_of(TOLL_FREE) is None
    assert {n.phone_number for n in directory.numbers_of(mg)} == {OURS, COLLEAGUE}


def test_a_service_update_is_validated_and_applied(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    mg = sim.add_messaging_service([OURS])
    with pytest.raises(TwilioProblem) as caught:
        gateway.messaging.update_service_inbound(mg, inbound_request_url="not a url")
    assert caught.value.status == 400
    updated = gateway.messaging.update_service_inbound(
        mg, inbound_request_url="https://crm.example.com/in", use_inbound_webhook_on_number=True
    )
    assert updated.inbound_request_url == "https://crm.example.com/in"
    assert updated.use_inbound_webhook_on_number is True
    assert sim.console.service(mg).use_inbound_webhook_on_number is True


# -- where the simulator posts inbound texts ---------------------------------------------------


def test_a_number_outside_any_service_posts_to_its_own_url(
    sim: SimulatedTwilio, gateway: RestGateway, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms/number")
    message = sim.send_inbound(CUSTOMER, OURS, "hello")
    [hit] = receiver.wait_for("/sms/number", 1)
    assert hit.get("MessageSid") == message.sid
    assert hit.get("MessagingServiceSid") is None
    route = inbound_route(gateway.fetch_number(_sid(sim, OURS)), gateway.messaging.directory())
    assert (route.owner, route.url) == (RouteOwner.NUMBER, receiver.url + "/sms/number")


def test_a_service_that_owns_routing_posts_to_its_url_and_ignores_the_numbers(
    sim: SimulatedTwilio, gateway: RestGateway, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms/number")
    mg = sim.add_messaging_service(
        [OURS, COLLEAGUE], inbound_request_url=receiver.url + "/sms/service"
    )
    message = sim.send_inbound(CUSTOMER, OURS, "to the service")
    [hit] = receiver.wait_for("/sms/service", 1)
    assert (hit.get("MessageSid"), hit.get("MessagingServiceSid")) == (message.sid, mg)
    assert receiver.on("/sms/number") == []
    stored = sim.message(message.sid)
    assert stored is not None
    assert stored.messaging_service_sid == mg
    route = inbound_route(gateway.fetch_number(_sid(sim, OURS)), gateway.messaging.directory())
    assert route.owner is RouteOwner.SERVICE
    assert route.url == receiver.url + "/sms/service"
    assert route.other_numbers == (COLLEAGUE,)


def test_an_empty_service_url_drops_the_text_and_logs_nothing(
    sim: SimulatedTwilio, gateway: RestGateway, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms/number")
    sim.add_messaging_service([OURS])
    message = sim.send_inbound(CUSTOMER, OURS, "into the void")
    [dropped] = sim.wait_for_deliveries(1, kind="dropped", message_sid=message.sid)
    assert dropped.param("Body") == "into the void"
    assert receiver.on("/sms/number") == []
    assert sim.message(message.sid) is None
    assert [m.sid for m in sim.messages(to=OURS)] == []
    route = inbound_route(gateway.fetch_number(_sid(sim, OURS)), gateway.messaging.directory())
    assert route.dropped
    assert "drops" in route.describe()


def test_deferring_to_the_number_posts_to_the_numbers_url_with_the_service_sid(
    sim: SimulatedTwilio, gateway: RestGateway, receiver: Receiver
) -> None:
    sim.set_sms_url(OURS, receiver.url + "/sms/number")
    mg = sim.add_messaging_service(
        [OURS],
        inbound_request_url=receiver.url + "/sms/service",
        use_inbound_webhook_on_number=True,
    )
    sim.send_inbound(CUSTOMER, OURS, "deferred")
    [hit] = receiver.wait_for("/sms/number", 1)
    assert hit.get("MessagingServiceSid") == mg
    assert receiver.on("/sms/service") == []
    route = inbound_route(gateway.fetch_number(_sid(sim, OURS)), gateway.messaging.directory())
    assert (route.owner, route.url) == (RouteOwner.NUMBER, receiver.url + "/sms/number")


def test_a_failing_service_url_falls_back_to_the_services_fallback(
    sim: SimulatedTwilio, receiver: Receiver
) -> None:
    mg = sim.add_messaging_service([OURS], inbound_request_url=receiver.url + "/missing")
    sim.console.set_routing(mg, fallback_url=receiver.url + "/sms/fallback")
    message = sim.send_inbound(CUSTOMER, OURS, "try the fallback")
    [hit] = receiver.wait_for("/sms/fallback", 1)
    assert hit.get("MessageSid") == message.sid
    attempts = sim.wait_for_deliveries(2, message_sid=message.sid)
    assert [(a.kind, a.status_code) for a in attempts] == [("incoming", 404), ("fallback", 200)]


# -- sending through a service ---------------------------------------------------------------


def test_a_service_send_with_from_pinned_starts_accepted_and_keeps_the_number(
    sim: SimulatedTwilio, gateway: RestGateway, receiver: Receiver
) -> None:
    mg = sim.add_messaging_service([COLLEAGUE, OURS])
    sim.console.add_campaign(mg, "VERIFIED")
    sent = gateway.send_message(
        to=CUSTOMER,
        from_=OURS,
        body="Your cleaning is at 3:30",
        status_callback=receiver.url + "/status",
        messaging_service_sid=mg,
    )
    assert sent.status == "accepted"
    delivered = sim.wait_for_status(sent.sid, "delivered")
    assert (delivered.from_, delivered.messaging_service_sid) == (OURS, mg)
    statuses = [h.get("MessageStatus") for h in receiver.wait_for("/status", 4)]
    assert statuses == ["queued", "sending", "sent", "delivered"]

    with pytest.raises(TwilioProblem) as caught:
        gateway.send_message(
            to=CUSTOMER, from_=TOLL_FREE, body="not in the pool", messaging_service_sid=mg
        )
    assert (caught.value.code, caught.value.permanent) == (21606, True)


@pytest.mark.parametrize(
    ("campaign", "code"), [(None, 30034), ("IN_PROGRESS", 30035), ("FAILED", 30034)]
)
def test_us_carriers_block_unregistered_local_numbers(
    sim: SimulatedTwilio, gateway: RestGateway, campaign: str | None, code: int
) -> None:
    mg = sim.add_messaging_service([OURS])
    if campaign is not None:
        sim.console.add_campaign(mg, campaign)
    sent = gateway.send_message(to=CUSTOMER, from_=OURS, body="hi", messaging_service_sid=mg)
    assert sim.wait_for_status(sent.sid, "failed").error_code == code


def test_toll_free_texts_are_blocked_until_the_verification_is_approved(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    blocked = gateway.send_message(to=CUSTOMER, from_=TOLL_FREE, body="before")
    assert sim.wait_for_status(blocked.sid, "failed").error_code == 30032
    verification = sim.console.add_tollfree_verification(TOLL_FREE, "IN_REVIEW")
    pending = gateway.send_message(to=CUSTOMER, from_=TOLL_FREE, body="in review")
    assert sim.wait_for_status(pending.sid, "failed").error_code == 30032
    sim.console.set_tollfree_status(verification, "TWILIO_APPROVED")
    approved = gateway.send_message(to=CUSTOMER, from_=TOLL_FREE, body="approved")
    sim.wait_for_status(approved.sid, "delivered")


def test_registration_resources_carry_twilios_field_names(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    mg = sim.add_messaging_service([OURS])
    brand = sim.console.add_brand("APPROVED")
    sim.console.add_campaign(
        mg,
        "FAILED",
        brand_sid=brand,
        errors=[{"error_code": 30794, "description": "The privacy policy link is broken"}],
    )
    [campaign] = gateway.messaging.usa2p_campaigns(mg)
    assert (campaign.campaign_status, campaign.brand_registration_sid) == ("FAILED", brand)
    assert campaign.errors == ("The privacy policy link is broken (error 30794)",)
    assert [(b.sid, b.status) for b in gateway.messaging.brand_registrations()] == [
        (brand, "APPROVED")
    ]
    assert gateway.messaging.fetch_service(mg).us_app_to_person_registered is True

    sim.console.add_tollfree_verification(
        TOLL_FREE, "TWILIO_REJECTED", rejection_reason="Opt-in is not clear", error_code=30445
    )
    [verification] = gateway.messaging.tollfree_verifications(_sid(sim, TOLL_FREE))
    assert (verification.status, verification.rejection_reason, verification.error_code) == (
        "TWILIO_REJECTED",
        "Opt-in is not clear",
        30445,
    )
    assert gateway.messaging.tollfree_verifications(_sid(sim, OURS)) == ()


# -- Advanced Opt-Out ----------------------------------------------------------------------------


def test_advanced_opt_out_reports_the_kind_and_covers_the_whole_service(
    sim: SimulatedTwilio, receiver: Receiver
) -> None:
    mg = sim.add_messaging_service([OURS, COLLEAGUE], inbound_request_url=receiver.url + "/sms")
    sim.send_inbound(CUSTOMER, OURS, "ARRET")
    [plain] = receiver.wait_for("/sms", 1)
    assert plain.get("OptOutType") is None  # no Advanced Opt-Out: a custom word is just text
    assert not sim.is_opted_out(CUSTOMER, OURS)

    sim.console.set_advanced_opt_out(mg, {"STOP": ["arret"], "START": ["reprendre"]})
    sim.send_inbound(CUSTOMER, OURS, "Arret")
    stop = receiver.wait_for("/sms", 2)[-1]
    assert stop.get("OptOutType") == "STOP"
    assert sim.is_opted_out(CUSTOMER, OURS)
    assert sim.is_opted_out(CUSTOMER, COLLEAGUE)
    sim.send_inbound(CUSTOMER, COLLEAGUE, "REPRENDRE")
    assert receiver.wait_for("/sms", 3)[-1].get("OptOutType") == "START"
    assert not sim.is_opted_out(CUSTOMER, OURS)
    sim.send_inbound(CUSTOMER, OURS, "help")
    assert receiver.wait_for("/sms", 4)[-1].get("OptOutType") == "HELP"
