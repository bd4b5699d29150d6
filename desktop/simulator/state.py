"""The simulator's records and the thread-safe store that holds them.

Records are plain mutable dataclasses that live behind one lock; anything handed out of
the store is a snapshot copy, so callers in other threads (the REST server, tests, the
demo script) never see a half-updated message.
"""

from __future__ import annotations

import copy
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, TypeVar

API_VERSION: Final = "2010-04-01"

_T = TypeVar("_T")


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def new_secret() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Geo:
    """Where Twilio thinks a number is; sent as ``FromCity``/``FromState``/… when known."""

    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""


@dataclass(slots=True)
class Account:
    sid: str
    auth_token: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    status: str = "active"
    #: API key SID -> secret.
    api_keys: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PhoneNumber:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    capabilities: dict[str, bool] = field(
        default_factory=lambda: {"sms": True, "mms": True, "voice": True, "fax": False}
    )
    sms_url: str = ""
    sms_method: str = "POST"
    sms_fallback_url: str = ""
    sms_fallback_method: str = "POST"
    status_callback: str = ""
    geo: Geo = field(default_factory=Geo)
    number_type: str = "local"


@dataclass(slots=True)
class Media:
    sid: str
    message_sid: str
    account_sid: str
    content_type: str
    data: bytes
    date_created: datetime


