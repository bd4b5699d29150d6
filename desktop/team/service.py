"""Team mode: several laptops on one number, their shared state in Twilio Sync.

One :class:`TeamService` per running app, on one :class:`~desktop.workers.Worker`.  Each
round it keeps the webhook lease (:mod:`desktop.team.lease`), says "I am online"
(presence), sends queued edits, and reads what colleagues changed:

========================  =============================================================
Sync object               What it holds
========================  =============================================================
``twoway.webhook-lease``  Document: which laptop owns the number's webhook (TTL)
``twoway.shared``         Map: ``c<digits>`` contact name and note; ``v<ours>-<theirs>``
                          a conversation's read / handled state; ``setup`` the front-desk
                          setup (quick replies, hours, auto-replies)
``twoway.live``           Map: ``p<laptop>`` presence and ``t<conversation>`` "is
                          replying…", both expiring by TTL (a typing item is deleted
                          as soon as its laptop sends the text)
``twoway.sent-by``        Map: MessageSid → the display name that sent it (TTL 30 days)
========================  =============================================================

Cost while idle (default timings): lease 6/min, ``twoway.live`` list 6/min,
``twoway.shared`` revision 6/min, presence 2/min — 20 requests a minute, plus a listing
only when something changed.  ``sent-by`` is read per message a colleague sent.

Local edits are noticed through the store's events (renames, notes, reading a
conversation, a sent message getting its SID) and the setup holder's listeners, so the
rest of the app does not know team mode exists.  The worker never runs on the GUI thread.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from desktop.domain.events import ConversationChanged, Event, MessageAdded, MessageChanged
from desktop.gateway.rest_types import TwilioProblem
from desktop.guarded import GuardedValue
from desktop.team import local
from desktop.team.client import Missing, NotJoined, SyncClient, Throttled
from desktop.team.lease import Holder, LeaseTimings, WebhookLease
from desktop.team.shared import Edit, PendingEdits, SharedMap
from desktop.workers import Backoff, Worker

if TYPE_CHECKING:
    from desktop.frontdesk.setup_file import SetupHolder
    from desktop.gateway.rest import RestGateway
    from desktop.store.service import Store

logger = logging.getLogger(__name__)

SHARED_MAP: Final = "twoway.shared"
LIVE_MAP: Final = "twoway.live"
SENT_MAP: Final = "twoway.sent-by"
SETUP_KEY: Final = "setup"
#: How long a sender's name stays in Sync (each laptop keeps it in its database).
SENT_BY_TTL_S: Final = 30 * 24 * 3600
#: A colleague's message whose sender is not in Sync yet is looked up again this often…
LOOKUP_RETRY_S: Final = 3.0
#: …this many times (their laptop records it right after Twilio accepted the text).
LOOKUP_ATTEMPTS: Final = 20


@dataclass(frozen=True, slots=True)
class TeamTimings:
    lease: LeaseTimings = field(default_factory=LeaseTimings)
    #: How often colleagues' changes, presence and "is replying…" are read.
    poll_s: float = 10.0
    #: How often this laptop says it is online (its presence item lives 3× as long).
    presence_s: float = 30.0
    #: How long "Sam is replying…" lasts after the last keystroke.
    typing_ttl_s: int = 10

    @classmethod
    def scaled(cls, ttl_s: float = 3.0) -> TeamTimings:
        """The default timings sped up so the lease lasts ``ttl_s`` (tests: 3 s, i.e. ten
        times faster, so 6 s of a test is an idle minute)."""
        default = cls()
        k = ttl_s / default.lease.ttl_s
        lease = default.lease
        return cls(
            LeaseTimings(lease.ttl_s * k, lease.renew_s * k, lease.check_s * k),
            poll_s=default.poll_s * k,
            presence_s=default.presence_s * k,
            typing_ttl_s=max(1, round(default.typing_ttl_s * k)),
        )


@dataclass(frozen=True, slots=True)
class Member:
    laptop_id: str
    name: str
    owner: bool
    me: bool


@dataclass(frozen=True, slots=True)
class TeamStatus:
    joined: bool = False
    #: Colleagues' state has been read once (local edits are shared from then on).
    synced: bool = False
    owner: bool = False
    holder: str = ""
    members: tuple[Member, ...] = ()
    problem: str = ""
    pending_edits: int = 0


def digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def contact_key(number: str) -> str:
    return f"c{digits(number)}"


def conversation_key(our_number: str, contact_number: str) -> str:
    return f"v{digits(our_number)}-{digits(contact_number)}"


def typing_key(our_number: str, contact_number: str) -> str:
    """``twoway.live``'s "is replying…" item for a conversation."""
    return "t" + conversation_key(our_number, contact_number)[1:]


