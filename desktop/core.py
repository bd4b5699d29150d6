"""The Qt-free composition root: builds every long-lived service and owns its lifecycle.

Two phases keep the first paint fast: :meth:`Core.open` does only local, quick work (the
data folder, settings, the database) and runs before the window is built;
:meth:`Core.start` brings up the network side (listener, credentials, Twilio, ngrok — see
:mod:`desktop.network`) once the window is on screen.

Starting, restarting (new setup), signing out and stopping the network side all run on
one lifecycle thread, one after another, whichever thread asks — so the network side is
always changed by one thread, and the GUI thread only ever waits for it at quit.

What the window uses:

- ``messaging`` (:class:`desktop.messaging.Messaging`): send, retry, mark read, rename;
- ``account`` (:class:`desktop.account.AccountSetup`): the setup wizard's and settings
  dialog's backend;
- ``settings`` (read) and :meth:`update_settings` (the one way to change them);
- ``store`` (reads and events), ``connection`` (the status board), ``tasks`` (the pool
  for short background jobs, which ``desktop.ui.tasks`` also uses).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from desktop.account import AccountSetup
from desktop.config import (
    CoreOptions,
    EnvironmentOverrides,
    Paths,
    Settings,
    SettingsFile,
    SettingsStore,
)
from desktop.credentials import TwilioCredentials
from desktop.domain.connection import ConnectionBoard, ConnectionSnapshot
from desktop.messaging import CannotSend, Messaging
from desktop.network import Network
from desktop.resume import ResumeWatcher
from desktop.secrets import SecretStore
from desktop.store.service import Store
from desktop.workers import TaskPool

if TYPE_CHECKING:
    from desktop import composer_files
    from desktop.frontdesk.setup_file import SetupHolder
    from desktop.gateway.media_worker import MediaFetcher
    from desktop.team.service import TeamService

__all__ = ["CannotSend", "Core", "CoreOptions"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Short background jobs at once (picture decoding, file copies, login checks).
TASK_THREADS = 4
#: How long a quit waits for the network side before leaving it behind.
STOP_TIMEOUT_S = 4.0


class Core:
    """Owns every long-lived service; ``open`` then ``start``, ``stop`` once at the end."""

    def __init__(self, options: CoreOptions, secrets: SecretStore | None = None) -> None:
        self.options = options
        self.paths = Paths(options.data_dir)
        self.env = EnvironmentOverrides.from_environ(options.environ)
        self.settings_store = SettingsStore(SettingsFile(self.paths.settings))
        self.secrets = secrets or SecretStore(
            environ=options.environ, encrypted_file=self.paths.encrypted_secrets
        )
        self.store = Store(self.paths.database, self.paths.backups)
        self.connection = ConnectionBoard(ConnectionSnapshot(demo=options.demo))
        self.store.health.subscribe(lambda health: self.connection.update(store_health=health))
        #: Short background jobs for the UI and the use cases; never the GUI thread.
        self.tasks = TaskPool(TASK_THREADS, "task", on_thread_exit=self.store.release_reader)
        self._lifecycle = TaskPool(1, "core-lifecycle", on_thread_exit=self.store.release_reader)
        self.network = Network(
            options,
            self.paths,
            self.store,
            self.settings_store,
            self.secrets,
            self.connection,
            self.env,
            lambda: self.front_desk.current,
        )
        self.messaging = Messaging(
            self.store, self.paths.outgoing_media, self.tasks, in_service=self._in_service
        )
        self.account = AccountSetup(
            network=self.network,
            secrets=self.secrets,
            settings=self.settings_store,
            tasks=self.tasks,
            on_lifecycle=self._run_on_lifecycle,
            demo=options.demo,
        )
        self.resume_watcher = ResumeWatcher(self._on_resume)
        self._stopped = False
        self._front_desk: SetupHolder | None = None
        self._front_desk_lock = threading.Lock()

    # -- phase 1: local and quick ------------------------------------------------------------

    def open(self) -> None:
        """Create the data folder, read settings, open (and migrate) the database."""
        self.paths.create()
        self.settings_store.load()
        self.store.open()
        self.network.setup_holder = lambda: self.front_desk

    @property
    def front_desk(self) -> SetupHolder:
        """The shareable front-desk setup (quick replies, hours, auto-replies), read on
        first use — not on the way to the first paint; :meth:`start` reads it at the latest."""
        with self._front_desk_lock:
            if self._front_desk is None:
                from desktop.frontdesk.setup_file import open_for_app

                self._front_desk = open_for_app(
                    self.paths.data_dir,
                    demo=self.options.demo,
                    legacy_away_text=self.settings.auto_reply_text,
                )
            return self._front_desk

    @property
    def settings(self) -> Settings:
        return self.settings_store.value

    def needs_setup(self) -> bool:
        """Open the setup wizard at start?  Not in the demo, not once set up, and not when
        the environment already names the account and the number (no keyring needed)."""
        if self.options.demo or self.settings.configured:
            return False
        from desktop.secrets import Secret

        from_env = self.secrets.from_environment
        return not (
            from_env(Secret.ACCOUNT_SID) and from_env(Secret.AUTH_TOKEN) and self.env.phone_number
        )

    def update_settings(self, change: Callable[[Settings], Settings]) -> Future[Settings]:
        """Change the settings (saved with fsync, so on a background thread)."""
        return self.tasks.submit(lambda: self.settings_store.update(change))

    # -- phase 2: network --------------------------------------------------------------------

    def start(self) -> Future[None]:
        """Bring up the network side on the lifecycle thread; returns at once."""
        return self._run_on_lifecycle(self._start)

    def _start(self) -> None:
        if not self.store.check_health().writable:
            return  # the window says what happened and offers the repair; nothing writes
        self.account.find_keyring()
        _ = self.front_desk  # auto-replies answer from the first webhook on
        self.network.start()
        self.resume_watcher.start()
        self.tasks.submit(self.store.back_up_daily)
        self.tasks.submit(self.tidy_composer_pictures)

    def tidy_composer_pictures(self) -> composer_files.Sweep:
        """Delete pasted/shrunk pictures no draft refers to any more (blocking: a worker)."""
        from desktop import composer_files

        keep = composer_files.referenced(self.store.reader())
        return composer_files.sweep(self.paths.composer_pictures, keep)

    def with_store_closed(self, work: Callable[[], T]) -> T:
        """Stop what writes and close the database, run ``work`` (a repair, a restore),
        open it again and restart.  Blocking: call off the GUI thread; raises StoreError if
        the database still cannot be opened (then it stays closed)."""

        def replace() -> T:
            self.network.stop()
            self.store.close(for_replacement=True)
            result = work()
            self.store.open()
            return result

        result = self._lifecycle.submit(replace).result()
        self.start()
        return result

    def _on_resume(self, seconds_missed: float, how: str) -> None:
        self._run_on_lifecycle(lambda: self.network.on_resume(seconds_missed))
        sync = self.network.sync
        if sync is not None:
            sync.outbox.wake()  # scheduled texts that fell due while away: send or ask

    def _in_service(self, our_number: str) -> bool:
        """Whether ``our_number`` is in a Messaging Service, as last seen (no request)."""
        sync = self.network.sync
        directory = sync.services.last if sync is not None else None
        return directory is not None and directory.service_of(our_number) is not None

    def resumed(self, how: str) -> None:
        """The OS says the computer woke up (logind, macOS, Windows): catch up now."""
        self.resume_watcher.resumed(0.0, how)

    def _run_on_lifecycle(self, work: Callable[[], None]) -> Future[None]:
        def guarded() -> None:
            try:
                work()
            except Exception:
                logger.exception("Changing the network side failed")
                raise

        return self._lifecycle.submit(guarded)

    @property
    def credentials(self) -> TwilioCredentials | None:
        return self.network.credentials

    @property
    def public_url(self) -> str | None:
        return self.network.public_url

    @property
    def media(self) -> MediaFetcher | None:
        return self.network.media

    @staticmethod
    def explain_error_code(code: int | None) -> str:
        """Plain words for a Twilio error code (tooltips on failed messages)."""
        from desktop.gateway.rest import explain_error_code

        return explain_error_code(code)

    def backfill_now(self, reason: str = "requested") -> None:
        sync = self.network.sync
        if sync is not None:
            sync.backfill_now(reason)

    # -- team mode (several laptops on one number; see desktop.team) -------------------------

    @property
    def team(self) -> TeamService | None:
        """The running team service, or None when team mode is off (or signed out)."""
        return self.network.team

    def team_enabled(self) -> bool:
        return self.env.team_enabled(self.settings)

    def staff_name(self) -> str:
        return self.env.staff_name(self.settings)

    def set_team(self, enabled: bool, staff_name: str | None = None) -> Future[None]:
        """Join (the user agreed to create or join the account's team) or leave; saves the
        setting and restarts the network side on the lifecycle thread."""

        def change(settings: Settings) -> Settings:
            name = settings.staff_name if staff_name is None else " ".join(staff_name.split())
            return settings.replace(team_enabled=enabled, staff_name=name[:40])

        def apply() -> None:
            self.settings_store.update(change)
            self.network.restart()

        return self._run_on_lifecycle(apply)

    # -- the end -----------------------------------------------------------------------------

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop listening and close the tunnel, then finish queued writes, then close.

        Safe to call from any thread, more than once; waits at most about ``timeout`` for
        the network side (a request hanging in Twilio's direction is left behind: the
        outbox checks on it at the next start).
        """
        if self._stopped:
            return
        self._stopped = True
        self.resume_watcher.stop()
        stopping = self._lifecycle.submit(self.network.stop)
        try:
            stopping.result(timeout)
        except TimeoutError:
            logger.warning("The network side did not stop within %.0f s; quitting anyway", timeout)
        except Exception:
            logger.exception("Stopping the network side failed")
        self._lifecycle.shutdown(wait=False)
        self.tasks.shutdown(wait=True, timeout=1.0)
        self.store.close()
