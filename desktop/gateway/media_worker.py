"""Fetches MMS media after the webhook was acknowledged, makes thumbnails, retries failures.

The webhook never waits for media (Twilio gives us 15 s in all); the message row is
committed with its media marked ``pending``, and this worker picks them up from the
database — so pending media also survive a restart.  Temporary failures are retried
with growing delays and stay visible in the thread; refusals (policy, size, bombs) are
final and say why.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from desktop.domain.events import Event, MessageAdded
from desktop.gateway.media import (
    MediaPolicy,
    MediaRefused,
    MediaUnavailable,
    describe_failure,
    download,
)
from desktop.gateway.thumbnails import ImageRefused, make_thumbnail
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.workers import TaskPool, Worker

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

RETRY_DELAYS_S: Final = (10, 60, 300, 1800, 7200, 21600)


class MediaFetcher:
    """Background service; :meth:`wake` after new media rows, :meth:`stop` on quit."""

    def __init__(
        self,
        store: Store,
        media_dir: Path,
        thumbnail_dir: Path,
        policy: Callable[[], MediaPolicy | None],
        auth: Callable[[], tuple[str, str] | None],
        *,
        workers: int = 2,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        self._store = store
        self._media_dir = media_dir
        self._thumb_dir = thumbnail_dir
        self._policy = policy
        self._auth = auth
        self._workers = workers
        self._delays = tuple(retry_delays_s)
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._scheduler = Worker(
            "media-scheduler", self._dispatch_due, on_exit=self._store.release_reader
        )
        self._pool: TaskPool | None = None
        self._local = threading.local()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._scheduler.running:
            return
        self._pool = TaskPool(self._workers, "media", on_thread_exit=self._release_thread)
        self._unsubscribe = self._store.events.subscribe(self._on_events)
        self._scheduler.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._scheduler.stop(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, timeout=timeout)
            self._pool = None

    def wake(self) -> None:
        self._scheduler.wake()

    def _release_thread(self) -> None:
        self._store.release_reader()
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            self._local.session = None
            session.close()

    def _on_events(self, events: Sequence[Event]) -> None:
        if any(
            isinstance(e, MessageAdded) and e.num_media and e.direction == "inbound" for e in events
        ):
            self.wake()

    # -- scheduling -------------------------------------------------------------------------

    def _dispatch_due(self) -> float:
        if self._policy() is None or self._auth() is None:
            return 30.0  # not signed in yet
        conn = self._store.reader()
        now = writes.now_ms()
        with self._lock:
            in_flight = set(self._in_flight)
        free = self._workers * 2 - len(in_flight)
        if free > 0:
            for job in queries.media_to_fetch(conn, now, limit=free + len(in_flight)):
                if job.media_id in in_flight:
                    continue
                with self._lock:
                    self._in_flight.add(job.media_id)
                assert self._pool is not None
                self._pool.submit(functools.partial(self._run_job, job))
        due = queries.next_media_attempt_ms(conn)
        if due is None:
            return 60.0
        return max(0.05, min(60.0, (due - now) / 1000))

    # -- one item -----------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc credentials from the environment
            self._local.session = session
        return session

    def _run_job(self, job: queries.MediaJob) -> None:
        try:
            self._fetch(job)
        except Exception as exc:
            reason = describe_failure(exc)
            if isinstance(exc, OSError):
                logger.warning("Media %d not stored: %s", job.media_id, reason)
            else:
                logger.exception("Media %d failed unexpectedly", job.media_id)
            self._store.writer.submit(
                lambda tx: writes.media_attempt_failed(
                    tx, job.media_id, reason, next_attempt_at_ms=self._next_attempt(job)
                )
            )
        finally:
            with self._lock:
                self._in_flight.discard(job.media_id)
            self._scheduler.wake()

    def _next_attempt(self, job: queries.MediaJob) -> int | None:
        if job.attempts >= len(self._delays):
            return None
        return writes.now_ms() + int(self._delays[job.attempts] * 1000)

    def _record_failure(
        self, job: queries.MediaJob, error: str, retry_at: int | None, *, refused: bool = False
    ) -> None:
        self._store.writer.submit(
            lambda tx: writes.media_attempt_failed(
                tx, job.media_id, error, next_attempt_at_ms=retry_at, refused=refused
            )
        )

    def _fetch(self, job: queries.MediaJob) -> None:
        policy, auth = self._policy(), self._auth()
        if policy is None or auth is None:
            return
        started = time.perf_counter()
        try:
            got = download(self._session(), policy, job.url, job.message_sid, auth, self._media_dir)
        except MediaRefused as exc:
            logger.warning("Refused media %d of %s: %s", job.position, job.message_sid, exc)
            self._record_failure(job, str(exc), None, refused=True)
            return
        except MediaUnavailable as exc:
            retry_at = self._next_attempt(job)
            logger.info(
                "Media %d of %s not fetched (%s); %s",
                job.position,
                job.message_sid,
                exc,
                "will retry" if retry_at else "giving up",
            )
            self._record_failure(job, str(exc), retry_at)
            return
        thumbnail: str | None = None
        width = height = None
        if got.sniffed.is_image and got.sniffed.content_type != "image/heic":
            try:
                thumb = make_thumbnail(got.path, self._thumb_dir / got.path.stem)
            except ImageRefused as exc:
                got.path.unlink(missing_ok=True)
                logger.warning("Refused picture %s: %s", got.path.name, exc)
                self._record_failure(job, str(exc), None, refused=True)
                return
            thumbnail = thumb.path.name
            width, height = thumb.width, thumb.height
        logger.debug(
            "Fetched media %s (%d bytes) in %.0f ms",
            got.path.name,
            got.size,
            (time.perf_counter() - started) * 1000,
        )
        self._store.writer.submit(
            lambda tx: writes.media_stored(
                tx,
                job.media_id,
                file=got.path.name,
                thumbnail=thumbnail,
                content_type=got.sniffed.content_type,
                size=got.size,
                width=width,
                height=height,
            )
        )
