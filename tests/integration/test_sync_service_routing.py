"""Numbers in a Messaging Service: whose address decides, taken only when free, restorable.

Every case runs the real sync service against the simulator, and texts are sent by the
simulator through the routing it applies, so "texts arrive" means the real receiver got
and stored them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.config import ServiceRoute, WebhookPolicy
from desktop.domain.auto_reply import AutoReplies, AwayMessage
from desktop.sync.service import SyncService
from desktop.sync.webhook_config import (
    WebhookOutcome,
    previous_address,
)
from tests.integration.test_sync_harness import SyncEnv, sync_env, wait_until
from tests.twilio_helpers import CUSTOMER, OUR_NUMBER

FOREIGN = "https://crm.example.com/hooks/twilio-sms"
COLLEAGUE = "+15035550111"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path) as environment:
        yield environment


def _stored(env: SyncEnv, sid: str) -> bool:
    return bool(env.scalar("SELECT count(*) FROM messages WHERE sid = ?", (sid,)))


def _number_sid(env: SyncEnv, phone: str = OUR_NUMBER) -> str:
    number = env.sim.number(phone)
    assert number is not None
    return number.sid


def _sms_url(env: SyncEnv) -> str:
    number = env.sim.number(OUR_NUMBER)
    assert number is not None
    return number.sms_url


def _started(env: SyncEnv, **kwargs: Any) -> SyncService:
    service = env.service(**kwargs)
    wait_until(lambda: service.webhook_result is not None and service.last_backfill is not None)
    return service


def test_an_empty_service_address_is_taken_remembered_and_restored(env: SyncEnv) -> None:
    env.sim.set_sms_url(OUR_NUMBER, FOREIGN)  # ignored: the service decides
    mg = env.sim.add_messaging_service([OUR_NUMBER], friendly_name="Pearl Dental")
    service = _started(env)
    result = service.webhook_result
    assert result is not None
    assert (result.outcome, result.service_sid) == (WebhookOutcome.POINTED, mg)
    assert "Pearl Dental" in result.message
    assert env.sim.console.service(mg).inbound_request_url == f"{env.public_url}/twilio/sms"
    assert _sms_url(env) == FOREIGN
    assert env.settings.value.previous_sms_urls == {}
    assert env.settings.value.previous_service_routes == {
        mg: ServiceRoute(inbound_request_url="", number_sid=_number_sid(env))
    }
    assert previous_address(env.settings.value, _number_sid(env)) == ""
    assert env.board.snapshot.number_points_here is True

    text = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Is Thursday still free?")
    wait_until(lambda: _stored(env, text.sid))
    assert env.scalar("SELECT source FROM messages WHERE sid = ?", (text.sid,)) == "webhook"
    assert env.scalar("SELECT messaging_service_sid FROM messages WHERE sid = ?", (text.sid,)) == mg

    restored = service.restore_webhook()
    assert restored.outcome is WebhookOutcome.RESTORED
    assert "no address" in restored.message
    assert env.sim.console.service(mg).inbound_request_url == ""
    assert env.settings.value.previous_service_routes == {}
    dropped = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Hello?")
    env.sim.wait_for_deliveries(1, kind="dropped", message_sid=dropped.sid)
    assert service.restore_webhook().outcome is WebhookOutcome.NOTHING_TO_RESTORE


def test_an_empty_address_shared_with_other_numbers_needs_consent_naming_them(
    env: SyncEnv,
) -> None:
    env.sim.add_number(COLLEAGUE)
    env.settings.update(lambda s: s.replace(phone_number=OUR_NUMBER))
    mg = env.sim.add_messaging_service([OUR_NUMBER, COLLEAGUE], friendly_name="Front desk")
    service = _started(env, poll_interval_s=0.1)
    asked = service.webhook_result
    assert asked is not None
    assert asked.needs_consent
    assert asked.affected_numbers == (COLLEAGUE,)
    assert COLLEAGUE in asked.message
    assert "drops" in asked.message
    assert env.sim.console.service(mg).inbound_request_url == ""
    assert env.settings.value.previous_service_routes == {}
    assert env.board.snapshot.number_points_here is False

    taken = service.configure_webhook(force=True)
    assert taken.outcome is WebhookOutcome.POINTED
    assert f"Texts to {COLLEAGUE} now come to Twoway too." in taken.message
    text = env.sim.send_inbound(CUSTOMER, COLLEAGUE, "Wrong number?")
    wait_until(lambda: _stored(env, text.sid))


def test_another_apps_service_address_is_left_alone_explained_and_restorable(
    env: SyncEnv,
) -> None:
    mg = env.sim.add_messaging_service(
        [OUR_NUMBER], friendly_name="CRM", inbound_request_url=FOREIGN
    )
    service = _started(env, poll_interval_s=0.1)
    result = service.webhook_result
    assert result is not None
    assert (result.outcome, result.current_url, result.service_sid) == (
        WebhookOutcome.FOREIGN,
        FOREIGN,
        mg,
    )
    assert FOREIGN in result.message
    assert "CRM" in result.message
    assert "changed nothing" in result.message
    assert env.sim.console.service(mg).inbound_request_url == FOREIGN
    assert FOREIGN in env.board.snapshot.problem
    # Polling still brings the other app's texts in.
    polled = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Hello?")
    wait_until(lambda: _stored(env, polled.sid))
    assert service.configure_webhook().outcome is WebhookOutcome.FOREIGN

    taken = service.configure_webhook(force=True)
    assert taken.points_here
    assert env.sim.console.service(mg).inbound_request_url == f"{env.public_url}/twilio/sms"
    assert previous_address(env.settings.value, _number_sid(env)) == FOREIGN
    assert taken.previous_url == FOREIGN

    # A colleague points it somewhere else: restore leaves that alone unless forced.
    env.sim.console.set_routing(mg, inbound_request_url="https://other.example.com/sms")
    refused = service.restore_webhook()
    assert refused.outcome is WebhookOutcome.CHANGED_ELSEWHERE
    assert env.sim.console.service(mg).inbound_request_url == "https://other.example.com/sms"
    restored = service.restore_webhook(force=True)
    assert restored.outcome is WebhookOutcome.RESTORED
    assert env.sim.console.service(mg).inbound_request_url == FOREIGN


def test_a_service_that_defers_to_the_number_leaves_the_service_alone(env: SyncEnv) -> None:
    mg = env.sim.add_messaging_service(
        [OUR_NUMBER], inbound_request_url=FOREIGN, use_inbound_webhook_on_number=True
    )
    service = _started(env)
    result = service.webhook_result
    assert result is not None
    assert (result.outcome, result.service_sid) == (WebhookOutcome.POINTED, "")
    assert _sms_url(env) == f"{env.public_url}/twilio/sms"
    assert env.sim.console.service(mg).inbound_request_url == FOREIGN
    assert env.settings.value.previous_sms_urls == {_number_sid(env): ""}
    text = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Via the number")
    wait_until(lambda: _stored(env, text.sid))

    assert service.restore_webhook().outcome is WebhookOutcome.RESTORED
    assert _sms_url(env) == ""
    assert env.sim.console.service(mg).inbound_request_url == FOREIGN


def test_sends_go_through_the_numbers_service_with_from_pinned(env: SyncEnv) -> None:
    env.sim.add_number(COLLEAGUE)
    env.settings.update(lambda s: s.replace(phone_number=OUR_NUMBER))
    mg = env.sim.add_messaging_service(
        [COLLEAGUE, OUR_NUMBER], inbound_request_url=FOREIGN
    )  # the pool's first number is the colleague's: From must stay ours
    _started(env)
    message_id = env.queue("Your cleaning is on Thursday at 3:30")
    wait_until(lambda: env.outbox_state(message_id) == "sent")
    sid = env.scalar("SELECT sid FROM messages WHERE id = ?", (message_id,))
    remote = env.sim.wait_for_status(sid, "delivered")
    assert (remote.from_, remote.messaging_service_sid) == (OUR_NUMBER, mg)
    wait_until(
        lambda: env.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)) == "delivered"
    )


def test_a_number_that_left_its_service_is_sent_from_plainly_after_one_refusal(
    env: SyncEnv,
) -> None:
    mg = env.sim.add_messaging_service([OUR_NUMBER], inbound_request_url=FOREIGN)
    service = _started(env)
    assert service.services.service_for(OUR_NUMBER) is not None  # cached
    assert env.sim.messaging.remove_number_from_service(mg, _number_sid(env))
    message_id = env.queue("Still there?")
    wait_until(lambda: env.outbox_state(message_id) == "sent")
    sid = env.scalar("SELECT sid FROM messages WHERE id = ?", (message_id,))
    remote = env.sim.message(sid)
    assert remote is not None
    assert (remote.from_, remote.messaging_service_sid) == (OUR_NUMBER, None)
    assert env.sim.create_attempt_count(CUSTOMER, "Still there?") == 2
    assert env.sim.create_count(CUSTOMER, "Still there?") == 1


def _opted_out(env: SyncEnv, contact: str = CUSTOMER) -> int | None:
    row = (
        env.store.reader()
        .execute(
            "SELECT c.opted_out FROM conversations c JOIN contacts k ON k.id = c.contact_id "
            "WHERE k.e164 = ? AND c.our_number = ?",
            (contact, OUR_NUMBER),
        )
        .fetchone()
    )
    return None if row is None else int(row[0])


def test_advanced_opt_out_keywords_drive_the_opt_out_state(env: SyncEnv) -> None:
    always_away = AutoReplies(away=AwayMessage(True, "Thanks, we will answer soon.", 0))
    env.front_desk = dataclasses.replace(env.front_desk, auto_replies=always_away)
    mg = env.sim.add_messaging_service([OUR_NUMBER], friendly_name="Pearl Dental")
    _started(env)
    plain = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "ARRET")  # Advanced Opt-Out is off
    wait_until(lambda: _stored(env, plain.sid))
    assert _opted_out(env) == 0

    env.sim.console.set_advanced_opt_out(mg, {"STOP": ["arret"], "START": ["reprendre"]})
    stop = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Arret")
    wait_until(lambda: _stored(env, stop.sid))
    [attempt] = env.sim.wait_for_deliveries(1, kind="incoming", message_sid=stop.sid)
    assert attempt.param("OptOutType") == "STOP"
    assert "<Message>" not in attempt.response_body  # no auto-reply to an opt-out
    assert _opted_out(env) == 1
    assert env.sim.is_opted_out(CUSTOMER, OUR_NUMBER)

    start = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "reprendre")
    wait_until(lambda: _stored(env, start.sid))
    assert _opted_out(env) == 0


def test_a_new_tunnel_address_replaces_ours_on_the_service_and_quit_restores_it(
    env: SyncEnv,
) -> None:
    mg = env.sim.add_messaging_service(
        [OUR_NUMBER], friendly_name="CRM", inbound_request_url=FOREIGN
    )
    service = _started(env)
    service.configure_webhook(force=True)
    assert env.receiver is not None
    new_url = f"http://localhost:{env.receiver.port}"
    env.public_url = new_url
    moved = service.configure_webhook()  # ours replaces ours: no question
    assert moved.outcome is WebhookOutcome.POINTED
    assert env.sim.console.service(mg).inbound_request_url == f"{new_url}/twilio/sms"
    assert previous_address(env.settings.value, _number_sid(env)) == FOREIGN  # still the CRM's

    assert service.restore_on_quit() is None  # the user did not choose "only while it runs"
    env.settings.update(lambda s: s.replace(webhook_policy=WebhookPolicy.RESTORE_ON_QUIT))
    restored = service.restore_on_quit()
    assert restored is not None
    assert restored.outcome is WebhookOutcome.RESTORED
    assert env.sim.console.service(mg).inbound_request_url == FOREIGN
