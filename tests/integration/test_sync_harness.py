"""A shared harness for the sync tests: the simulator, a real store and a real receiver.

The other ``test_sync_*`` modules build their fixtures from :func:`sync_env`.  The tests at
the bottom check the harness itself (the simulator can reach the receiver, signed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.config import Paths, Settings
from desktop.domain.connection import ConnectionBoard
from desktop.domain.frontdesk_setup import FrontDeskSetup, default_setup
from desktop.gateway.ingest import StoreIngest
from desktop.gateway.media import MediaPolicy
from desktop.gateway.media_worker import MediaFetcher
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.rest import RestGateway
from desktop.gateway.webhook import MediaShelf, WebhookApp, WebhookCredentials
from desktop.guarded import GuardedValue
from desktop.simulator.config import SimulatorConfig
from desktop.simulator.server import SimulatedTwilio
from desktop.store import outbox_writes
from desktop.store.service import Store
from desktop.sync.outbox import OutboxPolicy
from desktop.sync.service import SyncService
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER

FAST_SIM = SimulatorConfig(status_step_delay=0.02, random_seed=11)
FAST_OUTBOX = OutboxPolicy(retry_delays_s=(0.05, 0.1), settle_s=0.05, media_wait_s=0.0)


@dataclass(frozen=True)
class Credentials:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN

    @property
    def rest_auth(self) -> tuple[str, str]:
        return (self.account_sid, self.auth_token)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` (a database or simulator condition) until true or fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


@dataclass
class SyncEnv:
    sim: SimulatedTwilio
    paths: Paths
    store: Store
    board: ConnectionBoard
    shelf: MediaShelf
    settings: GuardedValue[Settings] = field(init=False)
    receiver: ReceiverThread | None = None
    public_url: str | None = None
    saves: int = 0
    #: Where the app sends REST calls (the simulator unless a test points it elsewhere).
    api_url: str = ""
    services: list[SyncService] = field(default_factory=list)
    #: What the receiver answers with (no auto-replies unless a test turns them on).
    front_desk: FrontDeskSetup = field(default_factory=default_setup)

    def __post_init__(self) -> None:
        self.settings = GuardedValue(Settings(), save=self._save)

    @property
    def credentials(self) -> Credentials:
        return Credentials()

    def gateway(self, **kwargs: Any) -> RestGateway:
        return RestGateway(self.credentials, self.api_url, **kwargs)

    def service(self, *, start: bool = True, **kwargs: Any) -> SyncService:
        kwargs.setdefault("outbox_policy", FAST_OUTBOX)
        kwargs.setdefault("poll_interval_s", 60.0)
        kwargs.setdefault("retry_delays_s", (0.05, 0.1))
        service = SyncService(
            self.store,
            self.credentials,
            api_base_url=self.api_url,
            public_url=lambda: self.public_url,
            shelf=self.shelf,
            settings=self.settings,
            connection=self.board,
            outgoing_media_dir=self.paths.outgoing_media,
            **kwargs,
        )
        self.services.append(service)
        if start:
            service.start()
        return service

    def _save(self, _settings: Settings) -> None:
        self.saves += 1

    def queue(
        self,
        body: str,
        to: str = CUSTOMER,
        attachments: tuple[outbox_writes.OutgoingAttachment, ...] = (),
        our_number: str = OUR_NUMBER,
    ) -> int:
        result = self.store.writer.call(
            lambda tx: outbox_writes.queue_outbound(tx, our_number, to, body, attachments)
        )
        return result.message_id

    def row(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        found = self.store.reader().execute(sql, params).fetchone()
        assert found is not None, sql
        return tuple(found)

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.row(sql, params)[0]

    def outbox_state(self, message_id: int) -> str:
        return str(self.scalar("SELECT state FROM outbox WHERE message_id = ?", (message_id,)))

    def media_fetcher(self) -> MediaFetcher:
        fetcher = MediaFetcher(
            self.store,
            self.paths.media,
            self.paths.thumbnails,
            lambda: MediaPolicy(ACCOUNT_SID, self.sim.base_url),
            lambda: self.credentials.rest_auth,
            retry_delays_s=(0.05,),
        )
        fetcher.start()
        return fetcher


@contextmanager
def sync_env(
    tmp_path: Path, *, with_receiver: bool = True, config: SimulatorConfig = FAST_SIM
) -> Iterator[SyncEnv]:
    """Simulator with our number, a fresh store, and (optionally) the real receiver."""
    paths = Paths(tmp_path / "data")
    paths.create()
    with ExitStack() as stack:
        sim = SimulatedTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, config=config)
        sim.start()
        stack.callback(sim.stop)
        sim.add_number(OUR_NUMBER)
        store = Store(paths.database, paths.backups)
        store.open()
        stack.callback(store.close)
        env = SyncEnv(sim, paths, store, ConnectionBoard(), MediaShelf(), api_url=sim.base_url)
        if with_receiver:

            def credentials() -> WebhookCredentials | None:
                if env.public_url is None:
                    return None
                return WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, env.public_url)

            app = WebhookApp(StoreIngest(store, lambda: env.front_desk), credentials, env.shelf)
            receiver = ReceiverThread(app, 0, socket_timeout=2.0)
            receiver.start()
            stack.callback(receiver.stop)
            env.receiver = receiver
            env.public_url = receiver.local_url

        def stop_services() -> None:
            for service in env.services:
                service.stop()

        stack.callback(stop_services)
        yield env


# -- the harness itself ---------------------------------------------------------------------


def test_the_simulator_delivers_signed_webhooks_to_the_real_receiver(tmp_path: Path) -> None:
    with sync_env(tmp_path) as env:
        assert env.public_url is not None
        env.sim.set_sms_url(OUR_NUMBER, env.public_url + "/twilio/sms")
        message = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Hello from the harness")
        wait_until(
            lambda: (
                env.store.reader()
                .execute("SELECT count(*) FROM messages WHERE sid = ?", (message.sid,))
                .fetchone()[0]
                == 1
            )
        )
        [attempt] = env.sim.wait_for_deliveries(1, kind="incoming", message_sid=message.sid)
        assert attempt.status_code == 200


def test_sync_paths_match_the_receiver() -> None:
    from desktop.gateway import webhook
    from desktop.sync import urls

    assert (urls.SMS_PATH, urls.STATUS_PATH, urls.MEDIA_PREFIX) == (
        webhook.SMS_PATH,
        webhook.STATUS_PATH,
        webhook.MEDIA_PREFIX,
    )
