"""Who owns the number's webhook: a lease kept in one Sync Document.

The holder renews the document every ``renew_s`` with ``If-Match`` (and a ``Ttl`` of
``ttl_s``, so Sync deletes it if nobody renews).  The others read it every ``check_s``.
A follower takes the lease once no renewal has shown for ``ttl_s`` counted from the last
read that still showed the previous revision — in practice 20–30 s after the holder's
last renewal — or when the document is gone; the take is a conditional write, so exactly
one laptop wins and the others get 54103 / 54301 and follow.  A holder whose renewal meets
a conflict has lost the lease and gives up — it never writes it back.  A holder that could
not renew for ``ttl_s - check_s`` (offline, asleep) steps down by itself *before* anyone
may take over, so two laptops never both believe they own the webhook.

Default timings — TTL 30 s, renewed every 10 s, read every 10 s — and why:

- a renewal may keep failing for a whole renewal period (a Wi-Fi blip, a slow request;
  it is retried with backoff) before the holder steps down, so a busy or briefly offline
  owner does not flap;
- a dead owner is replaced 20–30 s after its last renewal (measured: about 2/3 of the
  TTL), and meanwhile every laptop keeps reading Twilio's log every 2 s, so texts still
  show everywhere; only an auto-reply can be missed in that window;
- a live holder is never judged stale: a follower can only claim after seeing no new
  revision for ``ttl_s - check_s`` = 20 s, two renewal periods;
- it costs 6 requests a minute per laptop (renewals or reads), a fifth of the budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from desktop.team.client import Conflict, Missing, SyncClient

logger = logging.getLogger(__name__)

LEASE_DOCUMENT: Final = "twoway.webhook-lease"


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    ttl_s: float = 30.0
    renew_s: float = 10.0
    check_s: float = 10.0

    def __post_init__(self) -> None:
        if self.renew_s + self.check_s >= self.ttl_s:
            raise ValueError("renew_s + check_s must be shorter than ttl_s")


@dataclass(frozen=True, slots=True)
class Holder:
    laptop_id: str
    name: str


class WebhookLease:
    """The lease state machine; :meth:`step` runs on the team worker, nothing else blocks."""

    def __init__(
        self,
        client: SyncClient,
        laptop_id: str,
        name: Callable[[], str],
        timings: LeaseTimings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._client = client
        self._laptop_id = laptop_id
        self._name = name
        self._timings = timings
        self._clock = clock
        self._on_change = on_change
        self.owner = False
        self.holder: Holder | None = None
        self._revision: str | None = None
        #: When the current revision's renewal could have happened at the latest.
        self._since = 0.0
        self._last_read: float | None = None
        self._renewed_at = 0.0
        #: Ownership changes so far (the "no flapping" tests count them).
        self.changes = 0

    @property
    def ttl(self) -> int:
        return max(1, round(self._timings.ttl_s))

    def _data(self) -> dict[str, Any]:
        return {"laptop": self._laptop_id, "name": self._name(), "renewed": time.time()}

    def _set_owner(self, owner: bool) -> None:
        if owner:
            self.holder = Holder(self._laptop_id, self._name())
        if owner == self.owner:
            return
        self.owner = owner
        self.changes += 1
        logger.info("Team: this laptop %s the webhook", "now holds" if owner else "gave up")
        if self._on_change is not None:
            self._on_change(owner)

    # -- one round ----------------------------------------------------------------------------

    def step(self) -> float:
        """Renew or watch; returns the seconds until the next step.  Raises TwilioProblem
        (offline …) and Throttled; the caller backs off and calls again."""
        now = self._clock()
        if self.owner:
            if now - self._renewed_at >= self._timings.ttl_s - self._timings.check_s:
                self._set_owner(False)  # not renewed in time: a colleague may take it now
            else:
                return self._renew(now)
        return self._watch(now)

    def _renew(self, now: float) -> float:
        due = self._renewed_at + self._timings.renew_s
        if now < due:
            return due - now
        assert self._revision is not None
        try:
            entry = self._client.update_document(
                LEASE_DOCUMENT, self._data(), ttl=self.ttl, if_match=self._revision
            )
        except (Conflict, Missing):
            logger.info("Team: the webhook lease was taken or expired; not fighting for it")
            self._revision = None
            self._set_owner(False)
            return 0.0
        self._revision = entry.revision
        self._renewed_at = self._since = now
        return self._timings.renew_s

    def _watch(self, now: float) -> float:
        entry = self._client.get_document(LEASE_DOCUMENT)
        previous_read, self._last_read = self._last_read, now
        if entry is None:
            return self._claim(None, now)
        if entry.revision != self._revision:
            # It moved since the last read: the renewal happened after that read.  On the
            # first read, count from one read period back, as if a read had come before:
            # a holder that renewed just now steps down ``check_s`` before that counts out,
            # and a dead holder is replaced within the TTL of its last renewal.
            self._revision = entry.revision
            self._since = (
                previous_read if previous_read is not None else now - self._timings.check_s
            )
            self.holder = Holder(str(entry.data.get("laptop", "")), str(entry.data.get("name", "")))
        if self.holder is not None and self.holder.laptop_id in ("", self._laptop_id):
            # Handed back by a laptop that quit, or ours from before a restart: take it.
            return self._claim(entry.revision, now)
        stale_at = self._since + self._timings.ttl_s
        if now >= stale_at:
            return self._claim(entry.revision, now)
        return max(0.05, min(self._timings.check_s, stale_at - now))

    def _claim(self, revision: str | None, now: float) -> float:
        try:
            if revision is None:
                entry = self._client.create_document(LEASE_DOCUMENT, self._data(), self.ttl)
            else:
                entry = self._client.update_document(
                    LEASE_DOCUMENT, self._data(), ttl=self.ttl, if_match=revision
                )
        except (Conflict, Missing):
            self._revision = None  # a colleague was quicker: read again and follow
            return 0.0
        self._revision = entry.revision
        self._renewed_at = self._since = now
        self._set_owner(True)
        return self._timings.renew_s

    def release(self) -> None:
        """Quit: hand the lease back so a colleague takes over at its next read.  Sync
        deletes Documents unconditionally, so the hand-back is a conditional update to "no
        holder" instead: a lease a colleague took a moment ago is left alone."""
        if not self.owner or self._revision is None:
            return
        try:
            self._client.update_document(
                LEASE_DOCUMENT,
                {"laptop": "", "name": "", "released": time.time()},
                ttl=self.ttl,
                if_match=self._revision,
            )
        except Exception as exc:  # offline, or already taken: it expires by its TTL instead
            logger.info("Team: could not hand back the webhook lease: %s", exc)
        self._revision = None
        self._set_owner(False)
