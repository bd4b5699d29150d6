"""Where the doctor gets Twilio credentials: one function, so the source can change in one place.

Today: :class:`desktop.secrets.SecretStore` — the environment first (``TWILIO_ACCOUNT_SID``,
``TWILIO_AUTH_TOKEN``, optionally ``TWILIO_API_KEY``/``TWILIO_API_SECRET``), then the
keyring.  Read only.  When the environment gives the account and the token, the keyring
is not asked at all, so an optional API key a missing keyring cannot give is simply
absent instead of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from desktop.secrets import Secret, SecretStore, SecretsUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DoctorCredentials:
    """Credentials for the checks; ``repr`` never shows a secret."""

    account_sid: str
    auth_token: str
    api_key: str | None = None
    api_secret: str | None = None

    @property
    def rest_auth(self) -> tuple[str, str]:
        if self.api_key and self.api_secret:
            return (self.api_key, self.api_secret)
        return (self.account_sid, self.auth_token)

    def __repr__(self) -> str:
        return f"DoctorCredentials(account_sid={self.account_sid!r}, …)"


@dataclass(frozen=True)
class CredentialSource:
    credentials: DoctorCredentials | None
    #: Where they came from, mid-sentence: "the environment", "GNOME Keyring", "the demo".
    source: str
    #: Why there are none (plain words), "" when there are.
    problem: str = ""


def load_credentials(
    environ: Mapping[str, str] | None = None, secrets: SecretStore | None = None
) -> CredentialSource:
    """The credentials ``twoway doctor`` checks with (see the module docstring)."""
    store = secrets or SecretStore(environ=environ)
    account = store.from_environment(Secret.ACCOUNT_SID)
    token = store.from_environment(Secret.AUTH_TOKEN)
    if account and token:
        return CredentialSource(
            DoctorCredentials(
                account,
                token,
                store.from_environment(Secret.API_KEY),
                store.from_environment(Secret.API_SECRET),
            ),
            "the environment (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)",
        )
    try:
        account = account or store.get(Secret.ACCOUNT_SID)
        token = token or store.get(Secret.AUTH_TOKEN)
        where = store.where()
    except SecretsUnavailable as exc:
        return CredentialSource(None, "nowhere", str(exc))
    if not account or not token:
        return CredentialSource(
            None,
            where,
            f"No Twilio credentials were found in the environment or in {where}.",
        )
    try:
        api_key, api_secret = store.get(Secret.API_KEY), store.get(Secret.API_SECRET)
    except SecretsUnavailable:
        api_key = api_secret = None
    return CredentialSource(DoctorCredentials(account, token, api_key, api_secret), where)
