"""The simulator's Messaging API records: services, their numbers, A2P 10DLC and toll-free.

Field names follow Twilio's ``twilio_messaging_v1.json`` (twilio/twilio-oai) so the JSON in
:mod:`desktop.simulator.messaging_api` is what twilio-python parses from the real service.
Like :class:`~desktop.simulator.state.SimState`, records live behind one lock and only
copies leave it.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

#: Advanced Opt-Out: the kinds Twilio reports as ``OptOutType``.
OPT_OUT_TYPES: Final = ("STOP", "START", "HELP")


@dataclass(slots=True)
class SimService:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    inbound_request_url: str = ""
    inbound_method: str = "POST"
    fallback_url: str = ""
    fallback_method: str = "POST"
    status_callback: str = ""
    #: True: the number's own SmsUrl decides ("defer to sender's webhook").
    use_inbound_webhook_on_number: bool = False
    us_app_to_person_registered: bool = False
    usecase: str = "undeclared"
    sticky_sender: bool = True
    #: PN… SIDs of the sender pool, in the order they were added.
    number_sids: list[str] = field(default_factory=list)
    #: Advanced Opt-Out: extra keywords per kind ("STOP", "START", "HELP"); None = off.
    opt_out_keywords: dict[str, list[str]] | None = None

    @property
    def owns_inbound(self) -> bool:
        """The service's URL, not the number's, receives incoming texts."""
        return not self.use_inbound_webhook_on_number


@dataclass(slots=True)
class SimBrand:
    sid: str
    account_sid: str
    status: str  # PENDING, APPROVED, FAILED, IN_REVIEW, DELETED
    date_created: datetime
    brand_type: str = "STANDARD"
    failure_reason: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class SimCampaign:
    sid: str
    account_sid: str
    messaging_service_sid: str
    brand_registration_sid: str
    campaign_status: str  # IN_PROGRESS, VERIFIED, FAILED
    date_created: datetime
    usecase: str = "CUSTOMER_CARE"
    description: str = "Appointment reminders and answers to customers' questions."
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class SimTollfreeVerification:
    sid: str
    account_sid: str
    tollfree_phone_number_sid: str
    tollfree_phone_number: str
    status: str  # PENDING_REVIEW, IN_REVIEW, TWILIO_APPROVED, TWILIO_REJECTED
    date_created: datetime
    business_name: str = ""
    rejection_reason: str = ""
    error_code: int | None = None
    edit_expiration: datetime | None = None
    edit_allowed: bool | None = None


class MessagingState:
    """Services, brands, campaigns and toll-free verifications of every account."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._services: dict[str, SimService] = {}
        self._brands: dict[str, SimBrand] = {}
        self._campaigns: dict[str, SimCampaign] = {}
        self._verifications: dict[str, SimTollfreeVerification] = {}

    # -- services ------------------------------------------------------------------------

    def add_service(self, service: SimService) -> SimService:
        with self._lock:
            self._services[service.sid] = service
            return copy.deepcopy(service)

    def service(self, sid: str, account_sid: str | None = None) -> SimService | None:
        with self._lock:
            found = self._services.get(sid)
            if found is None or (account_sid is not None and found.account_sid != account_sid):
                return None
            return copy.deepcopy(found)

    def services(self, account_sid: str) -> list[SimService]:
        with self._lock:
            found = [
                copy.deepcopy(s) for s in self._services.values() if s.account_sid == account_sid
            ]
        found.sort(key=lambda s: (s.date_created, s.sid))
        return found

    def update_service(self, sid: str, now: datetime, **changes: Any) -> SimService:
        with self._lock:
            service = self._services[sid]
            for name, value in changes.items():
                setattr(service, name, value)
            service.date_updated = now
            return copy.deepcopy(service)

    def service_of_number(self, number_sid: str) -> SimService | None:
        """The service whose sender pool holds ``number_sid`` (a number is in at most one)."""
        with self._lock:
            for service in self._services.values():
                if number_sid in service.number_sids:
                    return copy.deepcopy(service)
        return None

    def add_number_to_service(self, service_sid: str, number_sid: str) -> bool:
        """False when the number already belongs to another service (Twilio refuses it)."""
        with self._lock:
            for other in self._services.values():
                if number_sid in other.number_sids:
                    return other.sid == service_sid
            self._services[service_sid].number_sids.append(number_sid)
            return True

    def remove_number_from_service(self, service_sid: str, number_sid: str) -> bool:
        with self._lock:
            pool = self._services[service_sid].number_sids
            if number_sid not in pool:
                return False
            pool.remove(number_sid)
            return True

    # -- A2P 10DLC -------------------------------------------------------------------------

    def add_brand(self, brand: SimBrand) -> SimBrand:
        with self._lock:
            self._brands[brand.sid] = brand
            return copy.deepcopy(brand)

    def brands(self, account_sid: str) -> list[SimBrand]:
        with self._lock:
            return [copy.deepcopy(b) for b in self._brands.values() if b.account_sid == account_sid]

    def brand(self, sid: str, account_sid: str) -> SimBrand | None:
        with self._lock:
            found = self._brands.get(sid)
            return copy.deepcopy(found) if found and found.account_sid == account_sid else None

    def add_campaign(self, campaign: SimCampaign) -> SimCampaign:
        with self._lock:
            self._campaigns[campaign.sid] = campaign
            service = self._services.get(campaign.messaging_service_sid)
            if service is not None:
                service.us_app_to_person_registered = True
            return copy.deepcopy(campaign)

    def update_campaign(self, sid: str, **changes: Any) -> SimCampaign:
        with self._lock:
            campaign = self._campaigns[sid]
            for name, value in changes.items():
                setattr(campaign, name, value)
            return copy.deepcopy(campaign)

    def campaigns(self, service_sid: str) -> list[SimCampaign]:
        with self._lock:
            return [
                copy.deepcopy(c)
                for c in self._campaigns.values()
                if c.messaging_service_sid == service_sid
            ]

    # -- toll-free verification --------------------------------------------------------------

    def add_verification(self, verification: SimTollfreeVerification) -> SimTollfreeVerification:
        with self._lock:
            self._verifications[verification.sid] = verification
            return copy.deepcopy(verification)

    def update_verification(self, sid: str, **changes: Any) -> SimTollfreeVerification:
        with self._lock:
            verification = self._verifications[sid]
            for name, value in changes.items():
                setattr(verification, name, value)
            return copy.deepcopy(verification)

    def verifications(
        self, account_sid: str, *, number_sid: str | None = None, status: str | None = None
    ) -> list[SimTollfreeVerification]:
        with self._lock:
            found = [
                copy.deepcopy(v)
                for v in self._verifications.values()
                if v.account_sid == account_sid
                and (number_sid is None or v.tollfree_phone_number_sid == number_sid)
                and (status is None or v.status == status)
            ]
        found.sort(key=lambda v: (v.date_created, v.sid), reverse=True)
        return found

    def verification(self, sid: str, account_sid: str) -> SimTollfreeVerification | None:
        with self._lock:
            found = self._verifications.get(sid)
            return copy.deepcopy(found) if found and found.account_sid == account_sid else None
