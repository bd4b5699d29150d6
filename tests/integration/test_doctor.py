"""``twoway doctor``: every check in every state, against the simulator over real sockets.

Each test sets up an account state in the simulator (services, campaigns, toll-free
verifications, routing), a data folder with the real receiver and store (the running app,
publishing ``state/running.json`` exactly as the app's network side does), and runs the
doctor's own entry point, reading its JSON.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from keyring.backends.fail import Keyring as FailKeyring

from desktop.config import SettingsFile
from desktop.domain.connection import Link
from desktop.readiness.doctor import run_doctor
from desktop.readiness.model import CHECK_IDS
from desktop.readiness.runtime import RunningApp, RuntimePublisher, write_running_app
from desktop.secrets import SecretStore
from desktop.simulator.config import SimulatorConfig
from desktop.simulator.server import SimulatedTwilio
from desktop.sync.service import SyncService
from tests.integration.test_simulator import recording_receiver
from tests.integration.test_sync_harness import FAST_SIM, SyncEnv, sync_env, wait_until
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER

TOLL_FREE = "+18005550199"
FOREIGN = "https://crm.example.com/hooks/twilio-sms"
CARRIERS = replace(FAST_SIM, enforce_registration=True)


@dataclass
class Clinic:
    """An account in the simulator, a data folder, and (optionally) the running app."""

    env: SyncEnv
    publisher: RuntimePublisher
    environ: dict[str, str]

    @property
    def sim(self) -> SimulatedTwilio:
        return self.env.sim

    def save_settings(self) -> None:
        """What the app does after a change: the doctor reads the settings file."""
        SettingsFile(self.env.paths.settings).save(self.env.settings.value)

    def online(self, public_url: str | None = None) -> None:
        """The app is up and Twilio is told ``public_url`` (the receiver's by default)."""
        self.env.board.update(link=Link.ONLINE, public_url=public_url or self.env.public_url)

    def polling(self) -> None:
        self.env.public_url = None
        self.env.board.update(link=Link.POLLING, public_url="")

    def start_sync(self, **kwargs: Any) -> SyncService:
        service = self.env.service(**kwargs)
        wait_until(lambda: service.webhook_result is not None or service.last_backfill is not None)
        wait_until(lambda: service.last_backfill is not None)
        return service

    def doctor(self, secrets: SecretStore | None = None, /, **environ: str) -> tuple[int, Any]:
        out = io.StringIO()
        code = run_doctor(
            self.env.paths.data_dir,
            True,
            environ={**self.environ, **environ},
            secrets=secrets,
            out=out,
        )
        return code, json.loads(out.getvalue())

    def check(self, check_id: str, **environ: str) -> dict[str, Any]:
        _code, report = self.doctor(**environ)
        return next(c for c in report["checks"] if c["id"] == check_id)

    def text(self, **environ: str) -> tuple[int, str]:
        out = io.StringIO()
        code = run_doctor(
            self.env.paths.data_dir, False, environ={**self.environ, **environ}, out=out
        )
        return code, out.getvalue()


@contextmanager
def _clinic(tmp_path: Path, config: SimulatorConfig = CARRIERS) -> Iterator[Clinic]:
    with sync_env(tmp_path, config=config) as env:
        assert env.receiver is not None
        receiver = env.receiver
        publisher = RuntimePublisher(env.paths.state, lambda: receiver.port, lambda: 15)
        env.board.subscribe(publisher.on_snapshot)
        environ = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWOWAY_TWILIO_API_URL": env.sim.base_url,
        }
        yield Clinic(env, publisher, environ)


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    with _clinic(tmp_path) as running:
        yield running


def _oks(report: dict[str, Any]) -> dict[str, bool | None]:
    return {c["id"]: c["ok"] for c in report["checks"]}


def _registered(clinic: Clinic, phones: list[str] | None = None, status: str = "VERIFIED") -> str:
    mg = clinic.sim.add_messaging_service(phones or [OUR_NUMBER], friendly_name="Pearl Dental")
    clinic.sim.console.add_campaign(mg, status)
    return mg


# -- the whole report ------------------------------------------------------------------------------


