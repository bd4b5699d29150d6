"""The Qt-free service graph: store, receiver, media, REST, sync and tunnel, wired together.

Two phases keep the first paint fast: :meth:`Core.open` does only local, quick work (the
data folder, settings, the database) and runs before the window is built;
:meth:`Core.start` brings up the network side (listener, credentials, Twilio, ngrok) and
runs on a background thread after the window is on screen.  Nothing here imports Qt
widgets; the UI subscribes to ``store.events`` and ``connection``.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import shutil
import threading
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from desktop.config import EnvironmentOverrides, Paths, Settings, SettingsFile
from desktop.domain.connection import ConnectionBoard, ConnectionSnapshot, Link
from desktop.domain.models import MAX_BODY_CHARS, MAX_MEDIA
from desktop.secrets import Secret, SecretStore, SecretsUnavailable
from desktop.store import queries, writes
from desktop.store.service import Store

if TYPE_CHECKING:
    from desktop.gateway.media import MediaPolicy
    from desktop.gateway.media_worker import MediaFetcher
    from desktop.gateway.receiver import ReceiverThread
    from desktop.gateway.webhook import WebhookApp, WebhookCredentials

logger = logging.getLogger(__name__)

MAX_MMS_BYTES: Final = 5 * 1024 * 1024
SENDABLE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif"})


class CannotSend(ValueError):
    """Sending was refused before reaching Twilio; ``str()`` says why in plain words."""


@dataclass(frozen=True)
class CoreOptions:
    data_dir: Path
    port: int = 0
    public_url: str | None = None
    no_tunnel: bool = False
    demo: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class TwilioCredentials:
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
    """Owns every long-lived service.  Thread-safe where noted; start/stop from one thread."""

    def __init__(self, options: CoreOptions, secrets: SecretStore | None = None) -> None:
        self.options = options
        self.paths = Paths(options.data_dir)
        self.env = EnvironmentOverrides.from_environ(options.environ)
        self.settings_file = SettingsFile(self.paths.settings)
        self.settings = Settings()
        self.secrets = secrets or SecretStore(environ=options.environ)
        self.store = Store(self.paths.database, self.paths.backups)
        self.connection = ConnectionBoard(ConnectionSnapshot(demo=options.demo))
        self._credentials: TwilioCredentials | None = None
        self._public_url: str | None = (
            options.public_url.rstrip("/") if options.public_url else None
        )
        self._lock = threading.Lock()
        self._started = False
        #: Small background jobs for the UI (file copies, credential checks); never the GUI thread.
        self.tasks = ThreadPoolExecutor(2, thread_name_prefix="core-task")
        # Network-side services, created in start() so their imports stay off the first paint.
        self.receiver: ReceiverThread | None = None
        self.media: MediaFetcher | None = None
        self.webhook: WebhookApp | None = None

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
        from desktop.gateway.ingest import StoreIngest
        from desktop.gateway.media_worker import MediaFetcher
        from desktop.gateway.receiver import ReceiverThread
        from desktop.gateway.webhook import WebhookApp

        try:
            self._credentials = load_credentials(self.secrets)
        except SecretsUnavailable as exc:
            self.connection.update(link=Link.SIGNED_OUT, problem=str(exc))
            self._credentials = None
        ingest = StoreIngest(self.store, lambda: self.settings.auto_reply_text)
        webhook = WebhookApp(ingest, self.webhook_credentials)
        receiver = ReceiverThread(webhook, self.options.port)
        receiver.start()
        media = MediaFetcher(
            self.store, self.paths.media, self.paths.thumbnails, self.media_policy, self.media_auth
        )
        media.start()
        self.webhook, self.receiver, self.media = webhook, receiver, media
        self._started = True
        if self._credentials is None:
            self.connection.update(
                link=Link.SIGNED_OUT, problem="Sign in with your Twilio account to start."
            )
        elif self._public_url:
            self.connection.update(link=Link.ONLINE, public_url=self._public_url)

    @property
    def credentials(self) -> TwilioCredentials | None:
        return self._credentials

    def set_credentials(self, credentials: TwilioCredentials | None) -> None:
        self._credentials = credentials

    @property
    def public_url(self) -> str | None:
        with self._lock:
            return self._public_url

    def set_public_url(self, url: str | None) -> None:
        with self._lock:
            self._public_url = url.rstrip("/") if url else None

    def webhook_credentials(self) -> WebhookCredentials | None:
        from desktop.gateway.webhook import WebhookCredentials as Credentials

        credentials, url = self._credentials, self.public_url
        if credentials is None or not url:
            return None
        return Credentials(credentials.account_sid, credentials.auth_token, url)

    def media_policy(self) -> MediaPolicy | None:
        from desktop.gateway.media import MediaPolicy as Policy

        credentials = self._credentials
        if credentials is None:
            return None
        return Policy(credentials.account_sid, self.env.api_base_url)

    def media_auth(self) -> tuple[str, str] | None:
        credentials = self._credentials
        return None if credentials is None else credentials.rest_auth

    # -- what the UI asks for ------------------------------------------------------------------

    def send_message(
        self,
        our_number: str,
        contact_number: str,
        body: str,
        attachments: Sequence[Path] = (),
    ) -> Future[writes.InsertResult]:
        """Queue a text (and pictures) durably; the outbox sends it.  Raises CannotSend."""
        from desktop.domain.segments import analyze

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
            copied: list[writes.OutgoingAttachment] = []
            for path, content_type, size in typed:
                target = outgoing / f"{uuid.uuid4().hex}{path.suffix.lower()}"
                shutil.copyfile(path, target)
                copied.append(writes.OutgoingAttachment(target.name, content_type, size))
            return self.store.writer.call(
                lambda tx: writes.queue_outbound(
                    tx, our_number, contact_number, body, tuple(copied), segments
                )
            )

        return self.tasks.submit(copy_then_queue)

    def retry_message(self, message_id: int) -> Future[bool]:
        return self.store.writer.submit(lambda tx: writes.requeue(tx, message_id))

    def mark_read(self, conversation_id: int) -> Future[None]:
        return self.store.writer.submit(lambda tx: writes.mark_read(tx, conversation_id))

    def rename_contact(self, conversation_id: int, name: str) -> Future[None]:
        return self.store.writer.submit(lambda tx: writes.rename_contact(tx, conversation_id, name))

    def stop(self) -> None:
        """Stop accepting webhooks first, then finish queued writes, then close."""
        receiver, media = self.receiver, self.media
        if receiver is not None:
            receiver.stop()
        if media is not None:
            media.stop()
        self.tasks.shutdown(wait=True, cancel_futures=True)
        self.store.close()
        self._started = False
