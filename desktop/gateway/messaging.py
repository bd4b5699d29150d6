"""The Messaging API v1 (``messaging.twilio.com``) through twilio-python's ``client.messaging.v1``.

Reached as :attr:`desktop.gateway.rest.RestGateway.messaging`; every call goes through the
gateway's error handling, so failures are :class:`~desktop.gateway.rest_types.TwilioProblem`
in plain words, and with ``TWOWAY_TWILIO_API_URL`` the requests go to
``<base>/messaging/v1/…`` like every other product.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from desktop.gateway.messaging_types import (
    A2pCampaign,
    BrandRegistration,
    MessagingService,
    ServiceDirectory,
    ServiceNumber,
    TollfreeVerification,
)

if TYPE_CHECKING:
    from desktop.gateway.rest import RestGateway

logger = logging.getLogger(__name__)

_PAGE = 100


class MessagingApi:
    """Blocking calls (network): use them off the GUI thread."""

    def __init__(self, gateway: RestGateway) -> None:
        self._gateway = gateway

    # -- services --------------------------------------------------------------------------

    def list_services(self) -> tuple[MessagingService, ...]:
        records = self._gateway.call(
            "Listing Messaging Services",
            lambda c: list(c.messaging.v1.services.stream(page_size=_PAGE)),
        )
        return tuple(_service(r) for r in records)

    def fetch_service(self, service_sid: str) -> MessagingService:
        record = self._gateway.call(
            "Reading a Messaging Service", lambda c: c.messaging.v1.services(service_sid).fetch()
        )
        return _service(record)

    def service_numbers(self, service_sid: str) -> tuple[ServiceNumber, ...]:
        records = self._gateway.call(
            "Listing a Messaging Service's numbers",
            lambda c: list(
                c.messaging.v1.services(service_sid).phone_numbers.stream(page_size=_PAGE)
            ),
        )
        return tuple(
            ServiceNumber(str(r.sid), str(r.phone_number or ""), str(r.country_code or ""))
            for r in records
        )

    def directory(self) -> ServiceDirectory:
        """Every service and its numbers: one call per service, so call it sparingly."""
        services = self.list_services()
        members = {s.sid: self.service_numbers(s.sid) for s in services}
        return ServiceDirectory(services, members)

    def update_service_inbound(
        self,
        service_sid: str,
        *,
        inbound_request_url: str | None = None,
        inbound_method: str | None = None,
        fallback_url: str | None = None,
        fallback_method: str | None = None,
        use_inbound_webhook_on_number: bool | None = None,
    ) -> MessagingService:
        """``POST /v1/Services/{MG}`` with only the given routing fields."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("inbound_request_url", inbound_request_url),
                ("inbound_method", inbound_method),
                ("fallback_url", fallback_url),
                ("fallback_method", fallback_method),
                ("use_inbound_webhook_on_number", use_inbound_webhook_on_number),
            )
            if value is not None
        }
        record = self._gateway.call(
            "Changing a Messaging Service's incoming-message address",
            lambda c: c.messaging.v1.services(service_sid).update(**changes),
        )
        return _service(record)

    # -- registration ----------------------------------------------------------------------

    def usa2p_campaigns(self, service_sid: str) -> tuple[A2pCampaign, ...]:
        """The service's US A2P 10DLC campaigns (usually one)."""
        records = self._gateway.call(
            "Reading the A2P 10DLC registration",
            lambda c: list(
                c.messaging.v1.services(service_sid).us_app_to_person.stream(page_size=_PAGE)
            ),
        )
        return tuple(
            A2pCampaign(
                sid=str(r.sid),
                campaign_status=str(r.campaign_status or "").upper(),
                brand_registration_sid=str(r.brand_registration_sid or ""),
                usecase=str(r.us_app_to_person_usecase or ""),
                errors=_errors(r.errors),
            )
            for r in records
        )

    def brand_registrations(self) -> tuple[BrandRegistration, ...]:
        records = self._gateway.call(
            "Reading the A2P brand registrations",
            lambda c: list(c.messaging.v1.brand_registrations.stream(page_size=_PAGE)),
        )
        return tuple(
            BrandRegistration(
                sid=str(r.sid),
                status=str(r.status or "").upper(),
                failure_reason=str(r.failure_reason or ""),
                errors=_errors(r.errors),
            )
            for r in records
        )

    def tollfree_verifications(self, number_sid: str) -> tuple[TollfreeVerification, ...]:
        """Verifications submitted for the toll-free number ``number_sid`` (PN…)."""
        records = self._gateway.call(
            "Reading the toll-free verification",
            lambda c: list(
                c.messaging.v1.tollfree_verifications.stream(
                    tollfree_phone_number_sid=number_sid, page_size=_PAGE
                )
            ),
        )
        return tuple(
            TollfreeVerification(
                sid=str(r.sid),
                status=str(r.status or "").upper(),
                rejection_reason=str(r.rejection_reason or ""),
                error_code=int(r.error_code) if r.error_code else None,
                edit_expiration=_iso(r.edit_expiration),
                edit_allowed=r.edit_allowed if isinstance(r.edit_allowed, bool) else None,
            )
            for r in records
        )


def _service(record: Any) -> MessagingService:
    return MessagingService(
        sid=str(record.sid),
        friendly_name=str(record.friendly_name or ""),
        inbound_request_url=str(record.inbound_request_url or ""),
        inbound_method=str(record.inbound_method or "POST").upper(),
        fallback_url=str(record.fallback_url or ""),
        fallback_method=str(record.fallback_method or "POST").upper(),
        use_inbound_webhook_on_number=bool(record.use_inbound_webhook_on_number),
        us_app_to_person_registered=bool(record.us_app_to_person_registered),
        usecase=str(record.usecase or ""),
    )


def _errors(raw: object) -> tuple[str, ...]:
    """Twilio's error lists, each as one readable line, whatever shape the items have."""
    if not isinstance(raw, Iterable) or isinstance(raw, str | bytes):
        return ()
    found: list[str] = []
    for item in raw:
        if isinstance(item, Mapping):
            text = str(item.get("description") or item.get("message") or "").strip()
            code = item.get("error_code") or item.get("code")
            found.append(f"{text} (error {code})" if code and text else text or f"error {code}")
        elif item:
            found.append(str(item))
    return tuple(found)


def _iso(moment: object) -> str:
    if isinstance(moment, datetime):
        return moment.isoformat().replace("+00:00", "Z")
    return str(moment or "")