def test_a_ready_account_passes_every_check_that_applies(clinic: Clinic) -> None:
    _registered(clinic)
    clinic.online()
    clinic.start_sync()
    code, report = clinic.doctor()
    assert code == 0
    assert set(report) == {"ready", "checks"}
    assert report["ready"] is True
    assert [c["id"] for c in report["checks"]] == list(CHECK_IDS)
    for check in report["checks"]:
        assert set(check) == {"id", "ok", "title", "detail", "fix"}
        assert all(isinstance(check[k], str) and check[k] for k in ("title", "detail", "fix"))
    assert _oks(report) == {
        "credentials": True,
        "number": True,
        "inbound_route": True,
        "us_a2p_10dlc": True,
        "toll_free_verification": None,
        "webhook_reachable": True,
        "recent_failures": True,
    }
    assert AUTH_TOKEN not in json.dumps(report)

    text_code, text = clinic.text()
    assert text_code == 0
    assert "[ok] Twilio can reach Twoway" in text
    assert "[--] Toll-free verification (does not apply)" in text
    assert text.rstrip().endswith("Ready: Twoway can send and receive texts.")
    assert AUTH_TOKEN not in text


def test_the_self_test_reaches_the_receiver_and_stores_nothing(clinic: Clinic) -> None:
    _registered(clinic)
    clinic.online()
    before = clinic.env.scalar("SELECT count(*) FROM messages")
    conversations = clinic.env.scalar("SELECT count(*) FROM conversations")
    check = clinic.check("webhook_reachable")
    assert check["ok"] is True
    assert "nothing was stored" in check["detail"]
    assert clinic.env.scalar("SELECT count(*) FROM messages") == before
    assert clinic.env.scalar("SELECT count(*) FROM conversations") == conversations


# -- credentials -----------------------------------------------------------------------------------


