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
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from desktop.workers import TaskPool

if TYPE_CHECKING:
    from desktop.domain.schedule import Holder
    from desktop.store import scheduled, writes
    from desktop.store.service import Store
    from desktop.store.writer import Tx

logger = logging.getLogger(__name__)

MAX_MMS_BYTES: Final = 5 * 1024 * 1024
SENDABLE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif"})


class CannotSend(ValueError):
    """Sending was refused before reaching Twilio; ``str()`` says why in plain words."""


class Messaging:
    """Send, retry, mark read and rename, for the window (safe from any thread)."""

    def __init__(
        self,
        store: Store,
        outgoing_media: Path,
        tasks: TaskPool,
        *,
        in_service: Callable[[str], bool] | None = None,
    ) -> None:
        self._store = store
        self._outgoing = outgoing_media
        self._tasks = tasks
        #: Whether one of our numbers is in a Messaging Service, as last seen (no request).
        self._in_service = in_service or (lambda _number: False)

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
        from desktop.store import outbox_writes

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
        self._refuse_opted_out(our_number, contact_number)
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

    # -- scheduled texts ------------------------------------------------------------------------

    def schedule(
        self, our_number: str, contact_number: str, body: str, send_at: datetime
    ) -> Future[writes.InsertResult]:
        """Queue a text for ``send_at`` (aware): Twilio holds it when our number is in a
        Messaging Service and the time is in Twilio's window, else the outbox sends it
        when due.  Raises CannotSend (a past time, more than 35 days ahead, STOP …)."""
        from desktop.domain import schedule as rules
        from desktop.store import scheduled

        body, send_at_ms, segments = self._check_scheduled(
            our_number, contact_number, body, send_at
        )
        kind = rules.choose_holder(send_at_ms, _now_ms(), in_service=self._in_service(our_number))
        return self._store.writer.submit(
            lambda tx: scheduled.queue_scheduled(
                tx, our_number, contact_number, body, send_at_ms, kind, (), segments
            )
        )

    def holder_for(self, our_number: str, send_at: datetime) -> Holder:
        """Who would keep a text due at ``send_at``: Twilio, or this laptop (no request)."""
        from desktop.domain import schedule as rules

        return rules.choose_holder(
            int(send_at.timestamp() * 1000), _now_ms(), in_service=self._in_service(our_number)
        )

    def edit_scheduled(self, message_id: int, body: str, send_at: datetime) -> Future[int]:
        """New text and time for a scheduled text; the id of the message that now holds it
        (a Twilio-held text is canceled at Twilio and scheduled anew).  Raises CannotSend."""
        from desktop.domain import schedule as rules
        from desktop.store import scheduled

        reader = self._store.reader()
        row = reader.execute(
            "SELECT from_number, to_number FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise CannotSend("This scheduled text no longer exists.")
        our_number, contact_number = str(row[0]), str(row[1])
        body, send_at_ms, segments = self._check_scheduled(
            our_number, contact_number, body, send_at
        )
        kind = rules.choose_holder(send_at_ms, _now_ms(), in_service=self._in_service(our_number))

        def job(tx: Tx) -> int:
            if scheduled.edit_in_place(tx, message_id, body, send_at_ms, segments, kind):
                return message_id
            if not scheduled.cancel(tx, message_id, scheduled.CANCELED_BY_EDIT):
                raise CannotSend("This text has already been sent; it can no longer be changed.")
            result = scheduled.queue_scheduled(
                tx, our_number, contact_number, body, send_at_ms, kind, (), segments
            )
            return result.message_id

        return self._store.writer.submit(job)

    def cancel_scheduled(self, message_id: int) -> Future[str]:
        """Call off a scheduled text: "canceled", "canceling" (Twilio is being told) or ""
        when it already went out."""
        from desktop.store import scheduled

        return self._store.writer.submit(
            lambda tx: scheduled.cancel(tx, message_id, scheduled.CANCELED_BY_STAFF)
        )

    def scheduled_texts(self, conversation_id: int | None = None) -> list[scheduled.ScheduledText]:
        """Texts waiting for their time (or for a decision), soonest first."""
        from desktop.store import scheduled

        return scheduled.waiting(self._store.reader(), conversation_id)

    def _refuse_opted_out(self, our_number: str, contact_number: str) -> None:
        """Raise :class:`CannotSend` when the customer has replied STOP to ``our_number``."""
        from desktop.store import queries

        reader = self._store.reader()
        conversation_id = queries.find_conversation(reader, our_number, contact_number)
        if conversation_id is None:
            return
        row = queries.conversation(reader, conversation_id)
        if row is not None and row.opted_out:
            raise CannotSend(
                "This customer replied STOP, so Twilio will not deliver texts to them. "
                "They can text START to receive messages again."
            )

    def late_texts(self) -> list[scheduled.ScheduledText]:
        """Texts found more than an hour past their time: ask "send now or cancel?"."""
        from desktop.store import scheduled

        return scheduled.late(self._store.reader())

    def send_late_now(self, message_id: int) -> Future[bool]:
        from desktop.store import scheduled

        return self._store.writer.submit(lambda tx: scheduled.send_late_now(tx, message_id))

    def cancel_late(self, message_id: int) -> Future[str]:
        from desktop.store import scheduled

        return self._store.writer.submit(
            lambda tx: scheduled.cancel(tx, message_id, scheduled.CANCELED_LATE)
        )

    def _check_scheduled(
        self, our_number: str, contact_number: str, body: str, send_at: datetime
    ) -> tuple[str, int, int]:
        from desktop.domain import schedule as rules
        from desktop.domain.models import MAX_BODY_CHARS
        from desktop.domain.segments import analyze

        if send_at.tzinfo is None:
            raise ValueError("send_at must carry its time zone")
        body = body.strip()
        if not body:
            raise CannotSend("Type the text to schedule.")
        if len(body) > MAX_BODY_CHARS:
            raise CannotSend(f"The message is too long: Twilio allows {MAX_BODY_CHARS} characters.")
        send_at_ms = int(send_at.timestamp() * 1000)
        refused = rules.refusal(send_at_ms, _now_ms())
        if refused:
            raise CannotSend(refused)
        self._refuse_opted_out(our_number, contact_number)
        return body, send_at_ms, analyze(body).segments


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
