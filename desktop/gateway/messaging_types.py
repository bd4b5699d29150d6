"""Messaging API v1 records (services, A2P 10DLC, toll-free verification) as plain data.

Kept apart from :mod:`desktop.gateway.messaging` so the sync code, the readiness checks and
the UI can use them without importing twilio.  :func:`inbound_route` holds the one rule
for where Twilio posts a number's incoming texts, because the webhook configurator and
the readiness check must never disagree about it:

- a number in no Messaging Service: its own ``SmsUrl``;
- a number in a service whose "incoming messages" setting defers to the sender
  (``use_inbound_webhook_on_number`` true): its own ``SmsUrl`` as well;
- otherwise the service's ``inbound_request_url`` (the number's ``SmsUrl`` is ignored),
  and with an empty one Twilio drops the text: no webhook, nothing in the message log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from desktop.gateway.rest_types import IncomingNumber

#: Campaign statuses of ``Services/{MG}/Compliance/Usa2p``.
CAMPAIGN_VERIFIED: Final = "VERIFIED"
CAMPAIGN_IN_PROGRESS: Final = "IN_PROGRESS"
CAMPAIGN_FAILED: Final = "FAILED"
#: Statuses of ``Tollfree/Verifications``.
TOLLFREE_APPROVED: Final = "TWILIO_APPROVED"
TOLLFREE_REJECTED: Final = "TWILIO_REJECTED"
TOLLFREE_PENDING: Final = frozenset({"PENDING_REVIEW", "IN_REVIEW"})


@dataclass(frozen=True, slots=True)
class MessagingService:
    """``GET /v1/Services/{MG}``: the parts that decide routing and registration."""

    sid: str
    friendly_name: str
    inbound_request_url: str = ""
    inbound_method: str = "POST"
    fallback_url: str = ""
    fallback_method: str = "POST"
    #: True: the number's own SmsUrl decides ("defer to sender's webhook").
    use_inbound_webhook_on_number: bool = False
    us_app_to_person_registered: bool = False
    usecase: str = ""

    @property
    def owns_inbound(self) -> bool:
        """The service's URL, not the number's, receives incoming texts."""
        return not self.use_inbound_webhook_on_number

    @property
    def label(self) -> str:
        """How staff know the service: its name, or its SID when it has none."""
        return f"“{self.friendly_name}”" if self.friendly_name else self.sid


@dataclass(frozen=True, slots=True)
class ServiceNumber:
    """One entry of ``GET /v1/Services/{MG}/PhoneNumbers``."""

    sid: str
    phone_number: str
    country_code: str = ""


@dataclass(frozen=True, slots=True)
class ServiceDirectory:
    """Every Messaging Service of the account and the numbers in each.

    A Twilio number belongs to at most one service, so ``service_of`` is unambiguous.
    """

    services: tuple[MessagingService, ...] = ()
    members: Mapping[str, tuple[ServiceNumber, ...]] = field(default_factory=dict)

    def service_of(self, number: str) -> MessagingService | None:
        """The service holding ``number`` (a PN… SID or an E.164 number), if any."""
        for service in self.services:
            for member in self.members.get(service.sid, ()):
                if number in (member.sid, member.phone_number):
                    return service
        return None

    def numbers_of(self, service_sid: str) -> tuple[ServiceNumber, ...]:
        return self.members.get(service_sid, ())

    def service(self, service_sid: str) -> MessagingService | None:
        return next((s for s in self.services if s.sid == service_sid), None)


class RouteOwner(StrEnum):
    NUMBER = "number"  # the number's SmsUrl decides
    SERVICE = "service"  # the service's inbound_request_url decides


@dataclass(frozen=True, slots=True)
class InboundRoute:
    """Where Twilio posts a number's incoming texts right now."""

    owner: RouteOwner
    phone_number: str
    #: The URL Twilio posts to ("" = nowhere).
    url: str
    method: str = "POST"
    fallback_url: str = ""
    service: MessagingService | None = None
    #: The service's other numbers (E.164): a change to the service's URL moves them too.
    other_numbers: tuple[str, ...] = ()

    @property
    def dropped(self) -> bool:
        """Twilio delivers these texts nowhere (no webhook; with a service, not even logged)."""
        return not self.url

    def describe(self) -> str:
        """One sentence: where texts to this number go, and who decides."""
        service = self.service
        if self.owner is RouteOwner.SERVICE and service is not None:
            if self.dropped:
                return (
                    f"Twilio drops texts to {self.phone_number}: its Messaging Service "
                    f"{service.label} has no address for incoming messages, so they are "
                    "neither delivered nor kept in the message log."
                )
            return (
                f"Twilio posts texts for {self.phone_number} to {self.url}, the address of "
                f"its Messaging Service {service.label} (the number's own webhook is ignored)."
            )
        via = (
            f" (its Messaging Service {service.label} lets the number's own webhook decide)"
            if service is not None
            else ""
        )
        if self.dropped:
            return f"{self.phone_number} has no webhook, so Twilio posts its texts nowhere{via}."
        return f"Twilio posts texts for {self.phone_number} to {self.url}{via}."


def inbound_route(number: IncomingNumber, directory: ServiceDirectory) -> InboundRoute:
    """Apply Twilio's routing rule (see the module docstring) to ``number``."""
    service = directory.service_of(number.sid) or directory.service_of(number.e164)
    if service is None or not service.owns_inbound:
        return InboundRoute(
            RouteOwner.NUMBER,
            number.e164,
            number.sms_url.strip(),
            number.sms_method or "POST",
            service=service,
        )
    others = tuple(
        member.phone_number
        for member in directory.numbers_of(service.sid)
        if member.sid != number.sid and member.phone_number != number.e164
    )
    return InboundRoute(
        RouteOwner.SERVICE,
        number.e164,
        service.inbound_request_url.strip(),
        service.inbound_method or "POST",
        service.fallback_url.strip(),
        service,
        others,
    )


@dataclass(frozen=True, slots=True)
class A2pCampaign:
    """One US A2P 10DLC campaign of a service (``Services/{MG}/Compliance/Usa2p``)."""

    sid: str
    campaign_status: str
    brand_registration_sid: str = ""
    usecase: str = ""
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BrandRegistration:
    """An A2P brand (``a2p/BrandRegistrations``): ``status`` PENDING, APPROVED, FAILED…"""

    sid: str
    status: str
    failure_reason: str = ""
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TollfreeVerification:
    """``Tollfree/Verifications`` for one toll-free number."""

    sid: str
    status: str
    rejection_reason: str = ""
    error_code: int | None = None
    #: ISO 8601; until then a rejected verification can be edited and resubmitted.
    edit_expiration: str = ""
    edit_allowed: bool | None = None
