"""What a person does in the Twilio Console, for tests and the demo: services and registration.

Twilio decides A2P 10DLC campaigns and toll-free verifications itself (days later, by
e-mail); the simulator lets a test or the demo set each state directly.  Advanced Opt-Out
is configured in the Console only (there is no public API for it), hence here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from desktop.simulator.messaging_state import (
    MessagingState,
    SimBrand,
    SimCampaign,
    SimService,
    SimTollfreeVerification,
)
from desktop.simulator.state import PhoneNumber, SimState, new_sid


class SimConsole:
    """Set up Messaging Services, A2P 10DLC and toll-free verification of an account."""

    def __init__(
        self,
        state: SimState,
        messaging: MessagingState,
        now: Callable[[], datetime],
        default_account: str,
    ) -> None:
        self._state = state
        self._messaging = messaging
        self._now = now
        self._account = default_account

    # -- Messaging Services ------------------------------------------------------------------

    def add_service(
        self,
        phone_numbers: Sequence[str] = (),
        *,
        account_sid: str | None = None,
        friendly_name: str = "Sole proprietor messaging",
        inbound_request_url: str = "",
        fallback_url: str = "",
        use_inbound_webhook_on_number: bool = False,
    ) -> str:
        """A service holding ``phone_numbers`` (E.164 numbers of the account); its MG… SID.

        Twilio's default for a new service is "send a webhook" to an empty URL, so without
        ``inbound_request_url`` or ``use_inbound_webhook_on_number`` texts are dropped.
        """
        now = self._now()
        service = self._messaging.add_service(
            SimService(
                sid=new_sid("MG"),
                account_sid=account_sid or self._account,
                friendly_name=friendly_name,
                date_created=now - timedelta(days=30),
                date_updated=now - timedelta(days=30),
                inbound_request_url=inbound_request_url,
                fallback_url=fallback_url,
                use_inbound_webhook_on_number=use_inbound_webhook_on_number,
            )
        )
        for phone in phone_numbers:
            self.add_number(service.sid, phone)
        return service.sid

    def add_number(self, service_sid: str, phone_number: str) -> None:
        number = self._number(phone_number)
        if not self._messaging.add_number_to_service(service_sid, number.sid):
            raise ValueError(f"{phone_number} is already in another Messaging Service")

    def service(self, service_sid: str) -> SimService:
        found = self._messaging.service(service_sid)
        if found is None:
            raise ValueError(f"{service_sid} is not a simulated Messaging Service")
        return found

    def set_routing(
        self,
        service_sid: str,
        *,
        inbound_request_url: str | None = None,
        fallback_url: str | None = None,
        use_inbound_webhook_on_number: bool | None = None,
    ) -> SimService:
        """Change the service's "incoming messages" setting, as another app or a person might."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("inbound_request_url", inbound_request_url),
                ("fallback_url", fallback_url),
                ("use_inbound_webhook_on_number", use_inbound_webhook_on_number),
            )
            if value is not None
        }
        return self._messaging.update_service(service_sid, self._now(), **changes)

    def set_advanced_opt_out(
        self, service_sid: str, keywords: Mapping[str, Iterable[str]] | None
    ) -> None:
        """Turn Advanced Opt-Out on with extra keywords per kind ({"STOP": ["ARRET"]}), or off."""
        value = (
            None
            if keywords is None
            else {kind.upper(): [w.upper() for w in words] for kind, words in keywords.items()}
        )
        self._messaging.update_service(service_sid, self._now(), opt_out_keywords=value)

    # -- A2P 10DLC ---------------------------------------------------------------------------

    def add_brand(
        self,
        status: str = "APPROVED",
        *,
        account_sid: str | None = None,
        failure_reason: str = "",
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        brand = self._messaging.add_brand(
            SimBrand(
                sid=new_sid("BN"),
                account_sid=account_sid or self._account,
                status=status,
                date_created=self._now() - timedelta(days=20),
                failure_reason=failure_reason,
                errors=[dict(e) for e in errors],
            )
        )
        return brand.sid

    def add_campaign(
        self,
        service_sid: str,
        status: str = "VERIFIED",
        *,
        brand_sid: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        """A US A2P 10DLC campaign on the service (and an approved brand unless given)."""
        service = self.service(service_sid)
        brand = brand_sid or self.add_brand(account_sid=service.account_sid)
        campaign = self._messaging.add_campaign(
            SimCampaign(
                sid=new_sid("QE"),
                account_sid=service.account_sid,
                messaging_service_sid=service.sid,
                brand_registration_sid=brand,
                campaign_status=status,
                date_created=self._now() - timedelta(days=10),
                errors=[dict(e) for e in errors],
            )
        )
        return campaign.sid

    def set_campaign_status(
        self, campaign_sid: str, status: str, errors: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        self._messaging.update_campaign(
            campaign_sid, campaign_status=status, errors=[dict(e) for e in errors]
        )

    # -- toll-free verification ---------------------------------------------------------------

    def add_tollfree_verification(
        self,
        phone_number: str,
        status: str = "PENDING_REVIEW",
        *,
        business_name: str = "Demo Dental Care",
        rejection_reason: str = "",
        error_code: int | None = None,
        edit_expiration: datetime | None = None,
    ) -> str:
        number = self._number(phone_number)
        verification = self._messaging.add_verification(
            SimTollfreeVerification(
                sid=new_sid("HH"),
                account_sid=number.account_sid,
                tollfree_phone_number_sid=number.sid,
                tollfree_phone_number=number.phone_number,
                status=status,
                date_created=self._now() - timedelta(days=3),
                business_name=business_name,
                rejection_reason=rejection_reason,
                error_code=error_code,
                edit_expiration=edit_expiration,
                edit_allowed=True if status == "TWILIO_REJECTED" else None,
            )
        )
        return verification.sid

    def set_tollfree_status(
        self,
        verification_sid: str,
        status: str,
        *,
        rejection_reason: str = "",
        error_code: int | None = None,
        edit_expiration: datetime | None = None,
    ) -> None:
        self._messaging.update_verification(
            verification_sid,
            status=status,
            rejection_reason=rejection_reason,
            error_code=error_code,
            edit_expiration=edit_expiration,
            edit_allowed=True if status == "TWILIO_REJECTED" else None,
        )

    def _number(self, phone_number: str) -> PhoneNumber:
        number = self._state.number_by_phone(phone_number)
        if number is None:
            raise ValueError(f"{phone_number} is not a simulated number")
        return number
