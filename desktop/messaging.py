"""What staff do with messages — send, send again, read, name a contact — as use cases.

The window calls these instead of writing to the store itself.  Every write goes through
the store's single writer and returns a ``Future``; nothing here blocks the caller on the
network (sending is the outbox's job: a queued row is all ``send`` produces).
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Final

from desktop.workers import TaskPool

if TYPE_CHECKING:
    from desktop.store import writes
    from desktop.store.service import Store

logger = logging.getLogger(__name__)

MAX_MMS_BYTES: Final = 5 * 1024 * 1024
SENDABLE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif"})


class CannotSend(ValueError):
    """Sending was refused before reaching Twilio; ``str()`` says why in plain words."""


class Messaging:
    """Send, retry, mark read and rename, for the window (safe from any thread)."""

    def __init__(self, store: Store, outgoing_media: Path, tasks: TaskPool) -> None:
        self._store = store
        self._outgoing = outgoing_media
        self._tasks = tasks

    def send(
        self,
        our_number: str,
        contact_number: str,
        body: str,
        attachments: Sequence[Path] = (),
    ) -> Future[writes.InsertResult]:
        """Queue a text (and pictures) durably; the outbox sends it.  Raises CannotSend."""
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
        reader = self._store.reader()
        conversation_id = queries.find_conversation(reader, our_number, contact_number)
        if conversation_id is not None:
            row = queries.conversation(reader, conversation_id)
            if row is not None and row.opted_out:
                raise CannotSend(
                    "This customer replied STOP, so Twilio will not deliver texts to them. "
                    "They can text START to receive messages again."
                )
        segments = analyze(body).segments if body else 1
        outgoing = self._outgoing

        def copy_then_queue() -> writes.InsertResult:
            copied: list[outbox_writes.OutgoingAttachment] = []
            for path, content_type, size in typed:
                target = outgoing / f"{uuid.uuid4().hex}{path.suffix.lower()}"
                shutil.copyfile(path, target)
                copied.append(outbox_writes.OutgoingAttachment(target.name, content_type, size))
            return self._store.writer.call(
                lambda tx: outbox_writes.queue_outbound(
                    tx, our_number, contact_number, body, tuple(copied), segments
                )
            )

        return self._tasks.submit(copy_then_queue)

    def retry(self, message_id: int) -> Future[bool]:
        """Send a failed message again, refused by Twilio or undelivered: the same row (no
        second bubble); an undelivered attempt's SID is kept so a backfill still finds it."""
        from desktop.store import outbox_writes

        return self._store.writer.submit(lambda tx: outbox_writes.requeue(tx, message_id))

    def retry_media(self, media_id: int) -> Future[None]:
        """Fetch a picture that failed to download again."""
        from desktop.store import writes

        return self._store.writer.submit(lambda tx: writes.retry_media(tx, media_id))

    def mark_read(self, conversation_id: int) -> Future[None]:
        from desktop.store import writes

        return self._store.writer.submit(lambda tx: writes.mark_read(tx, conversation_id))

    def rename_contact(self, conversation_id: int, name: str) -> Future[None]:
        from desktop.store import writes

        return self._store.writer.submit(
            lambda tx: writes.rename_contact(tx, conversation_id, name)
        )