def test_no_credentials_block_and_the_rest_is_not_checked(clinic: Clinic) -> None:
    code, report = clinic.doctor(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    assert code == 1
    assert report["ready"] is False
    oks = _oks(report)
    assert oks["credentials"] is False
    assert oks["recent_failures"] is True  # read from the data folder, no sign-in needed
    for skipped in ("number", "inbound_route", "us_a2p_10dlc", "toll_free_verification"):
        assert oks[skipped] is None
    credentials = report["checks"][0]
    assert "No Twilio credentials" in credentials["detail"]
    assert "TWILIO_ACCOUNT_SID" in credentials["fix"]
    text_code, text = clinic.text(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    assert text_code == 1
    assert "[!!] Twilio sign-in" in text
    assert "[--] Your number (not checked)" in text
    assert "Not ready: “Twilio sign-in” needs attention." in text


def test_a_refused_keyring_is_explained_and_environment_credentials_need_none(
    clinic: Clinic,
) -> None:
    refused = SecretStore(FailKeyring(), environ={})
    code, report = clinic.doctor(refused)
    assert code == 1
    assert "keyring" in report["checks"][0]["detail"]

    environment_only = SecretStore(FailKeyring(), environ=clinic.environ)
    _code, report = clinic.doctor(environment_only)
    assert report["checks"][0]["ok"] is True
    assert "the environment" in report["checks"][0]["detail"]


def test_credentials_twilio_refuses_are_explained(clinic: Clinic) -> None:
    check = clinic.check("credentials", TWILIO_AUTH_TOKEN="0" * 32)
    assert check["ok"] is False
    assert "did not accept" in check["detail"]
    assert "0" * 32 not in json.dumps(check)


# -- the number ------------------------------------------------------------------------------------


def test_number_states(clinic: Clinic) -> None:
    check = clinic.check("number")
    assert check["ok"] is True
    assert "a local number in the United States" in check["detail"]
    assert "SMS and MMS" in check["detail"]

    missing = clinic.check("number", TWOWAY_PHONE_NUMBER="+15035550999")
    assert missing["ok"] is False
    assert "not one of the numbers" in missing["detail"]

    clinic.sim.add_number("+15035550177", capabilities={"sms": False, "mms": False})
    voice_only = clinic.check("number", TWOWAY_PHONE_NUMBER="+15035550177")
    assert voice_only["ok"] is False
    assert "no SMS capability" in voice_only["detail"]

    clinic.sim.add_number(TOLL_FREE, number_type="tollfree", capabilities={"mms": False})
    _code, report = clinic.doctor()
    assert _oks(report)["number"] is False
    assert "none is chosen" in report["checks"][1]["detail"]
    toll_free = clinic.check("number", TWOWAY_PHONE_NUMBER=TOLL_FREE)
    assert toll_free["ok"] is True
    assert "a toll-free number" in toll_free["detail"]
    assert "not pictures" in toll_free["detail"]


# -- where incoming texts go -----------------------------------------------------------------------


def test_route_a_number_that_points_at_the_running_twoway(clinic: Clinic) -> None:
    clinic.online()
    clinic.start_sync()
    check = clinic.check("inbound_route")
    assert check["ok"] is True
    assert f"{clinic.env.public_url}/twilio/sms" in check["detail"]
    assert "That is Twoway." in check["detail"]


def test_route_after_taking_over_another_apps_address_offers_restore(clinic: Clinic) -> None:
    clinic.sim.set_sms_url(OUR_NUMBER, FOREIGN)
    clinic.online()
    service = clinic.start_sync()
    asked = clinic.check("inbound_route")
    assert asked["ok"] is False
    assert FOREIGN in asked["detail"]
    assert "not this Twoway" in asked["detail"]
    assert "Settings" in asked["fix"]

    service.configure_webhook(force=True)
    clinic.save_settings()
    taken = clinic.check("inbound_route")
    assert taken["ok"] is True
    assert f"Before Twoway they went to {FOREIGN}" in taken["detail"]


def test_route_a_service_that_drops_texts_for_several_numbers(clinic: Clinic) -> None:
    clinic.sim.add_number("+15035550111")
    clinic.sim.add_messaging_service([OUR_NUMBER, "+15035550111"], friendly_name="Front desk")
    clinic.online()
    clinic.start_sync()  # asks first: the change would move the other number's texts
    check = clinic.check("inbound_route", TWOWAY_PHONE_NUMBER=OUR_NUMBER)
    assert check["ok"] is False
    assert "drops" in check["detail"]
    assert "neither delivered nor kept" in check["detail"]
    assert "+15035550111" in check["fix"]
    assert "Defer to sender's webhook" in check["fix"]


def test_route_a_service_with_another_apps_address(clinic: Clinic) -> None:
    clinic.sim.add_messaging_service([OUR_NUMBER], friendly_name="CRM", inbound_request_url=FOREIGN)
    clinic.online()
    check = clinic.check("inbound_route")
    assert check["ok"] is False
    assert FOREIGN in check["detail"]
    assert "“CRM”" in check["detail"]
    assert "number's own webhook is ignored" in check["detail"]


def test_route_when_twoway_is_not_running_uses_the_address_it_set(clinic: Clinic) -> None:
    clinic.start_sync()  # pointed the number at its receiver, then the app quits
    clinic.publisher.clear()
    check = clinic.check("inbound_route")
    assert check["ok"] is True
    assert "only while Twoway runs" in check["detail"]
    assert clinic.check("webhook_reachable")["ok"] is False


def test_route_while_polling_is_fine_unless_the_service_drops_texts(clinic: Clinic) -> None:
    clinic.sim.set_sms_url(OUR_NUMBER, FOREIGN)
    clinic.polling()
    _code, report = clinic.doctor()
    route = report["checks"][2]
    assert route["ok"] is True
    assert "checks Twilio's message log every 15 s" in route["detail"]
    assert _oks(report)["webhook_reachable"] is None

    clinic.sim.add_messaging_service([OUR_NUMBER])
    assert clinic.check("inbound_route")["ok"] is False  # dropped: not even in the log


# -- US A2P 10DLC ----------------------------------------------------------------------------------


def test_a2p_not_in_a_service_or_without_a_campaign(clinic: Clinic) -> None:
    alone = clinic.check("us_a2p_10dlc")
    assert alone["ok"] is False
    assert "in no Messaging Service" in alone["detail"]
    assert "30034" in alone["detail"]
    assert "A2P 10DLC" in alone["fix"]
    clinic.sim.add_messaging_service([OUR_NUMBER], friendly_name="Pearl Dental")
    empty = clinic.check("us_a2p_10dlc")
    assert empty["ok"] is False
    assert "has no A2P 10DLC campaign" in empty["detail"]


@pytest.mark.parametrize(
    ("status", "ok", "words"),
    [
        ("VERIFIED", True, "Registered"),
        ("IN_PROGRESS", False, "being reviewed"),
        ("FAILED", False, "Registration failed"),
    ],
)
def test_a2p_campaign_states(clinic: Clinic, status: str, ok: bool, words: str) -> None:
    mg = clinic.sim.add_messaging_service([OUR_NUMBER], friendly_name="Pearl Dental")
    errors = [{"error_code": 30794, "description": "Opt-in is not described"}]
    clinic.sim.console.add_campaign(mg, status, errors=errors if status == "FAILED" else ())
    check = clinic.check("us_a2p_10dlc")
    assert check["ok"] is ok
    assert words in check["detail"]
    assert "The brand is APPROVED." in check["detail"]
    if status == "IN_PROGRESS":
        assert "30035" in check["detail"]
        assert "wait" in check["fix"]
    if status == "FAILED":
        assert "Opt-in is not described (error 30794)" in check["detail"]
        assert "resubmit" in check["fix"]


def test_a2p_a_failed_brand_says_why(clinic: Clinic) -> None:
    mg = clinic.sim.add_messaging_service([OUR_NUMBER])
    brand = clinic.sim.console.add_brand("FAILED", failure_reason="Tax ID does not match")
    clinic.sim.console.add_campaign(mg, "FAILED", brand_sid=brand)
    check = clinic.check("us_a2p_10dlc")
    assert "The brand is FAILED: Tax ID does not match." in check["detail"]


def test_a2p_does_not_apply_to_toll_free_or_foreign_numbers(clinic: Clinic) -> None:
    clinic.sim.add_number(TOLL_FREE, number_type="tollfree")
    clinic.sim.add_number("+442079460958")
    toll_free = clinic.check("us_a2p_10dlc", TWOWAY_PHONE_NUMBER=TOLL_FREE)
    assert toll_free["ok"] is None
    assert "a toll-free number" in toll_free["detail"]
    london = clinic.check("us_a2p_10dlc", TWOWAY_PHONE_NUMBER="+442079460958")
    assert london["ok"] is None
    assert "the United Kingdom" in london["detail"]


# -- toll-free verification ------------------------------------------------------------------------


def test_toll_free_verification_states(clinic: Clinic) -> None:
    clinic.sim.add_number(TOLL_FREE, number_type="tollfree")
    use = {"TWOWAY_PHONE_NUMBER": TOLL_FREE}
    none = clinic.check("toll_free_verification", **use)
    assert none["ok"] is False
    assert "no toll-free verification" in none["detail"]
    assert "30032" in none["detail"]
    assert "Regulatory information" in none["fix"]

    verification = clinic.sim.console.add_tollfree_verification(TOLL_FREE, "PENDING_REVIEW")
    pending = clinic.check("toll_free_verification", **use)
    assert pending["ok"] is False
    assert "waiting for review" in pending["detail"]
    clinic.sim.console.set_tollfree_status(verification, "IN_REVIEW")
    assert "being reviewed" in clinic.check("toll_free_verification", **use)["detail"]

    clinic.sim.console.set_tollfree_status(
        verification,
        "TWILIO_REJECTED",
        rejection_reason="The opt-in process is not shown",
        error_code=30445,
        edit_expiration=datetime(2026, 12, 20, tzinfo=UTC),
    )
    rejected = clinic.check("toll_free_verification", **use)
    assert rejected["ok"] is False
    assert "The opt-in process is not shown (error 30445)" in rejected["detail"]
    assert "resubmit it before 2026-12-20" in rejected["fix"]

    clinic.sim.console.set_tollfree_status(verification, "TWILIO_APPROVED")
    assert clinic.check("toll_free_verification", **use)["ok"] is True
    assert clinic.check("toll_free_verification")["ok"] is None  # the local number


# -- can Twilio reach Twoway -----------------------------------------------------------------------


def test_webhook_when_twoway_is_not_running_or_crashed(clinic: Clinic) -> None:
    never = clinic.check("webhook_reachable")
    assert never["ok"] is False
    assert never["detail"].startswith("Twoway is not running")
    assert "Start Twoway" in never["fix"]

    clinic.online()
    assert clinic.check("webhook_reachable")["ok"] is True
    assert clinic.env.receiver is not None
    clinic.env.receiver.stop()  # a crash: the file stays behind, nothing listens
    crashed = clinic.check("webhook_reachable")
    assert crashed["ok"] is False
    assert "did not close properly" in crashed["detail"]


def test_webhook_signed_with_another_token_is_refused(clinic: Clinic) -> None:
    key, secret = clinic.sim.add_api_key()
    clinic.online()
    # The API key still signs in to the REST API; the signature needs the real token.
    check = clinic.check(
        "webhook_reachable",
        TWILIO_API_KEY=key,
        TWILIO_API_SECRET=secret,
        TWILIO_AUTH_TOKEN="9" * 32,
    )
    assert check["ok"] is False
    assert "refused the test's signature" in check["detail"]


def test_webhook_when_the_public_url_leads_somewhere_else(clinic: Clinic) -> None:
    with recording_receiver() as other:
        clinic.online(public_url=other.url + "/sms")
        check = clinic.check("webhook_reachable")
        assert check["ok"] is False
        assert "Something other than this Twoway" in check["detail"]
    assert clinic.env.receiver is not None
    clinic.publisher.clear()
    port = clinic.env.receiver.port  # still listening, but Twilio is told a dead address
    write_running_app(
        clinic.env.paths.state, RunningApp(1, port, "http://127.0.0.1:9", "online", 15)
    )
    unreachable = clinic.check("webhook_reachable")
    assert unreachable["ok"] is False
    assert "did not answer" in unreachable["detail"]


def test_webhook_does_not_apply_while_polling(clinic: Clinic) -> None:
    clinic.polling()
    check = clinic.check("webhook_reachable")
    assert check["ok"] is None
    assert "every 15 s" in check["detail"]


# -- recent failures -------------------------------------------------------------------------------


def test_recent_failures_none_then_blocking(clinic: Clinic) -> None:
    clinic.online()
    clinic.start_sync()
    assert clinic.check("recent_failures")["detail"] == "No failed texts in the last 7 days."

    # From a number with no A2P 10DLC registration, even a landline fails on 30034 first.
    clinic.sim.faults.mark_landline("+15035550188")
    landline = clinic.env.queue("Your prescription is ready", to="+15035550188")
    blocked = clinic.env.queue("See you Thursday")

    def failed(message_id: int) -> bool:
        status = clinic.env.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))
        return status in ("failed", "undelivered")

    wait_until(lambda: failed(landline) and failed(blocked), timeout=10)
    check = clinic.check("recent_failures")
    assert check["ok"] is False
    assert "2 texts failed in the last 7 days: 2 × error 30034" in check["detail"]
    assert "A2P 10DLC" in check["fix"]


