"""The network side of the app, as one unit that starts, restarts and stops together.

It owns the webhook receiver, the media fetcher, the sync service (outbox, backfill,
polling, webhook config), the ngrok tunnel and, in demo mode, the simulated Twilio.
Everything here is Qt-free and runs on background threads; progress and problems are
published on the :class:`~desktop.domain.connection.ConnectionBoard`.

How Twilio reaches us is decided once per start, in this order: the demo (the simulator
posts straight to the loopback receiver), ``--public-url``, ``--no-tunnel``, then the
user's setting (ngrok, their own public URL, or polling).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from desktop.config import CoreOptions, EnvironmentOverrides, Paths, SettingsStore, TunnelMode
from desktop.credentials import CredentialSource, TwilioCredentials, load_credentials
from desktop.domain.connection import ConnectionBoard, Link
from desktop.readiness.runtime import RuntimePublisher
from desktop.secrets import Secret, SecretsLocked, SecretStore, SecretsUnavailable

if TYPE_CHECKING:
    from desktop.domain.frontdesk_setup import FrontDeskSetup
    from desktop.frontdesk.setup_file import SetupHolder
    from desktop.gateway.media import MediaPolicy
    from desktop.gateway.media_worker import MediaFetcher
    from desktop.gateway.receiver import ReceiverThread
    from desktop.gateway.webhook import WebhookApp, WebhookCredentials
    from desktop.simulator.personas import DemoTwilio
    from desktop.store.service import Store
    from desktop.sync.service import SyncService
    from desktop.sync.webhook_config import WebhookResult
    from desktop.team.service import TeamService
    from desktop.tunnel.models import TunnelStatus
    from desktop.tunnel.service import NgrokTunnel

logger = logging.getLogger(__name__)

#: At quit, how long closing the tunnel may take (the whole stop must end within 5 s).
TUNNEL_STOP_S = 2.5
#: At quit, how long putting back the number's previous webhook may take.
RESTORE_ON_QUIT_S = 1.5
#: Team mode: every laptop reads Twilio's log this often, so a text (or a colleague's
#: reply) shows on every laptop within 5 s (Messages list requests, not Sync ones).
TEAM_POLL_S = 2.0


class Network:
    """Receiver + media + sync + tunnel (+ demo).  ``start``/``stop`` from one thread."""

    def __init__(
        self,
        options: CoreOptions,
        paths: Paths,
        store: Store,
        settings: SettingsStore,
        secrets: SecretStore,
        connection: ConnectionBoard,
        env: EnvironmentOverrides,
        front_desk: Callable[[], FrontDeskSetup],
    ) -> None:
        self._options = options
        self._paths = paths
        self._store = store
        self._settings = settings
        self._secrets = secrets
        self._board = connection
        self._env = env
        self._lock = threading.RLock()
        self.credentials: TwilioCredentials | None = None
        self.api_base_url = env.api_base_url
        self.demo: DemoTwilio | None = None
        self.webhook: WebhookApp | None = None
        self.receiver: ReceiverThread | None = None
        self.media: MediaFetcher | None = None
        self.sync: SyncService | None = None
        self.tunnel: NgrokTunnel | None = None
        #: Team mode (see :mod:`desktop.team`); None when off.
        self.team: TeamService | None = None
        #: The front-desk setup holder, shared with colleagues in team mode (set by Core).
        self.setup_holder: Callable[[], SetupHolder | None] = lambda: None
        #: The front-desk setup (business hours, auto-replies) the webhook answers with.
        self._front_desk = front_desk
        #: The URL webhooks are signed for (kept while a tunnel reconnects).
        self._signing_url: str | None = None
        #: The URL Twilio can reach right now (None while the tunnel is down).
        self._reachable_url: str | None = None
        #: The user agreed to take over a number that points elsewhere.
        self._force_webhook = False
        #: state/running.json for ``twoway doctor`` (public URL, receiver port; no secrets).
        self.runtime = RuntimePublisher(
            paths.state,
            lambda: self.receiver.running_port if self.receiver is not None else None,
            lambda: self._settings.value.poll_interval_s,
        )
        connection.subscribe(self.runtime.on_snapshot)

    # -- what other parts ask -----------------------------------------------------------------

    @property
    def public_url(self) -> str | None:
        with self._lock:
            return self._reachable_url

    def webhook_credentials(self) -> WebhookCredentials | None:
        from desktop.gateway.webhook import WebhookCredentials as Credentials

        with self._lock:
            credentials, url = self.credentials, self._signing_url
        if credentials is None or not url:
            return None
        return Credentials(credentials.account_sid, credentials.auth_token, url)

    def media_policy(self) -> MediaPolicy | None:
        from desktop.gateway.media import MediaPolicy as Policy

        credentials = self.credentials
        return None if credentials is None else Policy(credentials.account_sid, self.api_base_url)

    def media_auth(self) -> tuple[str, str] | None:
        credentials = self.credentials
        return None if credentials is None else credentials.rest_auth

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, force_webhook: bool = False) -> None:
        """Bring everything up; failures end up on the board in plain words, not raised."""
        from desktop.gateway.ingest import StoreIngest
        from desktop.gateway.media_worker import MediaFetcher
        from desktop.gateway.receiver import ReceiverThread
        from desktop.gateway.webhook import WebhookApp

        self._force_webhook = force_webhook
        self.credentials = self._load_credentials()
        if self.webhook is None:
            business = "Demo Dental Care" if self._options.demo else ""
            ingest = StoreIngest(self._store, self._answering_setup, business_name=lambda: business)
            self.webhook = WebhookApp(ingest, self.webhook_credentials)
            self.receiver = ReceiverThread(self.webhook, self._options.port)
            self.receiver.start()
            self.media = MediaFetcher(
                self._store,
                self._paths.media,
                self._paths.thumbnails,
                self.media_policy,
                self.media_auth,
            )
            self.media.start()
            self.runtime.on_snapshot(self._board.snapshot)
        if self.credentials is None:
            if not self._board.snapshot.problem:
                self._board.update(
                    link=Link.SIGNED_OUT,
                    problem="Sign in with your Twilio account to start texting.",
                )
            return
        self._start_sync_and_reachability()

    def _load_credentials(self) -> TwilioCredentials | None:
        if self._options.demo:
            from desktop.simulator.personas import DemoTwilio

            if self.demo is None:
                self.demo = DemoTwilio.start(speed=self._options.demo_speed)
                self._name_demo_customers()
            self.api_base_url = self.demo.base_url
            return TwilioCredentials(
                self.demo.account_sid, self.demo.auth_token, source=CredentialSource.DEMO
            )
        try:
            return load_credentials(self._secrets)
        except SecretsLocked as exc:
            self._board.update(link=Link.LOCKED, problem=str(exc))
            return None
        except SecretsUnavailable as exc:
            self._board.update(link=Link.SIGNED_OUT, problem=str(exc))
            return None

    def _name_demo_customers(self) -> None:
        """The demo's customers have names, as if staff had saved them earlier."""
        from desktop.simulator.personas import PERSONAS
        from desktop.store.writes import name_contact_if_unnamed

        for persona in PERSONAS:
            self._store.writer.submit(
                functools.partial(name_contact_if_unnamed, e164=persona.number, name=persona.name)
            )

    def _mode(self) -> TunnelMode:
        if self._options.demo or self._options.public_url:
            return TunnelMode.PUBLIC_URL
        if self._options.no_tunnel:
            return TunnelMode.POLL
        return self._settings.value.tunnel_mode

    def _start_sync_and_reachability(self) -> None:
        from desktop.sync.service import SAFETY_INTERVAL_S, SyncService

        assert self.credentials is not None
        assert self.webhook is not None
        assert self.receiver is not None
        mode = self._mode()
        url: str | None = None
        if self._options.demo:
            url = self.receiver.local_url  # the simulator posts to loopback directly
        elif self._options.public_url:
            url = self._options.public_url
        elif mode is TunnelMode.PUBLIC_URL:
            url = self._settings.value.public_url or None
        with self._lock:
            self._signing_url = self._reachable_url = url
        phone = self._env.phone_number
        if self.demo is not None and not phone and not self._settings.value.phone_number:
            phone = self.demo.numbers[0]
        team_on = self._env.team_enabled(self._settings.value)
        poll_s = self._options.poll_interval_s or self._settings.value.poll_interval_s
        self.sync = SyncService(
            self._store,
            self.credentials,
            api_base_url=self.api_base_url,
            public_url=lambda: self.public_url,
            webhook_url=self._webhook_url if team_on else None,
            shelf=self.webhook.shelf,
            settings=self._settings,
            connection=self._board,
            outgoing_media_dir=self._paths.outgoing_media,
            phone_number=phone,
            poll_interval_s=min(poll_s, TEAM_POLL_S) if team_on else poll_s,
            # The webhook brings only customers' texts: colleagues' replies come from the log.
            safety_interval_s=TEAM_POLL_S if team_on else SAFETY_INTERVAL_S,
        )
        self.sync.start()
        if team_on:
            self._start_team()
        if url:
            self._board.update(link=Link.ONLINE, public_url=url, problem="")
            self._after_url(url)
        elif mode is TunnelMode.NGROK:
            self._start_tunnel()
        else:
            self._board.update(link=Link.POLLING, public_url="")

    def _after_url(self, url: str | None) -> None:
        sync = self.sync
        if sync is None:
            return
        sync.on_public_url_changed(url)
        if url and self._force_webhook:
            self._force_webhook = False

            def reported(done: Future[WebhookResult]) -> None:
                if done.cancelled():
                    return
                problem = done.exception()
                if problem is None:
                    logger.info("Webhook takeover: %s", done.result().message)
                else:
                    logger.warning("Could not point the number at Twoway: %s", problem)

            sync.take_over_webhook().add_done_callback(reported)

    # -- team mode ---------------------------------------------------------------------------

    def _start_team(self) -> None:
        """Join the account's Twoway team; only the lease holder points the webhook here."""
        from desktop.team.service import TeamService, TeamTimings

        assert self.sync is not None
        ttl = self._options.team_lease_ttl_s
        self.team = TeamService(
            self.sync.gateway,
            self._store,
            state_dir=self._paths.state,
            name=lambda: self._env.staff_name(self._settings.value),
            setup=self.setup_holder(),
            timings=TeamTimings.scaled(ttl) if ttl else TeamTimings(),
            on_owner_changed=self._on_team_owner,
        )
        self.team.start()

    def _webhook_url(self) -> str | None:
        """In team mode the number points here only while this laptop holds the lease."""
        team = self.team
        if team is None or not team.is_owner:
            return None
        return self.public_url

    def _on_team_owner(self, owner: bool) -> None:
        """On the team thread: took the lease → point the number here and fetch what
        arrived while nobody held it; lost it → read Twilio's log instead."""
        sync = self.sync
        if sync is None:
            return
        if owner and self.public_url:
            sync.take_over_webhook()  # the old holder's URL is a colleague's: no consent needed
            sync.backfill_now("took over the team's webhook")
        else:
            sync.on_public_url_changed(None)

    def _answering_setup(self) -> FrontDeskSetup:
        """Only the webhook's holder answers automatically, so a customer never gets two."""
        setup = self._front_desk()
        team = self.team
        if team is None or team.is_owner:
            return setup
        import dataclasses

        from desktop.domain.auto_reply import AutoReplies

        away = dataclasses.replace(setup.auto_replies.away, enabled=False)
        return dataclasses.replace(setup, auto_replies=AutoReplies(away=away, keywords=()))

    # -- the tunnel -------------------------------------------------------------------------------

    def _start_tunnel(self) -> None:
        from desktop.tunnel.models import TunnelSettings
        from desktop.tunnel.service import NgrokTunnel

        assert self.receiver is not None
        assert self.credentials is not None
        try:
            token = self._secrets.get(Secret.NGROK_AUTHTOKEN)
        except SecretsUnavailable as exc:
            self._board.update(link=Link.POLLING, problem=str(exc))
            return
        if not token:
            self._board.update(
                link=Link.POLLING,
                public_url="",
                problem="Add your ngrok authtoken in Settings so texts arrive instantly. "
                "Until then Twoway checks Twilio for new messages every "
                f"{self._settings.value.poll_interval_s} seconds.",
            )
            return
        settings = self._settings.value
        self.tunnel = NgrokTunnel(
            local_port=self.receiver.port,
            settings=TunnelSettings(
                auth_token=token,
                static_domain=settings.ngrok_domain or None,
                ngrok_path=settings.ngrok_path or None,
                verify_twilio_auth_token=(
                    self.credentials.auth_token if settings.ngrok_verify_webhook else None
                ),
                fallback_poll_seconds=settings.poll_interval_s,
            ),
            on_status=self._on_tunnel_status,
            state_dir=self._paths.state,
        )
        self._board.update(link=Link.STARTING, detail="Opening a secure tunnel with ngrok…")
        self.tunnel.start()

    def _on_tunnel_status(self, status: TunnelStatus) -> None:
        from desktop.tunnel.models import TunnelState

        if status.state is TunnelState.ONLINE and status.public_url:
            with self._lock:
                self._signing_url = self._reachable_url = status.public_url
            self._board.update(
                link=Link.ONLINE, public_url=status.public_url, problem="", detail=""
            )
            self._after_url(status.public_url)
            return
        with self._lock:
            was_reachable = self._reachable_url is not None
            self._reachable_url = None
        if status.state is TunnelState.STARTING:
            self._board.update(link=Link.STARTING, detail=status.message)
        elif status.state is TunnelState.RECONNECTING:
            self._board.update(link=Link.RECONNECTING, detail=status.message)
        elif status.state is TunnelState.FAILED:
            self._board.update(
                link=Link.POLLING,
                public_url="",
                problem=f"{status.message} {status.action}".strip(),
            )
        if was_reachable:
            self._after_url(None)  # poll Twilio until the tunnel is back

    def on_resume(self, seconds_missed: float) -> None:
        """Back from sleep: re-check the tunnel and fetch what Twilio could not deliver."""
        tunnel, sync = self.tunnel, self.sync
        if tunnel is not None:
            tunnel.check_now()
        if sync is not None:
            sync.backfill_now(f"back after {seconds_missed:.0f} s away")

    # -- restart and stop ---------------------------------------------------------------------

    def restart(self, *, force_webhook: bool = False) -> None:
        """New credentials or settings: stop sync and tunnel, then start them again."""
        self._stop_sync_and_tunnel(restore=False)
        self.start(force_webhook=force_webhook)

    def sign_out(self) -> None:
        self._stop_sync_and_tunnel(restore=False)
        self.credentials = None
        with self._lock:
            self._signing_url = self._reachable_url = None
        self._board.update(
            link=Link.SIGNED_OUT,
            public_url="",
            number_points_here=None,
            problem="Signed out. Sign in with your Twilio account to start.",
        )

    def _stop_sync_and_tunnel(self, *, restore: bool) -> None:
        tunnel, sync, team = self.tunnel, self.sync, self.team
        self.tunnel = self.sync = self.team = None
        if team is not None:
            team.stop(release=True)  # a colleague takes the webhook at its next read
            restore = False  # the number belongs to the team, not to this laptop
        if sync is not None and restore:
            try:
                sync.restore_on_quit(timeout=RESTORE_ON_QUIT_S)
            except Exception as exc:
                logger.warning("Could not restore the number's previous webhook: %s", exc)
        if tunnel is not None:
            tunnel.stop(timeout=TUNNEL_STOP_S)
        if sync is not None:
            sync.stop(timeout=1.0)

    def stop(self) -> None:
        """Quit: stop taking webhooks, restore the webhook if asked, close the tunnel, stop.

        Webhooks are refused first: Twilio gets an error for anything arriving now, so the
        message stays in its log for the next start's backfill, instead of being
        acknowledged while the database is closing.
        """
        self.runtime.clear()
        if self.receiver is not None:
            self.receiver.stop()
        self._stop_sync_and_tunnel(restore=True)
        if self.media is not None:
            self.media.stop()
        if self.demo is not None:
            self.demo.stop()
        self.receiver = self.media = self.webhook = None
        self.demo = None