def laptop_id(state_dir: Path) -> str:
    """This data folder's id in the team (kept, so a restart finds its own lease)."""
    path = state_dir / "team.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["laptop_id"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    made = uuid.uuid4().hex[:12]
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"laptop_id": made}), encoding="utf-8")
    return made


class TeamService:
    """Qt-free; ``start()``/``stop()`` from one thread, the rest from any thread."""

    def __init__(
        self,
        gateway: RestGateway,
        store: Store,
        *,
        state_dir: Path,
        name: Callable[[], str],
        setup: SetupHolder | None = None,
        timings: TeamTimings | None = None,
        create: bool = True,
        on_owner_changed: Callable[[bool], None] | None = None,
    ) -> None:
        self._store = store
        self._name = name
        self._setup = setup
        self.timings = timings or TeamTimings()
        self._create = create
        self._on_owner_changed = on_owner_changed
        self.laptop_id = laptop_id(state_dir)
        self.client = SyncClient(gateway)
        self._gateway = gateway
        self.lease = WebhookLease(
            self.client, self.laptop_id, name, self.timings.lease, on_change=self._owner_changed
        )
        self.shared = SharedMap(self.client, SHARED_MAP)
        self.live = SharedMap(self.client, LIVE_MAP)
        self.pending = PendingEdits(state_dir / "team-pending.json")
        self._lock = threading.Lock()
        self._status = GuardedValue(TeamStatus())
        self._joined = False
        self._synced_once = False
        self._conversations: set[int] = set()
        self._messages: set[int] = set()
        self._lookups: dict[str, tuple[float, int]] = {}
        self._setup_dirty = False
        self._applying_setup = False
        self._typing_sent: dict[str, float] = {}
        self._typing_queue: list[str] = []
        #: Typing items this laptop put in Sync, and when (deleted when it sends there).
        self._typing_live: dict[str, float] = {}
        #: Texts staff sent from here (message id → when), whose typing item goes.
        self._sent: dict[int, float] = {}
        self._due: dict[str, float] = {}
        self._backoff = Backoff(initial=1.0, maximum=self.timings.lease.check_s, jitter=0.3)
        self._worker = Worker("team", self._step, on_exit=self._release_thread)
        self._unsubscribe: list[Callable[[], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._unsubscribe.append(self._store.events.subscribe(self._on_events))
        if self._setup is not None:
            self._unsubscribe.append(self._setup.subscribe(self._on_setup_changed))
        self._worker.start()

    def stop(self, *, release: bool = True, timeout: float = 2.0) -> None:
        """Quit: hand the lease back and say goodbye (``release=False``: vanish, as a
        crashed laptop would — the others take over when the lease runs out)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._worker.stop(timeout)
        if release and self._joined:
            try:
                self.lease.release()
                self.client.delete_item(LIVE_MAP, f"p{self.laptop_id}")
            except Exception as exc:
                logger.info("Team: could not say goodbye: %s", exc)

    def _release_thread(self) -> None:
        self._store.release_reader()
        self._gateway.release_thread()

    # -- what the app asks ---------------------------------------------------------------------

    @property
    def is_owner(self) -> bool:
        return self.lease.owner

    @property
    def status(self) -> TeamStatus:
        return self._status.value

    def subscribe(self, listener: Callable[[TeamStatus], None]) -> Callable[[], None]:
        """``listener(status)`` after each change, on the team thread."""
        return self._status.subscribe(listener)

    def replying(self, our_number: str, contact_number: str) -> None:
        """The user is typing to this customer: colleagues see "<name> is replying…"."""
        key = typing_key(our_number, contact_number)
        now = time.monotonic()
        with self._lock:
            if now - self._typing_sent.get(key, -1e9) < self.timings.typing_ttl_s / 2:
                return
            self._typing_sent[key] = now
            self._typing_queue.append(key)
        self._worker.wake()

    def replying_in(self, our_number: str, contact_number: str) -> list[str]:
        """Colleagues typing to this customer right now."""
        entry = self.live.get(typing_key(our_number, contact_number))
        if entry is None or entry.data.get("laptop") == self.laptop_id:
            return []
        # Read up to ``poll_s`` ago: an entry whose TTL ran out since is over already.
        if entry.expired(self.client.server_time()):
            return []
        return [str(entry.data.get("name", ""))]

    def set_handled(self, our_number: str, contact_number: str, handled: bool) -> None:
        self._queue(
            Edit(
                SHARED_MAP,
                conversation_key(our_number, contact_number),
                {"handled": handled, "handled_by": self._name() if handled else ""},
            )
        )

    def handled(self, our_number: str, contact_number: str) -> tuple[bool, str]:
        key = conversation_key(our_number, contact_number)
        data = self._known(key)
        return bool(data.get("handled", False)), str(data.get("handled_by", ""))

    def wake(self) -> None:
        self._worker.wake()

    # -- events from this laptop ----------------------------------------------------------------

    def _on_events(self, events: Sequence[Event]) -> None:
        """On the store's writer thread: note what to look at, nothing more."""
        wake = False
        with self._lock:
            for event in events:
                if isinstance(event, ConversationChanged):
                    self._conversations.add(event.conversation_id)
                    wake = True
                elif isinstance(event, MessageChanged | MessageAdded):
                    if isinstance(event, MessageAdded) and event.direction != "outbound":
                        continue
                    if isinstance(event, MessageAdded) and event.source == "app":
                        self._sent[event.message_id] = time.monotonic()
                    self._messages.add(event.message_id)
                    wake = True
        if wake:
            self._worker.wake()

    def _on_setup_changed(self, _setup: object) -> None:
        with self._lock:
            if self._applying_setup:
                return
            self._setup_dirty = True
        self._worker.wake()

    def _queue(self, edit: Edit) -> None:
        self.pending.add(edit)
        self._worker.wake()

    def _known(self, key: str) -> dict[str, Any]:
        """What Sync has for ``key`` with our queued edits on top (what we believe)."""
        entry = self.shared.get(key)
        data = dict(entry.data) if entry else {}
        data.update(self.pending.patch_for(SHARED_MAP, key) or {})
        return data

    # -- the worker -----------------------------------------------------------------------------

    def _due_now(self, what: str, now: float) -> bool:
        return self._due.get(what, 0.0) <= now

    def _step(self) -> float | None:
        try:
            if not self._joined:
                self._join()
            self._notice_local_changes()  # local work first: it is queued even offline
            now = time.monotonic()
            if self._due_now("lease", now):
                self._due["lease"] = now + self.lease.step()
            if self._due_now("presence", now):
                self._say_online()
                self._due["presence"] = now + self.timings.presence_s
            if self._due_now("poll", now) or not self._synced_once:
                self._read_colleagues()
                self._due["poll"] = time.monotonic() + self.timings.poll_s
            self._notice_local_changes()  # what applying colleagues' changes caused
            self._send_typing()
            self._flush()
            self._lookup_senders(time.monotonic())
            self._backoff.succeeded()
            self._publish(problem="")
        except Throttled as exc:
            delay = self._backoff.failed()
            logger.info("Team: Sync asked to slow down (%s); next try in %.1f s", exc, delay)
            return delay
        except NotJoined as exc:
            self._publish(problem=str(exc))
            return 60.0
        except Missing as exc:
            # The team service or one of its maps is gone: most likely two laptops created
            # the team at once and the one we joined was the copy its maker deleted.
            # Join again (the oldest left), and read the team before sharing local edits.
            delay = self._backoff.failed()
            logger.info("Team: the team's Sync service is gone (%s); joining again", exc)
            self._joined = self._synced_once = False
            self.client.leave_service()
            self._publish()
            return delay
        except TwilioProblem as problem:
            delay = self._backoff.failed()
            self._publish(problem=str(problem))
            logger.info("Team: Sync unreachable (%s); next try in %.1f s", problem, delay)
            return delay
        now = time.monotonic()
        dues = [*self._due.values()]
        if self._lookups:
            dues.append(min(at for at, _n in self._lookups.values()))
        return max(0.02, min(dues) - now) if dues else None

    def _join(self) -> None:
        self.client.join(create=self._create)
        for name in (SHARED_MAP, LIVE_MAP, SENT_MAP):
            self.client.ensure_map(name)
        self._joined = True
        logger.info("Team: joined as %s (%s)", self._name(), self.laptop_id)

    def _owner_changed(self, owner: bool) -> None:
        self._due["presence"] = 0.0  # tell the others at once
        self._publish()
        if self._on_owner_changed is not None:
            try:
                self._on_owner_changed(owner)
            except Exception:
                logger.exception("Team: reacting to the webhook lease failed")

    def _say_online(self) -> None:
        ttl = max(3, round(self.timings.presence_s * 3))
        data = {"laptop": self.laptop_id, "name": self._name(), "owner": self.lease.owner}
        self.client.put_item(LIVE_MAP, f"p{self.laptop_id}", data, ttl=ttl)

    def _send_typing(self) -> None:
        self._end_typing_where_sent()
        with self._lock:
            keys, self._typing_queue = self._typing_queue, []
        for key in keys:
            data = {"laptop": self.laptop_id, "name": self._name()}
            self.client.put_item(LIVE_MAP, key, data, ttl=self.timings.typing_ttl_s)
            with self._lock:
                self._typing_live[key] = time.monotonic()

    def _end_typing_where_sent(self) -> None:
        """Staff sent the text they were typing: "Sam is replying…" ends for colleagues at
        their next read instead of lasting its TTL.  Keystrokes after the send count anew."""
        with self._lock:
            sent, self._sent = self._sent, {}
        reader = self._store.reader()
        for message_id, at in sent.items():
            found = local.message(reader, message_id)
            if found is None or found.automatic:
                continue
            facts = local.conversation(reader, found.conversation_id)
            if facts is None:
                continue
            key = typing_key(facts.our_number, facts.contact_number)
            with self._lock:
                if self._typing_sent.get(key, -1e9) > at:
                    continue  # typing again already: that entry stays
                self._typing_sent.pop(key, None)
                if key in self._typing_queue:
                    self._typing_queue.remove(key)
                put_at = self._typing_live.pop(key, None)
            if put_at is not None and time.monotonic() - put_at < self.timings.typing_ttl_s:
                self.client.delete_item(LIVE_MAP, key)

    def _read_colleagues(self) -> None:
        self.live.refresh(always=True)
        changed = self.shared.refresh(always=not self._synced_once)
        for key, entry in changed.items():
            self._apply_remote(
                key, {**entry.data, **(self.pending.patch_for(SHARED_MAP, key) or {})}
            )
        if not self._synced_once:
            self._synced_once = True
            self._share_local_state()
        self._publish()

    def _share_local_state(self) -> None:
        """Joining: what this laptop knew before (names, the setup) goes to the team
        where the team has nothing yet."""
        if self._setup is not None and self.shared.get(SETUP_KEY) is None:
            with self._lock:
                self._setup_dirty = True
        rows = self._store.reader().execute("SELECT id FROM conversations").fetchall()
        with self._lock:
            self._conversations.update(int(r[0]) for r in rows)

    def _apply_remote(self, key: str, data: dict[str, Any]) -> None:
        writer = self._store.writer
        if key == SETUP_KEY:
            self._apply_setup(data)
        elif key.startswith("c"):
            number = "+" + key[1:]
            name, note = str(data.get("name", "")), str(data.get("note", ""))
            writer.call(lambda tx: local.apply_contact(tx, number, name, note))
        elif key.startswith("v") and "read_at" in data:
            ours, _sep, theirs = key[1:].partition("-")
            found = local.conversation_by_numbers(self._store.reader(), "+" + ours, "+" + theirs)
            read_at = int(data["read_at"])
            if found is not None and found.unread:
                writer.call(lambda tx: local.mark_read_up_to(tx, found.conversation_id, read_at))

    def _apply_setup(self, data: dict[str, Any]) -> None:
        if self._setup is None:
            return
        from desktop.domain.frontdesk_setup import SetupFileError, parse_setup, setup_to_json

        try:
            incoming = parse_setup(data, self._setup.current)
        except SetupFileError as exc:
            logger.warning("Team: a colleague's front-desk setup was refused: %s", exc)
            return
        if setup_to_json(incoming) == setup_to_json(self._setup.current):
            return
        with self._lock:
            self._applying_setup = True
        try:
            self._setup.replace(incoming)
        finally:
            with self._lock:
                self._applying_setup = False

    def _notice_local_changes(self) -> None:
        if not self._synced_once:
            return  # colleagues' values first, so an old local name does not win
        with self._lock:
            conversations, self._conversations = self._conversations, set()
            messages, self._messages = self._messages, set()
            setup_dirty, self._setup_dirty = self._setup_dirty, False
        reader = self._store.reader()
        for conversation_id in conversations:
            facts = local.conversation(reader, conversation_id)
            if facts is not None:
                self._notice_conversation(facts)
        for message_id in messages:
            found = local.message(reader, message_id)
            if found is not None:
                self._notice_message(found)
        if setup_dirty and self._setup is not None:
            from desktop.domain.frontdesk_setup import setup_to_json

            self._queue(Edit(SHARED_MAP, SETUP_KEY, setup_to_json(self._setup.current), True))

    def _notice_conversation(self, facts: local.ConversationFacts) -> None:
        key = contact_key(facts.contact_number)
        known = self._known(key)
        patch: dict[str, Any] = {}
        if facts.name != known.get("name", ""):
            patch["name"] = facts.name
        if facts.note != known.get("note", ""):
            patch["note"] = facts.note
        if patch:
            patch["by"] = self._name()
            self._queue(Edit(SHARED_MAP, key, patch))
        conversation = conversation_key(facts.our_number, facts.contact_number)
        read_at = int(self._known(conversation).get("read_at", 0))
        if facts.unread == 0 and facts.last_inbound_ms > read_at:
            self._queue(Edit(SHARED_MAP, conversation, {"read_at": facts.last_inbound_ms}))

    def _notice_message(self, found: local.MessageFacts) -> None:
        if found.direction != "outbound" or not found.sid or found.sent_by or found.automatic:
            return
        if found.source == "app":
            name = self._name()
            self._store.writer.call(lambda tx: local.set_sent_by(tx, found.sid, name))
            self._queue(Edit(SENT_MAP, found.sid, {"by": name}))
        elif found.sid not in self._lookups:
            self._lookups[found.sid] = (time.monotonic(), 0)

    def _flush(self) -> None:
        while (edit := self.pending.first()) is not None:
            if edit.map_name == SENT_MAP:
                self.client.put_item(SENT_MAP, edit.key, edit.patch, ttl=SENT_BY_TTL_S)
            else:
                self.shared.write(edit)
            self.pending.done(edit)

    def _lookup_senders(self, now: float) -> None:
        for sid, (at, attempts) in list(self._lookups.items()):
            if at > now:
                continue
            entry = self.client.get_item(SENT_MAP, sid)
            if entry is not None and entry.data.get("by"):
                name = str(entry.data["by"])
                self._store.writer.call(functools.partial(local.set_sent_by, sid=sid, name=name))
                del self._lookups[sid]
            elif attempts + 1 >= LOOKUP_ATTEMPTS:
                del self._lookups[sid]
            else:
                self._lookups[sid] = (now + LOOKUP_RETRY_S, attempts + 1)

    # -- status ---------------------------------------------------------------------------------

    def _members(self) -> tuple[Member, ...]:
        holder: Holder | None = self.lease.holder
        members: dict[str, Member] = {}
        for key, entry in self.live.entries().items():
            if key.startswith("p"):
                laptop = str(entry.data.get("laptop", key[1:]))
                members[laptop] = Member(
                    laptop,
                    str(entry.data.get("name", "")),
                    holder is not None and holder.laptop_id == laptop,
                    laptop == self.laptop_id,
                )
        members[self.laptop_id] = Member(self.laptop_id, self._name(), self.lease.owner, True)
        return tuple(sorted(members.values(), key=lambda m: (not m.me, m.name.lower())))

    def _publish(self, *, problem: str | None = None) -> None:
        holder = self.lease.holder
        with self._lock:
            status = TeamStatus(
                joined=self._joined,
                synced=self._synced_once,
                owner=self.lease.owner,
                holder=holder.name if holder else "",
                members=self._members(),
                problem=self._status.value.problem if problem is None else problem,
                pending_edits=len(self.pending),
            )
        self._status.replace(status)  # listeners hear of it only when something changed
