"""The REST gateway over real HTTP: credentials, numbers, paging, and every error in plain words."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from desktop.gateway.media import MediaPolicy
from desktop.gateway.rest import RateLimited, RestGateway, explain_error_code, problem_for
from desktop.gateway.rest_types import TwilioProblem
from desktop.simulator.server import SimulatedTwilio
from tests.integration.test_sync_harness import FAST_SIM, Credentials
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        friendly_name="Pearl Dental",
        config=FAST_SIM,
    ) as simulator:
        simulator.add_number(OUR_NUMBER, sms_url="https://crm.example.com/sms")
        simulator.add_number("+15035550177", capabilities={"sms": False, "mms": False})
        yield simulator


@pytest.fixture
def gateway(sim: SimulatedTwilio) -> Iterator[RestGateway]:
    g = RestGateway(Credentials(), sim.base_url, read_timeout=5)
    yield g
    g.close()


def _problem(call: object) -> TwilioProblem:
    assert callable(call)
    with pytest.raises(TwilioProblem) as caught:
        call()
    return caught.value


def test_the_credential_check_lists_numbers_and_what_they_can_do(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    account = gateway.fetch_account()
    assert (account.account_sid, account.friendly_name, account.status) == (
        ACCOUNT_SID,
        "Pearl Dental",
        "active",
    )
    by_number = {n.e164: n for n in account.numbers}
    ours = by_number[OUR_NUMBER]
    assert (ours.sms, ours.mms, ours.sms_url, ours.sms_method) == (
        True,
        True,
        "https://crm.example.com/sms",
        "POST",
    )
    assert ours.sid.startswith("PN")
    assert [n.e164 for n in account.sms_numbers] == [OUR_NUMBER]  # no SMS, not offered


def test_an_api_key_and_secret_are_used_when_given(sim: SimulatedTwilio) -> None:
    from desktop.credentials import TwilioCredentials

    key, secret = sim.add_api_key()
    credentials = TwilioCredentials(ACCOUNT_SID, "not-the-token", key, secret)
    gateway = RestGateway(credentials, sim.base_url)
    assert gateway.fetch_account().account_sid == ACCOUNT_SID
    gateway.close()


def test_bad_credentials_are_explained_and_permanent(sim: SimulatedTwilio) -> None:
    bad = RestGateway(Credentials(ACCOUNT_SID, "0" * 32), sim.base_url)
    for call in (bad.fetch_account, lambda: list(bad.iter_message_pages())):
        problem = _problem(call)
        assert (problem.code, problem.status, problem.permanent) == (20003, 401, True)
        assert "Account SID and Auth Token" in str(problem)
        assert "20003" in str(problem)
        assert "0" * 32 not in str(problem)
    bad.close()


def test_an_api_key_of_another_account_is_explained(sim: SimulatedTwilio) -> None:
    from desktop.credentials import TwilioCredentials

    other = sim.add_account("Someone Else")
    key, secret = sim.add_api_key(other.sid)
    gateway = RestGateway(TwilioCredentials(ACCOUNT_SID, AUTH_TOKEN, key, secret), sim.base_url)
    problem = _problem(gateway.fetch_account)
    assert problem.permanent
    assert "same Twilio account" in str(problem)
    gateway.close()


def test_listing_follows_next_page_uri_and_date_filters(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    sim.seed_history(130, our_number=OUR_NUMBER, days=3)
    pages = list(gateway.iter_message_pages(page_size=50))
    assert [len(p) for p in pages] == [50, 50, 30]
    sids = [m.sid for p in pages for m in p]
    assert len(set(sids)) == 130
    times = [m.log_time_ms for p in pages for m in p]
    assert times == sorted(times, reverse=True)
    inbound = [m for p in gateway.iter_message_pages(to=OUR_NUMBER, page_size=1000) for m in p]
    assert len(inbound) == 65
    assert all(m.inbound for m in inbound)

    now = datetime.now(UTC)
    sim.add_history_message(from_=CUSTOMER, to=OUR_NUMBER, body="old", at=now - timedelta(days=9))
    recent = [
        m.body
        for p in gateway.iter_message_pages(sent_on_or_after=(now - timedelta(days=5)).date())
        for m in p
    ]
    assert len(recent) == 130
    assert "old" not in recent


def test_media_urls_are_the_authenticated_api_urls_the_fetcher_accepts(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    sim.seed_history(2, our_number=OUR_NUMBER, media_every=2)
    [mms] = [m for p in gateway.iter_message_pages() for m in p if m.num_media]
    [media] = gateway.list_media(mms.sid)
    assert media.content_type == "image/png"
    assert media.url.startswith(f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/")
    assert MediaPolicy(ACCOUNT_SID, sim.base_url).check_source(media.url, mms.sid) == media.sid


def test_a_sent_message_and_its_status_can_be_read_back(
    sim: SimulatedTwilio, gateway: RestGateway
) -> None:
    sent = gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="Hi there")
    assert sent.sid.startswith("SM")
    assert sent.status == "queued"
    sim.wait_for_status(sent.sid, "delivered")
    fetched = gateway.fetch_message(sent.sid)
    assert (fetched.status, fetched.body, fetched.direction) == (
        "delivered",
        "Hi there",
        "outbound-api",
    )


@pytest.mark.parametrize(
    ("setup", "to", "sender", "code", "words"),
    [
        (None, "+1555", OUR_NUMBER, 21211, "not a valid phone number"),
        ("region", "+442079460958", OUR_NUMBER, 21408, "Geo permissions"),
        ("opted_out", CUSTOMER, OUR_NUMBER, 21610, "replied STOP"),
        ("not_mobile", CUSTOMER, OUR_NUMBER, 21614, "not a mobile number"),
        (None, CUSTOMER, "+15035550177", 21606, "not enabled for texting"),
        (None, CUSTOMER, "nope!", 21212, "does not accept the number"),
    ],
)
def test_refusals_are_permanent_and_plain(
    sim: SimulatedTwilio,
    gateway: RestGateway,
    setup: str | None,
    to: str,
    sender: str,
    code: int,
    words: str,
) -> None:
    if setup == "region":
        sim.faults.disable_region("GB")
    elif setup == "opted_out":
        sim.state.set_opted_out(to, OUR_NUMBER, True)
    elif setup == "not_mobile":
        sim.faults.mark_not_mobile(to)
    problem = _problem(lambda: gateway.send_message(to=to, from_=sender, body="x"))
    assert (problem.code, problem.status, problem.permanent, problem.maybe_sent) == (
        code,
        400,
        True,
        False,
    )
    assert words in str(problem)
    assert f"(Twilio error {code})" in str(problem)


def test_rate_limits_and_outages_are_temporary(sim: SimulatedTwilio, gateway: RestGateway) -> None:
    sim.faults.fail_next_creates(1, code=20429, status=429)
    limited = _problem(lambda: gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="x"))
    assert isinstance(limited, RateLimited)
    assert not limited.permanent

    sim.faults.start_outage(503)
    down = _problem(lambda: gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="x"))
    assert (down.status, down.permanent, down.maybe_sent) == (503, False, False)
    sim.faults.start_outage(500)
    broken = _problem(lambda: gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="x"))
    assert (broken.permanent, broken.maybe_sent) == (False, True)  # may have been accepted
    listing = _problem(lambda: list(gateway.iter_message_pages()))
    assert (listing.status, listing.maybe_sent) == (500, False)


def test_retry_after_is_honoured() -> None:
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        Request(environ)
        body = json.dumps({"code": 20429, "message": "Too Many Requests", "status": 429})
        response = Response(body, status=429, content_type="application/json")
        response.headers["Retry-After"] = "7"
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        gateway = RestGateway(Credentials(), f"http://127.0.0.1:{server.server_port}")
        for call in (
            lambda: gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="x"),
            lambda: list(gateway.iter_message_pages()),
        ):
            problem = _problem(call)
            assert isinstance(problem, RateLimited)
            assert problem.retry_after_s == 7.0
        gateway.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_network_failures_say_whether_the_message_may_have_gone(sim: SimulatedTwilio) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = RestGateway(Credentials(), f"http://127.0.0.1:{closed.getsockname()[1]}")
        problem = _problem(lambda: refused.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="x"))
    assert "internet connection seems to be down" in str(problem)
    assert (problem.maybe_sent, problem.permanent, problem.code) == (False, False, None)

    unknown_host = RestGateway(Credentials(), "http://twilio-api.invalid")
    problem = _problem(unknown_host.fetch_account)
    assert "look up Twilio's address" in str(problem)
    assert not problem.maybe_sent

    sim.faults.drop_next_create_response()
    gateway = RestGateway(Credentials(), sim.base_url)
    dropped = _problem(lambda: gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="y"))
    assert dropped.maybe_sent
    assert not dropped.permanent

    sim.faults.set_latency(0.5)
    impatient = RestGateway(Credentials(), sim.base_url, read_timeout=0.2)
    late = _problem(lambda: impatient.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="z"))
    assert "did not answer in time" in str(late)
    assert late.maybe_sent
    listing = _problem(lambda: list(impatient.iter_message_pages()))
    assert not listing.maybe_sent  # only sends can have side effects
    for g in (refused, unknown_host, gateway, impatient):
        g.close()


def test_twilio_edge_and_region_do_not_redirect_an_overridden_base_url(
    sim: SimulatedTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    gateway = RestGateway(Credentials(), sim.base_url)
    assert gateway.fetch_account().account_sid == ACCOUNT_SID
    gateway.close()


def test_error_codes_have_explanations_for_tooltips() -> None:
    for code in range(30003, 30009):
        text = explain_error_code(code)
        assert str(code) in text
        assert len(text) > 40
    assert "landline" in explain_error_code(30006)
    assert "spam" in explain_error_code(30007)
    assert "21610" in explain_error_code(21610)
    assert "STOP" in explain_error_code(21610)
    assert "99999" in explain_error_code(99999)
    assert explain_error_code(None) == ""
    assert problem_for(404, None, "The requested resource was not found").permanent


def test_importing_the_sync_code_does_not_load_twilio() -> None:
    code = (
        "import sys\n"
        "import desktop.sync.service, desktop.gateway.rest\n"
        "loaded = [m for m in ('twilio.rest', 'twilio', 'werkzeug') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
