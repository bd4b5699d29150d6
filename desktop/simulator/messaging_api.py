"""The simulated Messaging API v1 (``messaging.twilio.com``) as a Werkzeug WSGI application.

Mounted at ``/messaging`` of the simulator (see :mod:`desktop.simulator.server`), so the
app's routed client reaches ``https://messaging.twilio.com/v1/Services`` as
``<simulator>/messaging/v1/Services``.  What exists is what Twoway uses: services and their
sender pools (with the inbound routing fields), ``Compliance/Usa2p``,
``a2p/BrandRegistrations`` and ``Tollfree/Verifications``.  Field names and the ``meta``
paging envelope follow ``twilio_messaging_v1.json``; dates are ISO 8601, as in v1 APIs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from desktop.simulator.errors import TwilioApiError
from desktop.simulator.faults import FaultPlan
from desktop.simulator.http_common import (
    SidConverter,
    authenticate,
    error_response,
    front_door,
    is_http_url,
    json_response,
    not_found,
)
from desktop.simulator.messaging_state import (
    MessagingState,
    SimBrand,
    SimCampaign,
    SimService,
    SimTollfreeVerification,
)
from desktop.simulator.resources import Pager
from desktop.simulator.state import Account, PhoneNumber, SimState, new_sid

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: ``POST /v1/Services/{MG}`` form fields → record attribute, and whether it is a boolean.
_SERVICE_FIELDS: Final[dict[str, tuple[str, bool]]] = {
    "FriendlyName": ("friendly_name", False),
    "InboundRequestUrl": ("inbound_request_url", False),
    "InboundMethod": ("inbound_method", False),
    "FallbackUrl": ("fallback_url", False),
    "FallbackMethod": ("fallback_method", False),
    "StatusCallback": ("status_callback", False),
    "StickySender": ("sticky_sender", True),
    "UseInboundWebhookOnNumber": ("use_inbound_webhook_on_number", True),
    "Usecase": ("usecase", False),
}


def iso(moment: datetime | None) -> str | None:
    """``2026-11-27T10:55:00Z``: how the v1 APIs write dates."""
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _rules() -> Map:
    service = "/v1/Services/<sid:service>"
    return Map(
        [
            Rule("/v1/Services", endpoint="services", methods=["GET", "POST"]),
            Rule(service, endpoint="service", methods=["GET", "POST"]),
            Rule(f"{service}/PhoneNumbers", endpoint="numbers", methods=["GET", "POST"]),
            Rule(
                f"{service}/PhoneNumbers/<sid:number>",
                endpoint="number",
                methods=["GET", "DELETE"],
            ),
            Rule(f"{service}/Compliance/Usa2p", endpoint="campaigns", methods=["GET"]),
            Rule(
                f"{service}/Compliance/Usa2p/<sid:campaign>", endpoint="campaign", methods=["GET"]
            ),
            Rule("/v1/a2p/BrandRegistrations", endpoint="brands", methods=["GET"]),
            Rule("/v1/a2p/BrandRegistrations/<sid:brand>", endpoint="brand", methods=["GET"]),
            Rule("/v1/Tollfree/Verifications", endpoint="verifications", methods=["GET"]),
            Rule(
                "/v1/Tollfree/Verifications/<sid:verification>",
                endpoint="verification",
                methods=["GET"],
            ),
        ],
        converters={"sid": SidConverter},
        strict_slashes=False,
    )


class MessagingApi:
    """WSGI app for ``/messaging/v1/…``; shares accounts and numbers with the REST API."""

    def __init__(
        self,
        state: SimState,
        messaging: MessagingState,
        faults: FaultPlan,
        now: Callable[[], datetime],
    ) -> None:
        self._state = state
        self._messaging = messaging
        self._faults = faults
        self._now = now
        self._map = _rules()
        self._handlers: dict[str, Callable[..., Response]] = {
            "services": self._services,
            "service": self._service,
            "numbers": self._numbers,
            "number": self._number,
            "campaigns": self._campaigns,
            "campaign": self._campaign,
            "brands": self._brands,
            "brand": self._brand,
            "verifications": self._verifications,
            "verification": self._verification,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        logger.debug("%s %s%s", request.method, request.script_root, request.path)
        try:
            response = self._dispatch(request)
        except TwilioApiError as exc:
            response = error_response(exc)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        front_door(self._faults)
        caller, _by_token = authenticate(self._state, request)
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as exc:
            raise TwilioApiError(405, 20004) from exc
        except NotFound as exc:
            raise not_found(request) from exc
        return self._handlers[str(endpoint)](request, caller, **args)

    # -- services ------------------------------------------------------------------------

    def _services(self, request: Request, caller: Account) -> Response:
        if request.method == "POST":
            name = request.form.get("FriendlyName", "").strip()
            if not name:
                raise TwilioApiError(400, 20001, "Missing required parameter FriendlyName")
            now = self._now()
            created = SimService(new_sid("MG"), caller.sid, name, now, now)
            created = self._messaging.add_service(created)
            changed = self._apply_service_form(request, created)
            return json_response(self._service_json(request, changed), status=201)
        return self._page(
            request,
            "services",
            self._messaging.services(caller.sid),
            lambda s: s.sid,
            lambda s: self._service_json(request, s),
        )

    def _service(self, request: Request, caller: Account, service: str) -> Response:
        found = self._own_service(request, caller, service)
        if request.method == "POST":
            found = self._apply_service_form(request, found)
        return json_response(self._service_json(request, found))

    def _apply_service_form(self, request: Request, service: SimService) -> SimService:
        changes: dict[str, Any] = {}
        for name, (attr, boolean) in _SERVICE_FIELDS.items():
            if name not in request.form:
                continue
            raw = request.form[name].strip()
            if boolean:
                if raw.lower() not in ("true", "false"):
                    raise TwilioApiError(400, 20001, f"{name} must be true or false")
                changes[attr] = raw.lower() == "true"
            elif attr.endswith("_method"):
                if raw.upper() not in ("GET", "POST"):
                    raise TwilioApiError(400, 20001, f"{raw} is not a valid method")
                changes[attr] = raw.upper()
            elif attr.endswith(("_url", "callback")):
                if raw and not is_http_url(raw):
                    raise TwilioApiError(400, 20001, f"{raw} is not a valid URL")
                changes[attr] = raw
            else:
                changes[attr] = raw
        if not changes:
            return service
        return self._messaging.update_service(service.sid, self._now(), **changes)

    def _numbers(self, request: Request, caller: Account, service: str) -> Response:
        found = self._own_service(request, caller, service)
        if request.method == "POST":
            number = self._own_number(request.form.get("PhoneNumberSid", "").strip(), caller)
            if not self._messaging.add_number_to_service(found.sid, number.sid):
                raise TwilioApiError(
                    409, 21710, "Phone Number is already in another Messaging Service"
                )
            return json_response(self._number_json(request, found, number), status=201)
        numbers = [
            n
            for n in (self._state.number_by_sid(sid) for sid in found.number_sids)
            if n is not None
        ]
        return self._page(
            request,
            "phone_numbers",
            numbers,
            lambda n: n.sid,
            lambda n: self._number_json(request, found, n),
        )

    def _number(self, request: Request, caller: Account, service: str, number: str) -> Response:
        found = self._own_service(request, caller, service)
        if number not in found.number_sids:
            raise not_found(request)
        if request.method == "DELETE":
            self._messaging.remove_number_from_service(found.sid, number)
            return Response(status=204)
        return json_response(self._number_json(request, found, self._own_number(number, caller)))

    # -- A2P 10DLC and toll-free verification ------------------------------------------------

    def _campaigns(self, request: Request, caller: Account, service: str) -> Response:
        found = self._own_service(request, caller, service)
        return self._page(
            request,
            "compliance",
            self._messaging.campaigns(found.sid),
            lambda c: c.sid,
            lambda c: self._campaign_json(request, c),
        )

    def _campaign(self, request: Request, caller: Account, service: str, campaign: str) -> Response:
        found = self._own_service(request, caller, service)
        for item in self._messaging.campaigns(found.sid):
            if item.sid == campaign:
                return json_response(self._campaign_json(request, item))
        raise not_found(request)

    def _brands(self, request: Request, caller: Account) -> Response:
        return self._page(
            request,
            "data",
            self._messaging.brands(caller.sid),
            lambda b: b.sid,
            lambda b: self._brand_json(request, b),
        )

    def _brand(self, request: Request, caller: Account, brand: str) -> Response:
        found = self._messaging.brand(brand, caller.sid)
        if found is None:
            raise not_found(request)
        return json_response(self._brand_json(request, found))

    def _verifications(self, request: Request, caller: Account) -> Response:
        number_sid = request.args.get("TollfreePhoneNumberSid") or None
        status = request.args.get("Status") or None
        found = self._messaging.verifications(caller.sid, number_sid=number_sid, status=status)
        filters = [
            (k, request.args[k]) for k in ("TollfreePhoneNumberSid", "Status") if k in request.args
        ]
        return self._page(
            request,
            "verifications",
            found,
            lambda v: v.sid,
            lambda v: self._verification_json(request, v),
            filters,
        )

    def _verification(self, request: Request, caller: Account, verification: str) -> Response:
        found = self._messaging.verification(verification, caller.sid)
        if found is None:
            raise not_found(request)
        return json_response(self._verification_json(request, found))

    # -- helpers -----------------------------------------------------------------------------

    def _own_service(self, request: Request, caller: Account, sid: str) -> SimService:
        found = self._messaging.service(sid, caller.sid)
        if found is None:
            raise not_found(request)
        return found

    def _own_number(self, sid: str, caller: Account) -> PhoneNumber:
        number = self._state.number_by_sid(sid)
        if number is None or number.account_sid != caller.sid:
            raise TwilioApiError(400, 21712, f"PhoneNumberSid {sid or '(empty)'} is not valid")
        return number

    def _page(
        self,
        request: Request,
        key: str,
        items: list[_T],
        sid_of: Callable[[_T], str],
        render: Callable[[_T], dict[str, Any]],
        filters: list[tuple[str, str]] | None = None,
    ) -> Response:
        """The v1 paging envelope: records under ``key`` and absolute URLs under ``meta``."""
        pager: Pager[_T] = Pager.from_args(request.args, sid_of)
        page = pager.select(items)
        base = _root(request) + request.path
        query = filters or []

        def url(number: int, token: str = "") -> str:
            parts = [*query, ("PageSize", str(pager.size)), ("Page", str(number))]
            if token:
                parts.append(("PageToken", token))
            return f"{base}?{urlencode(parts)}"

        number = pager.start // pager.size
        return json_response(
            {
                key: [render(item) for item in page],
                "meta": {
                    "page": number,
                    "page_size": pager.size,
                    "first_page_url": url(0),
                    "previous_page_url": (
                        url(max(number - 1, 0), "PB" + pager.first_sid)
                        if pager.has_previous
                        else None
                    ),
                    "url": url(number, pager.token),
                    "next_page_url": (
                        url(number + 1, "PA" + pager.last_sid) if pager.has_next else None
                    ),
                    "key": key,
                },
            }
        )

    def _service_json(self, request: Request, service: SimService) -> dict[str, Any]:
        url = f"{_root(request)}/v1/Services/{service.sid}"
        return {
            "sid": service.sid,
            "account_sid": service.account_sid,
            "friendly_name": service.friendly_name,
            "date_created": iso(service.date_created),
            "date_updated": iso(service.date_updated),
            "inbound_request_url": service.inbound_request_url or None,
            "inbound_method": service.inbound_method,
            "fallback_url": service.fallback_url or None,
            "fallback_method": service.fallback_method,
            "status_callback": service.status_callback or None,
            "sticky_sender": service.sticky_sender,
            "mms_converter": True,
            "smart_encoding": True,
            "scan_message_content": "inherit",
            "fallback_to_long_code": False,
            "area_code_geomatch": True,
            "synchronous_validation": False,
            "validity_period": 14400,
            "url": url,
            "links": {
                "phone_numbers": f"{url}/PhoneNumbers",
                "short_codes": f"{url}/ShortCodes",
                "alpha_senders": f"{url}/AlphaSenders",
                "messages": f"{url}/Messages",
                "us_app_to_person": f"{url}/Compliance/Usa2p",
                "us_app_to_person_usecases": f"{url}/Compliance/Usa2p/Usecases",
                "channel_senders": f"{url}/ChannelSenders",
            },
            "usecase": service.usecase,
            "us_app_to_person_registered": service.us_app_to_person_registered,
            "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
        }

    def _number_json(
        self, request: Request, service: SimService, number: PhoneNumber
    ) -> dict[str, Any]:
        capabilities = [name.upper() for name, on in number.capabilities.items() if on]
        return {
            "sid": number.sid,
            "account_sid": number.account_sid,
            "service_sid": service.sid,
            "date_created": iso(number.date_created),
            "date_updated": iso(number.date_updated),
            "phone_number": number.phone_number,
            "country_code": number.geo.country or "US",
            "capabilities": capabilities,
            "url": f"{_root(request)}/v1/Services/{service.sid}/PhoneNumbers/{number.sid}",
        }

    def _campaign_json(self, request: Request, campaign: SimCampaign) -> dict[str, Any]:
        service_url = f"{_root(request)}/v1/Services/{campaign.messaging_service_sid}"
        return {
            "sid": campaign.sid,
            "account_sid": campaign.account_sid,
            "brand_registration_sid": campaign.brand_registration_sid,
            "messaging_service_sid": campaign.messaging_service_sid,
            "description": campaign.description,
            "message_samples": ["Your cleaning is tomorrow at 3:30. Reply C to confirm."] * 2,
            "us_app_to_person_usecase": campaign.usecase,
            "has_embedded_links": False,
            "has_embedded_phone": False,
            "subscriber_opt_in": True,
            "age_gated": False,
            "direct_lending": False,
            "campaign_status": campaign.campaign_status,
            "campaign_id": "C" + campaign.sid[-6:].upper()
            if campaign.campaign_status == "VERIFIED"
            else None,
            "is_externally_registered": False,
            "rate_limits": {},
            "message_flow": "Patients give their number at the front desk and agree to texts.",
            "opt_in_message": None,
            "opt_out_message": None,
            "help_message": None,
            "opt_in_keywords": None,
            "opt_out_keywords": None,
            "help_keywords": None,
            "date_created": iso(campaign.date_created),
            "date_updated": iso(campaign.date_created),
            "url": f"{service_url}/Compliance/Usa2p/{campaign.sid}",
            "mock": False,
            "errors": list(campaign.errors),
        }

    def _brand_json(self, request: Request, brand: SimBrand) -> dict[str, Any]:
        url = f"{_root(request)}/v1/a2p/BrandRegistrations/{brand.sid}"
        return {
            "sid": brand.sid,
            "account_sid": brand.account_sid,
            "customer_profile_bundle_sid": "BU" + brand.sid[2:],
            "a2p_profile_bundle_sid": "BU" + brand.sid[2:][::-1],
            "date_created": iso(brand.date_created),
            "date_updated": iso(brand.date_created),
            "brand_type": brand.brand_type,
            "status": brand.status,
            "tcr_id": "B" + brand.sid[-6:].upper() if brand.status == "APPROVED" else None,
            "failure_reason": brand.failure_reason or None,
            "errors": list(brand.errors),
            "url": url,
            "brand_score": 72 if brand.status == "APPROVED" else None,
            "brand_feedback": None,
            "identity_status": "VERIFIED" if brand.status == "APPROVED" else "UNVERIFIED",
            "russell_3000": False,
            "government_entity": False,
            "tax_exempt_status": None,
            "skip_automatic_sec_vet": False,
            "mock": False,
            "links": {
                "brand_vettings": f"{url}/Vettings",
                "brand_registration_otps": f"{url}/SmsOtp",
            },
        }

    def _verification_json(
        self, request: Request, verification: SimTollfreeVerification
    ) -> dict[str, Any]:
        url = f"{_root(request)}/v1/Tollfree/Verifications/{verification.sid}"
        rejected = verification.status == "TWILIO_REJECTED"
        return {
            "sid": verification.sid,
            "account_sid": verification.account_sid,
            "customer_profile_sid": None,
            "trust_product_sid": "BU" + verification.sid[2:],
            "date_created": iso(verification.date_created),
            "date_updated": iso(verification.date_created),
            "regulated_item_sid": None,
            "business_name": verification.business_name,
            "business_website": "https://example.com",
            "notification_email": "front-desk@example.com",
            "use_case_categories": ["CUSTOMER_CARE"],
            "use_case_summary": "Appointment reminders and answers to customers' questions.",
            "production_message_sample": "Your cleaning is tomorrow at 3:30. Reply C to confirm.",
            "opt_in_image_urls": [],
            "opt_in_type": "VERBAL",
            "message_volume": "1,000",
            "tollfree_phone_number_sid": verification.tollfree_phone_number_sid,
            "tollfree_phone_number": verification.tollfree_phone_number,
            "status": verification.status,
            "url": url,
            "rejection_reason": verification.rejection_reason or None,
            "error_code": verification.error_code,
            "edit_expiration": iso(verification.edit_expiration),
            "edit_allowed": verification.edit_allowed,
            "rejection_reasons": (
                [{"code": verification.error_code, "reason": verification.rejection_reason}]
                if rejected
                else None
            ),
            "resource_links": {},
            "external_reference_id": None,
        }


def _root(request: Request) -> str:
    """``http://127.0.0.1:PORT/messaging``: where this product is mounted."""
    return request.host_url.rstrip("/") + request.script_root
