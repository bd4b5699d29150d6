"""Making our number's texts reach Twoway without clobbering anyone else's webhook.

Where Twilio posts a number's texts depends on its Messaging Service (see
:func:`desktop.gateway.messaging_types.inbound_route`): the number's ``SmsUrl`` when it is
in no service or its service defers to the number, else the service's
``inbound_request_url``.  Whichever decides, the same rule applies.  Silently overwriting
another app's webhook is a known complaint about Twilio tools, so:

- an empty address, Twilio's welcome placeholder, or one Twoway itself set earlier (a free
  ngrok address changes on every start) is taken over without asking — except a service
  address that also routes other numbers: changing it moves their texts too, so that
  needs the user's consent, and the question names them;
- anything else is left alone until the user agrees (``force=True``); the result says
  where texts go now;
- before changing anything the previous value is remembered — a number's ``SmsUrl`` in
  ``Settings.previous_sms_urls``, a service's setting as a :class:`ServiceRouteBackup` (see
  :class:`ServiceRouteMemory`) — so it can be put back on request, or on quit when the user
  chose "only while Twoway runs".  Restoring never overwrites a value someone else set
  after us, unless forced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol
from urllib.parse import urlsplit

from desktop.config import ServiceRoute, Settings
from desktop.gateway.messaging_types import (
    InboundRoute,
    MessagingService,
    RouteOwner,
    inbound_route,
)
from desktop.gateway.rest_types import IncomingNumber
from desktop.guarded import GuardedValue
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.sync.messaging_services import DirectorySource, ServiceDirectoryCache
from desktop.sync.urls import sms_url

logger = logging.getLogger(__name__)

OURS_KEY_PREFIX: Final = "webhook.ours."
#: Twilio points new numbers at its own welcome reply; replacing it loses nothing.
PLACEHOLDER_HOSTS: Final = frozenset({"demo.twilio.com"})
#: Where :class:`ServiceRouteMemory` keeps its records in the settings file.


class WebhookOutcome(StrEnum):
    POINTED = "pointed"  # changed to our URL just now
    ALREADY = "already"  # it already pointed here
    FOREIGN = "foreign"  # another app's URL (or other numbers' route): nothing changed, ask
    RESTORED = "restored"
    NOTHING_TO_RESTORE = "nothing_to_restore"
    CHANGED_ELSEWHERE = "changed_elsewhere"  # restore refused: re-pointed by someone else


@dataclass(frozen=True)
class WebhookResult:
    outcome: WebhookOutcome
    number_sid: str
    phone_number: str
    #: Where the number's texts go now (the number's SmsUrl or its service's URL).
    current_url: str
    #: The value Twoway will restore (None when it has nothing to restore).
    previous_url: str | None
    #: A sentence for the settings page or a question dialog.
    message: str
    #: The Messaging Service whose address decides ("": the number's own SmsUrl decides).
    service_sid: str = ""
    #: Other numbers whose texts move too when that service's address changes.
    affected_numbers: tuple[str, ...] = ()

    @property
    def points_here(self) -> bool:
        return self.outcome in (WebhookOutcome.POINTED, WebhookOutcome.ALREADY)

    @property
    def needs_consent(self) -> bool:
        return self.outcome is WebhookOutcome.FOREIGN


@dataclass(frozen=True)
class ServiceRouteBackup:
    """A Messaging Service's incoming-message setting as it was before Twoway changed it.

    Stored in the settings file under ``previous_service_routes`` (by service SID):
    ``{"MG…": {"inbound_request_url", "inbound_method", "fallback_url",
    "use_inbound_webhook_on_number", "number_sid"}}`` — no secrets, nothing per message.
    """

    service_sid: str
    inbound_request_url: str
    inbound_method: str = "POST"
    fallback_url: str = ""
    use_inbound_webhook_on_number: bool = False
    #: The number Twoway was setting up when it changed the service.
    number_sid: str = ""

    def route(self) -> ServiceRoute:
        return ServiceRoute(
            inbound_request_url=self.inbound_request_url,
            inbound_method=self.inbound_method,
            fallback_url=self.fallback_url,
            use_inbound_webhook_on_number=self.use_inbound_webhook_on_number,
            number_sid=self.number_sid,
        )

    @classmethod
    def of_route(cls, service_sid: str, route: ServiceRoute) -> ServiceRouteBackup:
        return cls(
            service_sid,
            route.inbound_request_url,
            route.inbound_method.upper() or "POST",
            route.fallback_url,
            route.use_inbound_webhook_on_number,
            route.number_sid,
        )

    @classmethod
    def of(cls, service: MessagingService, number_sid: str) -> ServiceRouteBackup:
        return cls(
            service.sid,
            service.inbound_request_url.strip(),
            service.inbound_method or "POST",
            service.fallback_url.strip(),
            service.use_inbound_webhook_on_number,
            number_sid,
        )


class ServiceRouteMemory:
    """The :class:`ServiceRouteBackup` records, in the settings (``previous_service_routes``)."""

    def __init__(self, settings: GuardedValue[Settings]) -> None:
        self._settings = settings

    def all(self) -> tuple[ServiceRouteBackup, ...]:
        return _backups(self._settings.value)

    def get(self, service_sid: str) -> ServiceRouteBackup | None:
        return next((b for b in self.all() if b.service_sid == service_sid), None)

    def put(self, backup: ServiceRouteBackup) -> None:
        self._settings.update(
            lambda s: s.with_previous_service_route(backup.service_sid, backup.route())
        )

    def drop(self, service_sid: str) -> None:
        self._settings.update(lambda s: s.with_previous_service_route(service_sid, None))


def _backups(settings: Settings) -> tuple[ServiceRouteBackup, ...]:
    return tuple(
        ServiceRouteBackup.of_route(sid, route)
        for sid, route in settings.previous_service_routes.items()
    )


def previous_address(settings: Settings, number_sid: str) -> str | None:
    """What texts to this number went to before Twoway ("" = nowhere), or None when Twoway
    changed nothing for it (for the settings dialog, which cannot ask Twilio)."""
    for backup in _backups(settings):
        if backup.number_sid == number_sid:
            return backup.inbound_request_url
    return settings.previous_sms_urls.get(number_sid)


class NumberGateway(Protocol):
    def fetch_number(self, number_sid: str) -> IncomingNumber: ...

    def set_sms_url(self, number_sid: str, url: str, method: str = "POST") -> IncomingNumber: ...

    @property
    def messaging(self) -> ServiceGateway: ...


class ServiceGateway(DirectorySource, Protocol):
    def update_service_inbound(
        self,
        service_sid: str,
        *,
        inbound_request_url: str | None = None,
        inbound_method: str | None = None,
        fallback_url: str | None = None,
        fallback_method: str | None = None,
        use_inbound_webhook_on_number: bool | None = None,
    ) -> MessagingService: ...


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


def _listing(numbers: tuple[str, ...]) -> str:
    if len(numbers) <= 3:
        return ", ".join(numbers)
    return f"{', '.join(numbers[:3])} and {len(numbers) - 3} more"


class WebhookConfigurator:
    """Blocking calls (network): run them off the GUI thread."""

    def __init__(
        self,
        gateway: NumberGateway,
        store: Store,
        settings: GuardedValue[Settings],
        *,
        services: ServiceDirectoryCache | None = None,
    ) -> None:
        self._gateway = gateway
        self._store = store
        self._settings = settings
        self.services = services or ServiceDirectoryCache(lambda: gateway.messaging)
        self.service_routes = ServiceRouteMemory(settings)

    def previous_url(self, number_sid: str) -> str | None:
        """What Twoway would restore for this number (its service's or its own address)."""
        directory = self.services.last
        service = directory.service_of(number_sid) if directory is not None else None
        backup = self.service_routes.get(service.sid) if service is not None else None
        if backup is not None:
            return backup.inbound_request_url
        return self._settings.value.previous_sms_urls.get(number_sid)

    def _our_last_url(self, sid: str) -> str:
        value = queries.sync_value(self._store.reader(), OURS_KEY_PREFIX + sid, "")
        return value if isinstance(value, str) else ""

    def _remember_ours(self, sid: str, url: str) -> None:
        self._store.writer.call(lambda tx: writes.set_sync_value(tx, OURS_KEY_PREFIX + sid, url))

    def is_ours(self, sid: str, url: str, public_url: str | None = None) -> bool:
        """Set by this Twoway on the number or service ``sid``: the current target, or the
        last one it set there."""
        if public_url and same_url(url, sms_url(public_url)):
            return True
        return same_url(url, self._our_last_url(sid))

    def route(self, number_sid: str) -> tuple[IncomingNumber, InboundRoute]:
        """Where Twilio posts this number's texts right now (reads Twilio)."""
        number = self._gateway.fetch_number(number_sid)
        return number, inbound_route(number, self.services.refresh())

    # -- taking over -----------------------------------------------------------------------

    def configure(self, number_sid: str, public_url: str, *, force: bool = False) -> WebhookResult:
        """Make the number's texts reach ``public_url`` + /twilio/sms (see the module doc)."""
        number, route = self.route(number_sid)
        target = sms_url(public_url)
        if route.owner is RouteOwner.SERVICE and route.service is not None:
            return self._configure_service(number, route, route.service, target, public_url, force)
        return self._configure_number(number, route, target, public_url, force)

    def _configure_number(
        self,
        number: IncomingNumber,
        route: InboundRoute,
        target: str,
        public_url: str,
        force: bool,
    ) -> WebhookResult:
        current = number.sms_url.strip()
        if same_url(current, target) and number.sms_method.upper() == "POST":
            self._remember_ours(number.sid, target)
            return self._result(WebhookOutcome.ALREADY, number, current, route=route)
        ours = bool(current) and self.is_ours(number.sid, current, public_url)
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
                route=route,
            )
        if not ours:
            self._settings.update(lambda s: s.with_previous_sms_url(number.sid, current))
        updated = self._gateway.set_sms_url(number.sid, target, "POST")
        self._remember_ours(number.sid, target)
        logger.info("Pointed %s at Twoway", number.e164)
        return self._result(WebhookOutcome.POINTED, updated, updated.sms_url.strip(), route=route)

    def _configure_service(
        self,
        number: IncomingNumber,
        route: InboundRoute,
        service: MessagingService,
        target: str,
        public_url: str,
        force: bool,
    ) -> WebhookResult:
        current = route.url
        others = route.other_numbers
        if same_url(current, target) and service.inbound_method.upper() == "POST":
            self._remember_ours(service.sid, target)
            return self._result(WebhookOutcome.ALREADY, number, current, route=route)
        ours = bool(current) and self.is_ours(service.sid, current, public_url)
        free = not current or is_placeholder(current)
        if not ours and not force and (not free or others):
            logger.info(
                "%s's service %s: not changing it without consent", number.e164, service.sid
            )
            return self._result(
                WebhookOutcome.FOREIGN, number, current, self._consent_text(route), route=route
            )
        if not ours:
            self.service_routes.put(ServiceRouteBackup.of(service, number.sid))
        updated = self._gateway.messaging.update_service_inbound(
            service.sid, inbound_request_url=target, inbound_method="POST"
        )
        self._remember_ours(service.sid, target)
        self.services.refresh()
        logger.info("Pointed Messaging Service %s (for %s) at Twoway", service.sid, number.e164)
        also = f" Texts to {_listing(others)} now come to Twoway too." if others else ""
        return self._result(
            WebhookOutcome.POINTED,
            number,
            updated.inbound_request_url.strip(),
            f"{number.e164} sends incoming texts to Twoway through its Messaging Service "
            f"{service.label}.{also}",
            route=route,
        )

    def _consent_text(self, route: InboundRoute) -> str:
        service = route.service
        assert service is not None
        others = route.other_numbers
        if route.url:
            now = (
                f"{route.phone_number} is in the Messaging Service {service.label}, which sends "
                f"its incoming texts to {route.url} (the number's own webhook is ignored)."
            )
        else:
            now = (
                f"Twilio drops texts to {route.phone_number}: its Messaging Service "
                f"{service.label} has no address for incoming messages."
            )
        moves = (
            f" Changing it also sends the texts of {_listing(others)} to Twoway." if others else ""
        )
        return (
            f"{now}{moves} Twoway changed nothing. Let Twoway receive them instead? You can "
            "put the old setting back later in Settings."
        )

    # -- giving back -------------------------------------------------------------------------

    def restore(self, number_sid: str, *, force: bool = False) -> WebhookResult:
        """Put back what Twoway replaced (the service's setting and/or the number's
        ``SmsUrl``); never over someone else's later change unless forced."""
        number, route = self.route(number_sid)
        service = route.service
        backup = self.service_routes.get(service.sid) if service is not None else None
        previous_sms = self._settings.value.previous_sms_urls.get(number_sid)
        if backup is None and previous_sms is None:
            return self._result(
                WebhookOutcome.NOTHING_TO_RESTORE,
                number,
                route.url,
                "Twoway has not changed where this number's texts go, so there is nothing "
                "to restore.",
                route=route,
            )
        said: list[str] = []
        if backup is not None and service is not None:
            current = service.inbound_request_url.strip()
            if current and not self.is_ours(service.sid, current) and not force:
                return self._result(
                    WebhookOutcome.CHANGED_ELSEWHERE,
                    number,
                    route.url,
                    f"The Messaging Service {service.label} now sends incoming texts to "
                    f"{current}, which was set after Twoway. Twoway left it alone.",
                    route=route,
                )
            self._gateway.messaging.update_service_inbound(
                service.sid,
                inbound_request_url=backup.inbound_request_url,
                inbound_method=backup.inbound_method,
                use_inbound_webhook_on_number=backup.use_inbound_webhook_on_number,
            )
            self.service_routes.drop(service.sid)
            self._remember_ours(service.sid, "")
            where = backup.inbound_request_url or "no address (texts are dropped again)"
            said.append(f"The Messaging Service {service.label} sends incoming texts to {where}.")
            logger.info("Restored the incoming-message setting of %s", service.sid)
        if previous_sms is not None:
            current = number.sms_url.strip()
            if current and not self.is_ours(number_sid, current) and not force:
                if not said:
                    return self._result(
                        WebhookOutcome.CHANGED_ELSEWHERE,
                        number,
                        route.url,
                        f"{number.e164} now sends incoming texts to {current}, which was set "
                        "after Twoway. Twoway left it alone.",
                        route=route,
                    )
            else:
                number = self._gateway.set_sms_url(number_sid, previous_sms, "POST")
                self._settings.update(lambda s: s.with_previous_sms_url(number_sid, None))
                self._remember_ours(number_sid, "")
                where = previous_sms or "no address (the number's webhook is empty again)"
                said.append(f"{number.e164} sends incoming texts to {where} again.")
                logger.info("Restored the webhook of %s", number.e164)
        number, after = self.route(number_sid)
        return WebhookResult(
            WebhookOutcome.RESTORED,
            number_sid,
            number.e164,
            after.url,
            self.previous_url(number_sid),
            " ".join(said),
            after.service.sid if after.owner is RouteOwner.SERVICE and after.service else "",
            after.other_numbers,
        )

    def _result(
        self,
        outcome: WebhookOutcome,
        number: IncomingNumber,
        current: str,
        message: str = "",
        *,
        route: InboundRoute,
    ) -> WebhookResult:
        owner = route.service if route.owner is RouteOwner.SERVICE else None
        if not message:
            via = f" through its Messaging Service {owner.label}" if owner is not None else ""
            message = f"{number.e164} sends incoming texts to Twoway{via}."
        return WebhookResult(
            outcome,
            number.sid,
            number.e164,
            current,
            self.previous_url(number.sid),
            message,
            owner.sid if owner is not None else "",
            route.other_numbers,
        )
