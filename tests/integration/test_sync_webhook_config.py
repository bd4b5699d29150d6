"""The number's ``sms_url``: taken when free or ours, never clobbered without consent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.config import WebhookPolicy
from desktop.domain.connection import Link
from desktop.store import queries
from desktop.sync.service import CannotConfigure
from desktop.sync.webhook_config import WebhookOutcome, same_url
from tests.integration.test_sync_harness import SyncEnv, sync_env, wait_until
from tests.twilio_helpers import CUSTOMER, OUR_NUMBER

FOREIGN = "https://crm.example.com/hooks/twilio-sms"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path) as environment:
        yield environment


def _sms_url(env: SyncEnv) -> str:
    number = env.sim.number(OUR_NUMBER)
    assert number is not None
    return number.sms_url


def _sid(env: SyncEnv) -> str:
    number = env.sim.number(OUR_NUMBER)
    assert number is not None
    return number.sid


def test_an_empty_sms_url_is_taken_on_start_and_texts_arrive(env: SyncEnv) -> None:
    service = env.service()
    wait_until(lambda: service.webhook_result is not None)
    assert service.webhook_result is not None
    assert service.webhook_result.outcome is WebhookOutcome.POINTED
    assert _sms_url(env) == f"{env.public_url}/twilio/sms"
    number = env.sim.number(OUR_NUMBER)
    assert number is not None
    assert number.sms_method == "POST"
    assert env.settings.value.previous_sms_urls == {_sid(env): ""}
    assert env.board.snapshot.number_points_here is True
    assert env.board.snapshot.phone_number == OUR_NUMBER

    wait_until(lambda: service.last_backfill is not None)
    message = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Can I move my appointment?")
    wait_until(
        lambda: env.scalar("SELECT count(*) FROM messages WHERE sid = ?", (message.sid,)) == 1
    )
    assert env.scalar("SELECT source FROM messages WHERE sid = ?", (message.sid,)) == "webhook"


def test_a_foreign_sms_url_is_left_alone_until_the_user_agrees_and_can_be_restored(
    env: SyncEnv,
) -> None:
    env.sim.set_sms_url(OUR_NUMBER, FOREIGN)
    service = env.service(poll_interval_s=0.1)
    wait_until(lambda: service.webhook_result is not None)
    result = service.webhook_result
    assert result is not None
    assert result.needs_consent
    assert (result.outcome, result.current_url) == (WebhookOutcome.FOREIGN, FOREIGN)
    assert FOREIGN in result.message
    assert _sms_url(env) == FOREIGN
    assert env.settings.value.previous_sms_urls == {}
    snapshot = env.board.snapshot
    assert snapshot.number_points_here is False
    assert FOREIGN in snapshot.problem

    # Texts still arrive, by polling, while the other app keeps its webhook.
    polled = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Hello?")
    wait_until(lambda: env.scalar("SELECT count(*) FROM messages WHERE sid = ?", (polled.sid,)))
    assert service.configure_webhook().outcome is WebhookOutcome.FOREIGN
    assert _sms_url(env) == FOREIGN

    taken = service.configure_webhook(force=True)
    assert taken.outcome is WebhookOutcome.POINTED
    assert taken.points_here
    assert _sms_url(env) == f"{env.public_url}/twilio/sms"
    assert env.settings.value.previous_sms_urls == {_sid(env): FOREIGN}
    assert env.saves >= 1
    assert env.board.snapshot.problem == ""
    assert env.board.snapshot.number_points_here is True

    restored = service.restore_webhook()
    assert restored.outcome is WebhookOutcome.RESTORED
    assert _sms_url(env) == FOREIGN
    assert env.settings.value.previous_sms_urls == {}
    assert service.restore_webhook().outcome is WebhookOutcome.NOTHING_TO_RESTORE


def test_a_new_tunnel_address_replaces_our_old_one_without_asking_and_closes_the_gap(
    env: SyncEnv,
) -> None:
    env.sim.set_sms_url(OUR_NUMBER, FOREIGN)
    service = env.service()
    wait_until(lambda: service.last_backfill is not None)
    service.configure_webhook(force=True)
    old_url = env.public_url
    assert old_url is not None
    assert env.receiver is not None

    # The tunnel drops: Twilio's webhook for this text fails and only its log has it.
    env.public_url = None
    service.on_public_url_changed(None)
    wait_until(lambda: env.board.snapshot.link is Link.POLLING)
    before = env.scalar("SELECT count(*) FROM messages")
    missed = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Sent while you were offline")
    [attempt] = env.sim.wait_for_deliveries(1, kind="incoming", message_sid=missed.sid)
    assert attempt.status_code == 403

    # It comes back on another address: ours replaces ours, no question asked.
    new_url = f"http://localhost:{env.receiver.port}"
    env.public_url = new_url
    service.on_public_url_changed(new_url)
    wait_until(lambda: _sms_url(env) == f"{new_url}/twilio/sms")
    wait_until(
        lambda: env.scalar("SELECT count(*) FROM messages WHERE sid = ?", (missed.sid,)) == 1
    )
    assert env.scalar("SELECT count(*) FROM messages") == before + 1
    assert env.settings.value.previous_sms_urls == {_sid(env): FOREIGN}  # still the other app's
    assert service.webhook_result is not None
    assert service.webhook_result.outcome is WebhookOutcome.POINTED


def test_restore_never_overwrites_a_later_change_by_someone_else(env: SyncEnv) -> None:
    service = env.service()
    wait_until(lambda: service.webhook_result is not None)
    env.sim.set_sms_url(OUR_NUMBER, FOREIGN)  # a colleague re-pointed it since

    refused = service.restore_webhook()
    assert refused.outcome is WebhookOutcome.CHANGED_ELSEWHERE
    assert _sms_url(env) == FOREIGN
    forced = service.restore_webhook(force=True)
    assert forced.outcome is WebhookOutcome.RESTORED
    assert _sms_url(env) == ""


def test_restore_on_quit_only_when_the_user_chose_it(env: SyncEnv) -> None:
    env.sim.set_sms_url(OUR_NUMBER, FOREIGN)
    service = env.service()
    wait_until(lambda: service.webhook_result is not None)
    service.configure_webhook(force=True)
    assert service.restore_on_quit() is None
    assert _sms_url(env) != FOREIGN

    env.settings.update(lambda s: s.replace(webhook_policy=WebhookPolicy.RESTORE_ON_QUIT))
    result = service.restore_on_quit()
    assert result is not None
    assert result.outcome is WebhookOutcome.RESTORED
    assert _sms_url(env) == FOREIGN


def test_without_a_chosen_number_nothing_is_changed_and_the_user_is_told(env: SyncEnv) -> None:
    env.sim.add_number("+15035550111")
    service = env.service()
    wait_until(lambda: "Choose which" in env.board.snapshot.problem)
    assert _sms_url(env) == ""
    with pytest.raises(CannotConfigure, match="Choose which"):
        service.configure_webhook()
    assert queries.our_numbers(env.store.reader())[0].e164 == OUR_NUMBER

    env.settings.update(lambda s: s.replace(phone_number="(503) 555-0100"))
    assert service.configure_webhook().outcome is WebhookOutcome.POINTED


def test_twilios_welcome_placeholder_is_replaced_without_asking(env: SyncEnv) -> None:
    placeholder = "https://demo.twilio.com/welcome/sms/reply"
    env.sim.set_sms_url(OUR_NUMBER, placeholder)
    service = env.service()
    wait_until(lambda: service.webhook_result is not None)
    assert service.webhook_result is not None
    assert service.webhook_result.outcome is WebhookOutcome.POINTED
    assert env.settings.value.previous_sms_urls == {_sid(env): placeholder}


def test_another_twoways_address_is_not_taken_without_consent(env: SyncEnv) -> None:
    colleague = "https://brave-lynx-42.ngrok-free.app/twilio/sms"
    env.sim.set_sms_url(OUR_NUMBER, colleague)
    service = env.service()
    wait_until(lambda: service.webhook_result is not None)
    assert service.webhook_result is not None
    assert service.webhook_result.outcome is WebhookOutcome.FOREIGN
    assert _sms_url(env) == colleague


def test_same_url_ignores_cosmetic_differences() -> None:
    assert same_url("https://A.ngrok.app/twilio/sms/", "https://a.ngrok.app/twilio/sms")
    assert not same_url("https://a.ngrok.app/twilio/sms", "https://b.ngrok.app/twilio/sms")
    assert not same_url("", "")