@dataclass(slots=True)
class Message:
    sid: str
    account_sid: str
    from_: str
    to: str
    body: str
    direction: str
    status: str
    num_segments: int
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    price_unit: str = "USD"
    messaging_service_sid: str | None = None
    media: list[Media] = field(default_factory=list)
    #: How many media Twilio announced; outbound media count before they are fetched.
    num_media: int = 0
    status_callback: str = ""
    #: When Twilio will send a message created with ``ScheduleType=fixed``.
    send_at: datetime | None = None
    #: Insertion order, to break ties between messages created in the same microsecond.
    seq: int = 0

    @property
    def sent_day(self) -> date:
        """The GMT day the ``DateSent`` filters look at."""
        return (self.date_sent or self.date_created).date()


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One HTTP request the simulator made to the outside (webhook, status, media fetch)."""

    kind: str  # "incoming" | "fallback" | "status" | "media_fetch"
    url: str
    method: str
    params: tuple[tuple[str, str], ...]
    message_sid: str
    status_code: int | None
    response_body: str
    content_type: str
    error: str = ""
    error_code: int | None = None
    duration: float = 0.0
    signature: str = ""
    request_headers: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """What listeners hear about: ``message_created``, ``message_updated``, ``number_updated``."""

    kind: str
    message: Message | None = None
    number: PhoneNumber | None = None


Listener = Callable[[SimEvent], None]


class SimState:
    """All accounts, numbers, messages and delivery records, behind one condition lock."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._accounts: dict[str, Account] = {}
        self._numbers: dict[str, PhoneNumber] = {}
        self._messages: dict[str, Message] = {}
        self._opt_outs: set[tuple[str, str]] = set()
        self._deliveries: list[DeliveryAttempt] = []
        self._create_counts: dict[tuple[str, str], int] = {}
        self._create_attempts: dict[tuple[str, str], int] = {}
        self._listeners: list[Listener] = []
        self._seq = 0

    # -- listeners -------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        with self._cond:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _emit(self, event: SimEvent) -> None:
        """Tell listeners outside the lock so they may call back into the store."""
        with self._cond:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.25))
        return True

    def _changed(self) -> None:
        self._cond.notify_all()

    # -- accounts, keys, numbers (services: desktop.simulator.messaging_state) ----------

    def add_account(self, account: Account) -> Account:
        with self._cond:
            self._accounts[account.sid] = account
            self._changed()
        return copy.deepcopy(account)

    def account(self, sid: str) -> Account | None:
        with self._cond:
            found = self._accounts.get(sid)
            return copy.deepcopy(found) if found else None

    def add_api_key(self, account_sid: str, key_sid: str, secret: str) -> None:
        with self._cond:
            self._accounts[account_sid].api_keys[key_sid] = secret

    def account_for_key(self, key_sid: str, secret: str) -> Account | None:
        """The account an API key belongs to, if ``secret`` is right (constant-time)."""
        with self._cond:
            for account in self._accounts.values():
                expected = account.api_keys.get(key_sid)
                if expected is not None and hmac.compare_digest(expected.encode(), secret.encode()):
                    return copy.deepcopy(account)
        return None

    def add_number(self, number: PhoneNumber) -> PhoneNumber:
        with self._cond:
            self._numbers[number.sid] = number
            self._changed()
        return copy.deepcopy(number)

    def numbers(self, account_sid: str | None = None) -> list[PhoneNumber]:
        with self._cond:
            found = [
                copy.deepcopy(n)
                for n in self._numbers.values()
                if account_sid is None or n.account_sid == account_sid
            ]
        found.sort(key=lambda n: (n.date_created, n.sid))
        return found

    def number_by_sid(self, sid: str) -> PhoneNumber | None:
        with self._cond:
            found = self._numbers.get(sid)
            return copy.deepcopy(found) if found else None

    def number_by_phone(self, phone: str) -> PhoneNumber | None:
        with self._cond:
            for number in self._numbers.values():
                if number.phone_number == phone:
                    return copy.deepcopy(number)
        return None

    def update_number(self, sid: str, now: datetime, **changes: str) -> PhoneNumber:
        with self._cond:
            number = self._numbers[sid]
            for name, value in changes.items():
                setattr(number, name, value)
            number.date_updated = now
            self._changed()
            snapshot = copy.deepcopy(number)
        self._emit(SimEvent("number_updated", number=snapshot))
        return snapshot

    # -- opt-out ----------------------------------------------------------------------

    def set_opted_out(self, customer: str, our_number: str, opted_out: bool) -> None:
        with self._cond:
            if opted_out:
                self._opt_outs.add((customer, our_number))
            else:
                self._opt_outs.discard((customer, our_number))
            self._changed()

    def is_opted_out(self, customer: str, our_number: str) -> bool:
        with self._cond:
            return (customer, our_number) in self._opt_outs

    # -- messages ---------------------------------------------------------------------

    def add_message(self, message: Message, *, via_api: bool = False) -> Message:
        return self.add_messages([message], via_api=via_api, emit=True)[0]

    def add_messages(
        self, messages: Iterable[Message], *, via_api: bool = False, emit: bool = True
    ) -> list[Message]:
        snapshots: list[Message] = []
        with self._cond:
            for message in messages:
                self._seq += 1
                message.seq = self._seq
                self._messages[message.sid] = message
                if via_api:
                    key = (message.to, message.body)
                    self._create_counts[key] = self._create_counts.get(key, 0) + 1
                if emit:
                    snapshots.append(copy.deepcopy(message))
            self._changed()
        for snapshot in snapshots:
            self._emit(SimEvent("message_created", message=snapshot))
        return snapshots

    def count_create_attempt(self, to: str, body: str) -> None:
        with self._cond:
            key = (to, body)
            self._create_attempts[key] = self._create_attempts.get(key, 0) + 1

    def create_count(self, to: str, body: str) -> int:
        with self._cond:
            return self._create_counts.get((to, body), 0)

    def create_attempt_count(self, to: str, body: str) -> int:
        with self._cond:
            return self._create_attempts.get((to, body), 0)

    def message(self, sid: str) -> Message | None:
        with self._cond:
            found = self._messages.get(sid)
            return copy.deepcopy(found) if found else None

    def update_message(self, sid: str, mutate: Callable[[Message], None]) -> Message:
        with self._cond:
            message = self._messages[sid]
            mutate(message)
            self._changed()
            snapshot = copy.deepcopy(message)
        self._emit(SimEvent("message_updated", message=snapshot))
        return snapshot

    def messages(
        self,
        account_sid: str | None = None,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on: date | None = None,
        sent_after: date | None = None,
        sent_before: date | None = None,
        select: Callable[[list[Message]], list[Message]] | None = None,
    ) -> list[Message]:
        """Matching messages, newest first, as Twilio lists them.

        ``select`` picks a page out of the sorted list while the lock is held, so listing
        thousands of messages page by page copies only the page.
        """
        with self._cond:
            found = [
                m
                for m in self._messages.values()
                if (account_sid is None or m.account_sid == account_sid)
                and (to is None or m.to == to)
                and (from_ is None or m.from_ == from_)
                and (sent_on is None or m.sent_day == sent_on)
                and (sent_after is None or m.sent_day >= sent_after)
                and (sent_before is None or m.sent_day <= sent_before)
            ]
            found.sort(key=message_sort_key, reverse=True)
            if select is not None:
                found = select(found)
            # Media bytes are shared, not copied: they are never mutated.
            return [_shallow_message_copy(m) for m in found]

    def media(self, message_sid: str, media_sid: str) -> Media | None:
        with self._cond:
            message = self._messages.get(message_sid)
            if message is None:
                return None
            return next((copy.copy(m) for m in message.media if m.sid == media_sid), None)

    def find_media(self, media_sid: str) -> Media | None:
        with self._cond:
            for message in self._messages.values():
                for media in message.media:
                    if media.sid == media_sid:
                        return copy.copy(media)
        return None

    # -- delivery log -----------------------------------------------------------------

    def record_delivery(self, attempt: DeliveryAttempt) -> None:
        with self._cond:
            self._deliveries.append(attempt)
            self._changed()

    def deliveries(
        self, kind: str | None = None, message_sid: str | None = None
    ) -> list[DeliveryAttempt]:
        with self._cond:
            return [
                d
                for d in self._deliveries
                if (kind is None or d.kind == kind)
                and (message_sid is None or d.message_sid == message_sid)
            ]


def message_sort_key(message: Message) -> tuple[datetime, int]:
    return (message.date_sent or message.date_created, message.seq)


def _shallow_message_copy(message: Message) -> Message:
    clone = copy.copy(message)
    clone.media = [copy.copy(m) for m in message.media]
    return clone