def test_recent_failures_of_single_customers_do_not_block(tmp_path: Path) -> None:
    with _clinic(tmp_path, FAST_SIM) as clinic:
        clinic.online()
        clinic.start_sync()
        clinic.sim.faults.mark_landline("+15035550188")
        landline = clinic.env.queue("Your prescription is ready", to="+15035550188")
        wait_until(
            lambda: (
                clinic.env.scalar("SELECT status FROM messages WHERE id = ?", (landline,))
                == "undelivered"
            )
        )
        check = clinic.check("recent_failures")
        assert check["ok"] is True
        assert check["detail"].startswith(
            "1 text failed in the last 7 days: 1 × error 30006 (landline or unreachable carrier)"
        )
        assert "single customers" in check["fix"]


def test_recent_failures_without_a_database(tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_doctor(tmp_path / "empty", True, environ={}, out=out)
    report = json.loads(out.getvalue())
    assert code == 1
    assert _oks(report)["recent_failures"] is None
    assert "has not sent any texts" in report["checks"][-1]["detail"]
    assert CUSTOMER not in out.getvalue()


def test_a_damaged_database_is_reported_and_blocks(tmp_path: Path) -> None:
    from desktop.domain.models import Direction, NewMessage, Source
    from desktop.store.service import Store
    from desktop.store.writes import insert_message
    from tests.damage_helpers import damage_page

    data = tmp_path / "damaged"
    store = Store(data / "twoway.sqlite3", data / "backups")
    store.open()
    for n in range(300):
        message = NewMessage(
            sid=f"SM{n:032x}",
            direction=Direction.OUTBOUND,
            from_number=OUR_NUMBER,
            to_number=CUSTOMER,
            body=f"Reminder {n}: your cleaning is on Thursday at 3",
            status="delivered",
            created_at_ms=1_700_000_000_000 + n,
            source=Source.BACKFILL,
        )
        store.writer.call(functools.partial(insert_message, msg=message))
    store.close()
    damage_page(data / "twoway.sqlite3", "messages")
    out = io.StringIO()
    code = run_doctor(data, True, environ={}, out=out)
    report = json.loads(out.getvalue())
    assert code == 1
    check = next(c for c in report["checks"] if c["id"] == "recent_failures")
    assert check["ok"] is False
    assert "damaged" in check["detail"]
    assert "twoway repair" in check["fix"]
