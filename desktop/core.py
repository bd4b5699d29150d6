"""The Qt-free application core: settings, store, the network side, and what the UI asks.

Two phases keep the first paint fast: :meth:`Core.open` does only local, quick work (the
data folder, settings, the database) and runs before the window is built;
:meth:`Core.start` brings up the network side (listener, credentials, Twilio, ngrok — see
:mod:`desktop.network`) on a background thread after the window is on screen.  Nothing
here imports Qt; the UI subscribes to ``store.events`` and ``connection``.  ``Core`` also
implements :class:`desktop.setup.SetupBackend` for the setup wizard and settings dialog.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from desktop.config import EnvironmentOverrides, Paths, Settings, SettingsFile
from desktop.domain.connection import ConnectionBoard, ConnectionSnapshot
from desktop.secrets import Secret, SecretStore
from desktop.store.service import Store

if TYPE_CHECKING:
    from desktop.gateway.media_worker import MediaFetcher
    from desktop.gateway.rest_types import AccountInfo
    from desktop.setup import SetupResult, TwilioLogin
    from desktop.store import outbox_writes, writes

logger = logging.getLogger(__name__)

MAX_MMS_BYTES: Final = 5 * 1024 * 1024
SENDABLE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif"})


class CannotSend(ValueError):
    """Sending was refused before reaching Twilio; ``str()`` says why in plain words."""


class CoreOptions(NamedTuple):
    data_dir: Path
    port: int = 0
    public_url: str | None = None
    no_tunnel: bool = False
    demo: bool = False
    #: None: the process environment.
    environ: Mapping[str, str] | None = None
    #: How fast the demo's simulated customers live (tests and screenshots speed it up).
    demo_speed: float = 1.0


class TwilioCredentials(NamedTuple):
    account_sid: str
    auth_token: str
    api_key: str | None = None
    api_secret: str | None = None

    @property
    def rest_auth(self) -> tuple[str, str]:
        """API key + secret when given (revocable), else the Account SID and Auth Token."""
        if self.api_key and self.api_secret:
            return (self.api_key, self.api_secret)
        return (self.account_sid, self.auth_token)

    def __repr__(self) -> str:  # never show secrets in tracebacks or logs
        return f"TwilioCredentials(account_sid={self.account_sid!r}, …)"


def load_credentials(secrets: SecretStore) -> TwilioCredentials | None:
    account_sid = secrets.get(Secret.ACCOUNT_SID)
    auth_token = secrets.get(Secret.AUTH_TOKEN)
    if not account_sid or not auth_token:
        return None
    return TwilioCredentials(
        account_sid, auth_token, secrets.get(Secret.API_KEY), secrets.get(Secret.API_SECRET)
    )


class Core:
    """Owns every long-lived service.  ``open``/``start``/``stop`` from one thread."""

    def __init__(self, options: CoreOptions, secrets: SecretStore | None = None) -> None:
        from desktop.network import Network

        self.options = options
        self.paths = Paths(options.data_dir)
        self.env = EnvironmentOverrides.from_environ(options.environ)
        self.settings_file = SettingsFile(self.paths.settings)
        self.settings = Settings()
        self.secrets = secrets or SecretStore(environ=options.environ)
        self.store = Store(self.paths.database, self.paths.backups)
        self.connection = ConnectionBoard(ConnectionSnapshot(demo=options.demo))
        self._lock = threading.Lock()
        #: Small background jobs for the UI (file copies, credential checks); never the GUI thread.
        self.tasks = ThreadPoolExecutor(2, thread_name_prefix="core-task")
        self.network = Network(
            options,
            self.paths,
            self.store,
            lambda: self.settings,
            self.save_settings,
            self.secrets,
            self.connection,
            self.env,
        )
        self._network_lock = threading.Lock()
        #: Where secrets live, found in start(): asking the keyring imports it and may talk
        #: to D-Bus, which the settings dialog (GUI thread) must not wait for.
        self._keyring_location = "your computer's keyring"

    # -- phase 1: local and quick ------------------------------------------------------------

    def open(self) -> None:
        """Create the data folder, read settings, open (and migrate) the database."""
        self.paths.create()
        self.settings = self.settings_file.load()
        self.store.open()

    def save_settings(self) -> None:
        with self._lock:
            self.settings_file.save(self.settings)

    # -- phase 2: network (call from a background thread) ------------------------------------

    def start(self) -> None:
        from desktop.store.database import StoreError

        try:
            self.store.check_integrity()
        except StoreError as exc:
            logger.error("Integrity check failed: %s", exc)
            self.connection.update(problem=str(exc))
        if not self.options.demo:
            self._keyring_location = self.secrets.where()
        with self._network_lock:
            self.network.start()

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

    # -- what the UI asks for ------------------------------------------------------------------

    def send_message(
        self,
        our_number: str,
        contact_number: str,
        body: str,
        attachments: Sequence[Path] = (),
    ) -> Future[writes.InsertResult]:
        """Queue a text (and pictures) durably; the outbox sends it.  Raises CannotSend."""
        import mimetypes
        import shutil
        import uuid

        from desktop.domain.models import MAX_BODY_CHARS, MAX_MEDIA
        from desktop.domain.segments import analyze
        from desktop.store import outbox_writes, queries

        body = body.strip()
        if not body and not attachments:
            raise CannotSend("Type a message or attach a picture.")
        if len(body) > MAX_BODY_CHARS:
            raise CannotSend(f"The message is too long: Twilio allows {MAX_BODY_CHARS} characters.")
        if len(attachments) > MAX_MEDIA:
            raise CannotSend(f"A message can carry at most {MAX_MEDIA} pictures.")
        typed: list[tuple[Path, str, int]] = []
        for path in attachments:
            content_type = mimetypes.guess_type(path.name)[0] or ""
            if content_type not in SENDABLE_TYPES:
                raise CannotSend(f"{path.name} is not a JPEG, PNG or GIF picture.")
            typed.append((path, content_type, path.stat().st_size))
        if sum(size for _, _, size in typed) > MAX_MMS_BYTES:
            raise CannotSend("The pictures are larger than 5 MB together; attach fewer or smaller.")
        conversation_id = queries.find_conversation(self.store.reader(), our_number, contact_number)
        if conversation_id is not None:
            row = queries.conversation(self.store.reader(), conversation_id)
            if row is not None and row.opted_out:
                raise CannotSend(
                    "This customer replied STOP, so Twilio will not deliver texts to them. "
                    "They can text START to receive messages again."
                )
        segments = analyze(body).segments if body else 1
        outgoing = self.paths.outgoing_media

        def copy_then_queue() -> writes.InsertResult:
            copied: list[outbox_writes.OutgoingAttachment] = []
            for path, content_type, size in typed:
                target = outgoing / f"{uuid.uuid4().hex}{path.suffix.lower()}"
                shutil.copyfile(path, target)
                copied.append(outbox_writes.OutgoingAttachment(target.name, content_type, size))
            return self.store.writer.call(
                lambda tx: outbox_writes.queue_outbound(
                    tx, our_number, contact_number, body, tuple(copied), segments
                )
            )

        return self.tasks.submit(copy_then_queue)

    def retry_message(self, message_id: int) -> Future[bool]:
        from desktop.store import outbox_writes

        return self.store.writer.submit(lambda tx: outbox_writes.requeue(tx, message_id))

    def mark_read(self, conversation_id: int) -> Future[None]:
        from desktop.store import writes

        return self.store.writer.submit(lambda tx: writes.mark_read(tx, conversation_id))

    def rename_contact(self, conversation_id: int, name: str) -> Future[None]:
        from desktop.store import writes

        return self.store.writer.submit(lambda tx: writes.rename_contact(tx, conversation_id, name))

    # -- the setup wizard and settings dialog (desktop.setup.SetupBackend) ------------------

    def check_login(self, login: TwilioLogin) -> Future[AccountInfo]:
        """Fetch the account and its numbers with these credentials (never stores them)."""
        from desktop.gateway.rest import RestGateway

        login = login.stripped()
        credentials = TwilioCredentials(
            login.account_sid, login.auth_token, login.api_key or None, login.api_secret or None
        )

        def check() -> AccountInfo:
            gateway = RestGateway(credentials, self.network.api_base_url)
            try:
                return gateway.fetch_account()
            finally:
                gateway.close()

        return self.tasks.submit(check)

    def apply_setup(self, result: SetupResult) -> Future[None]:
        """Store the secrets in the keyring and the choices in settings, then reconnect."""
        from desktop.config import TunnelMode, WebhookPolicy

        def apply() -> None:
            login = result.login.stripped()
            self.secrets.set(Secret.ACCOUNT_SID, login.account_sid)
            self.secrets.set(Secret.AUTH_TOKEN, login.auth_token)
            if login.api_key and login.api_secret:
                self.secrets.set(Secret.API_KEY, login.api_key)
                self.secrets.set(Secret.API_SECRET, login.api_secret)
            else:
                self.secrets.delete(Secret.API_KEY)
                self.secrets.delete(Secret.API_SECRET)
            if result.ngrok_authtoken:
                self.secrets.set(Secret.NGROK_AUTHTOKEN, result.ngrok_authtoken)
            with self._lock:
                settings = self.settings
                settings.phone_number = result.phone_number
                settings.tunnel_mode = TunnelMode(result.tunnel.value)
                settings.public_url = result.public_url
                settings.ngrok_domain = result.ngrok_domain
                settings.poll_interval_s = result.poll_interval_s
                settings.webhook_policy = WebhookPolicy(result.webhook_policy)
                if result.auto_reply_text is not None:
                    settings.auto_reply_text = result.auto_reply_text
                settings.configured = True
            self.save_settings()
            logger.info("Setup applied: number %s, %s", result.phone_number, result.tunnel.value)
            with self._network_lock:
                self.network.restart(force_webhook=result.take_over_foreign_webhook)

        return self.tasks.submit(apply)

    def start_demo(self) -> None:
        """Open the demo in a new process (its own data folder); this one keeps running."""
        import subprocess
        import sys

        if getattr(sys, "frozen", False):
            command = [sys.executable, "--demo"]
        else:
            command = [sys.executable, "-m", "desktop", "--demo"]
        subprocess.Popen(command, start_new_session=True)

    def sign_out(self) -> Future[None]:
        def sign_out() -> None:
            with self._network_lock:
                self.network.sign_out()
            self.secrets.delete_all()
            with self._lock:
                self.settings.configured = False
            self.save_settings()

        return self.tasks.submit(sign_out)

    def restore_previous_webhook(self) -> Future[str]:
        def restore() -> str:
            sync = self.network.sync
            if sync is None:
                return "Sign in first: Twoway needs your Twilio account to change the number."
            return sync.restore_webhook().message

        return self.tasks.submit(restore)

    def keyring_location(self) -> str:
        return self._keyring_location

    def current_login(self) -> TwilioLogin | None:
        from desktop.setup import TwilioLogin

        credentials = self.network.credentials
        if credentials is None or self.options.demo:
            return None
        return TwilioLogin(
            credentials.account_sid,
            credentials.auth_token,
            credentials.api_key or "",
            credentials.api_secret or "",
        )

    def backfill_now(self, reason: str = "requested") -> None:
        sync = self.network.sync
        if sync is not None:
            sync.backfill_now(reason)

    def stop(self) -> None:
        """Close the tunnel and stop listening first, then finish queued writes, then close."""
        with self._network_lock:
            self.network.stop()
        self.tasks.shutdown(wait=True, cancel_futures=True)
        self.store.close()
