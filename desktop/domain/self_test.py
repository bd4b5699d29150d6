"""The receiver self-test: a signed request through the public URL that is never stored.

``twoway doctor`` (and the readiness panel) posts to ``<public URL>/twilio/sms`` exactly
as Twilio would — signed with the Auth Token over the public URL — but with the field
:data:`SELF_TEST_FIELD` carrying a random nonce instead of a message.  The receiver checks
the signature as for any webhook, recognises the field, stores nothing and answers with
:func:`proof` of the nonce in the :data:`PROOF_HEADER` header, which only a receiver that
holds the same Auth Token can compute.  So a good answer proves that the public address
reaches *this* Twoway and that its signature check accepts Twilio's signatures there.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

SELF_TEST_FIELD: Final = "TwowaySelfTest"
PROOF_HEADER: Final = "X-Twoway-Self-Test"
_NONCE_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_valid_nonce(nonce: str) -> bool:
    return _NONCE_RE.fullmatch(nonce) is not None


def proof(auth_token: str, nonce: str) -> str:
    """HMAC-SHA256 of the nonce under the Auth Token, hex (the token itself never travels)."""
    message = f"twoway-self-test:{nonce}".encode()
    return hmac.new(auth_token.encode(), message, hashlib.sha256).hexdigest()


def proof_matches(auth_token: str, nonce: str, answer: str) -> bool:
    return hmac.compare_digest(proof(auth_token, nonce), answer.strip().lower())
