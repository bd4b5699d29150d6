"""Pointing our number's ``SmsUrl`` at Twoway without clobbering anyone else's.

Silently overwriting another app's webhook is a known complaint about Twilio tools, so:
an empty ``sms_url``, or one Twoway itself set earlier (a free ngrok address changes on
every start), is taken over without asking; anything else is left alone until the user
agrees (``force=True``).  Before changing it, the previous value is remembered in the
settings (``previous_sms_urls`` by number SID) so it can be put back on request, or on
quit when the user chose "only while Twoway runs".  Restoring never overwrites a value
someone else set after us, unless forced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol
from urllib.parse import urlsplit

from desktop.config import Settings
from desktop.gateway.rest_types import IncomingNumber
from desktop.guarded import GuardedValue
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.sync.urls import sms_url

logger = logging.getLogger(__name__)

OURS_KEY_PREFIX: Final = "webhook.ours."
#: Twilio points new numbers at its own welcome reply; replacing it loses nothing.
PLACEHOLDER_HOSTS: Final = frozenset({"demo.twilio.com"})


class WebhookOutcome(StrEnum):
    POINTED = "pointed"  # changed to our URL just now
    ALREADY = "already"  # it already pointed here
    FOREIGN = "foreign"  # another app's URL: nothing changed, ask the user
    RESTORED = "restored"
    NOTHING_TO_RESTORE = "nothing_to_restore"
    CHANGED_ELSEWHERE = "changed_elsewhere"  # restore refused: re-pointed by someone else


@dataclass(frozen=True)
class WebhookResult:
    outcome: WebhookOutcome
    number_sid: str
    phone_number: str
    #: Where the number sends incoming texts now.
    current_url: str
    #: The value Twoway will restore (None when it has nothing to restore).
    previous_url: str | None
    #: A sentence for the settings page or a question dialog.
    message: str

    @property
    def points_here(self) -> bool:
        return self.outcome in (WebhookOutcome.POINTED, WebhookOutcome.ALREADY)

    @property
    def needs_consent(self) -> bool:
        return self.outcome is WebhookOutcome.FOREIGN


class NumberGateway(Protocol):
    def fetch_number(self, number_sid: str) -> IncomingNumber: ...

    def set_sms_url(self, number_sid: str, url: str, method: str = "POST") -> IncomingNumber: ...


def same_url(a: str, b: str) -> bool:
    """Equal ignoring surrounding space, a trailing slash and the case of scheme and host."""

    def norm(url: str) -> str:
        parts = urlsplit(url.strip())
        path = parts.path.rstrip("/")
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}?{parts.query}"

    return bool(a.strip()) and bool(b.strip()) and norm(a) == norm(b)


def is_placeholder(url: str) -> bool:
    """Twilio's default "welcome" webhook of a new number."""
    return (urlsplit(url.strip()).hostname or "").lower() in PLACEHOLDER_HOSTS


class WebhookConfigurator:
    """Blocking calls (network): run them off the GUI thread."""

    def __init__(
        self,
        gateway: NumberGateway,
        store: Store,
        settings: GuardedValue[Settings],
    ) -> None:
        self._gateway = gateway
        self._store = store
        self._settings = settings

    def previous_url(self, number_sid: str) -> str | None:
        return self._settings.value.previous_sms_urls.get(number_sid)

    def _our_last_url(self, number_sid: str) -> str:
        value = queries.sync_value(self._store.reader(), OURS_KEY_PREFIX + number_sid, "")
        return value if isinstance(value, str) else ""

    def _remember_ours(self, number_sid: str, url: str) -> None:
        self._store.writer.call(
            lambda tx: writes.set_sync_value(tx, OURS_KEY_PREFIX + number_sid, url)
        )

    def is_ours(self, number_sid: str, url: str, public_url: str | None = None) -> bool:
        """Set by this Twoway: the current target, or the last one it set on this number."""
        if public_url and same_url(url, sms_url(public_url)):
            return True
        return same_url(url, self._our_last_url(number_sid))

    def configure(self, number_sid: str, public_url: str, *, force: bool = False) -> WebhookResult:
        """Point the number at ``public_url`` + /twilio/sms (see the module docstring)."""
        target = sms_url(public_url)
        number = self._gateway.fetch_number(number_sid)
        current = number.sms_url.strip()
        if same_url(current, target) and number.sms_method.upper() == "POST":
            self._remember_ours(number_sid, target)
            return self._result(WebhookOutcome.ALREADY, number, current)
        ours = bool(current) and self.is_ours(number_sid, current, public_url)
        free = not current or is_placeholder(current)
        if not free and not ours and not force:
            logger.info("%s points at another app; not changing it without consent", number.e164)
            return self._result(
                WebhookOutcome.FOREIGN,
                number,
                current,
                f"{number.e164} already sends incoming texts to {current}. Twoway changed "
                "nothing. Let Twoway receive them instead? You can put the old address back "
                "later in Settings.",
            )
        if not ours:
            self._settings.update(lambda s: s.with_previous_sms_url(number_sid, current))
        updated = self._gateway.set_sms_url(number_sid, target, "POST")
        self._remember_ours(number_sid, target)
        logger.info("Pointed %s at Twoway", number.e164)
        return self._result(WebhookOutcome.POINTED, updated, updated.sms_url.strip())

    def restore(self, number_sid: str, *, force: bool = False) -> WebhookResult:
        """Put back the ``sms_url`` Twoway replaced; never over someone else's later change."""
        previous = self.previous_url(number_sid)
        number = self._gateway.fetch_number(number_sid)
        current = number.sms_url.strip()
        if previous is None:
            return self._result(
                WebhookOutcome.NOTHING_TO_RESTORE,
                number,
                current,
                "Twoway has not changed this number's webhook, so there is nothing to restore.",
            )
        if current and not self.is_ours(number_sid, current) and not force:
            return self._result(
                WebhookOutcome.CHANGED_ELSEWHERE,
                number,
                current,
                f"{number.e164} now sends incoming texts to {current}, which was set after "
                "Twoway. Twoway left it alone.",
            )
        updated = self._gateway.set_sms_url(number_sid, previous, "POST")
        self._settings.update(lambda s: s.with_previous_sms_url(number_sid, None))
        self._remember_ours(number_sid, "")
        where = previous or "no address (the number's webhook is empty again)"
        logger.info("Restored the webhook of %s", number.e164)
        return WebhookResult(
            WebhookOutcome.RESTORED,
            number_sid,
            updated.e164,
            updated.sms_url.strip(),
            None,
            f"{updated.e164} sends incoming texts to {where} again.",
        )

    def _result(
        self, outcome: WebhookOutcome, number: IncomingNumber, current: str, message: str = ""
    ) -> WebhookResult:
        if not message:
            message = f"{number.e164} sends incoming texts to Twoway."
        return WebhookResult(
            outcome, number.sid, number.e164, current, self.previous_url(number.sid), message
        )
