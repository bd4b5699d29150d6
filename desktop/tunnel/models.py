"""What the tunnel is doing, in terms the window can show, and what it was asked to do.

The status is a small value object rather than a stream of events so the GUI can always
redraw from the latest one, whichever thread it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")


class TunnelState(StrEnum):
    OFF = "off"
    STARTING = "starting"
    ONLINE = "online"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


@dataclass(frozen=True)
class TunnelStatus:
    """One snapshot of the tunnel for the status bar.

    ``message`` is one plain sentence; ``action`` says what the user can do about it (set
    for FAILED and for RECONNECTING when waiting will not help by itself).
    """

    state: TunnelState
    public_url: str | None = None
    message: str = ""
    action: str = ""
    #: RECONNECTING: how many times in a row the connection could not be restored.
    attempt: int = 0
    #: STARTING while ngrok downloads: percent done, when known.
    progress: int | None = None
    #: ngrok's own error code (``ERR_NGROK_107``) when one is known, for support.
    error_code: str | None = None

    @classmethod
    def off(cls) -> TunnelStatus:
        return cls(TunnelState.OFF, message="The internet connection for incoming texts is off.")

    @classmethod
    def starting(cls, message: str, progress: int | None = None) -> TunnelStatus:
        return cls(TunnelState.STARTING, message=message, progress=progress)

    @classmethod
    def online(cls, public_url: str) -> TunnelStatus:
        return cls(
            TunnelState.ONLINE,
            public_url=public_url,
            message="Connected: new texts arrive as soon as they are sent.",
        )

    @classmethod
    def reconnecting(
        cls, attempt: int, why: str, action: str = "", error_code: str | None = None
    ) -> TunnelStatus:
        return cls(
            TunnelState.RECONNECTING,
            message=why,
            action=action,
            attempt=attempt,
            error_code=error_code,
        )

    @classmethod
    def failed(cls, why: str, action: str, error_code: str | None = None) -> TunnelStatus:
        return cls(TunnelState.FAILED, message=why, action=action, error_code=error_code)


@dataclass(frozen=True)
class TunnelSettings:
    """What the user chose; secrets are kept out of ``repr`` so a logged object leaks nothing."""

    #: The ngrok authtoken (from the keyring, or ``NGROK_AUTHTOKEN``).
    auth_token: str = field(repr=False)
    #: A reserved ngrok domain (``name.ngrok-free.app``, with or without ``https://``).
    static_domain: str | None = None
    #: An installed ngrok agent; None means ``PYNGROK_NGROK_PATH`` or pyngrok's own place.
    ngrok_path: str | None = None
    #: When set, ngrok's edge also checks Twilio's signature (``verify-webhook``) with it.
    verify_twilio_auth_token: str | None = field(default=None, repr=False)
    #: First wait before reconnecting, doubled each failed attempt up to ``backoff_max``.
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    #: How often the agent's local API is asked whether our endpoint still exists.
    health_check_interval: float = 15.0
    #: How often the agent process is checked for having exited.
    poll_interval: float = 0.5
    #: Longest wait for the agent to report a session (pyngrok's ``startup_timeout``).
    startup_timeout: int = 15
    #: Longest wait for one read during the download of the agent.
    download_timeout: float = 10.0
    #: The app's polling period while the tunnel is down, quoted in messages.
    fallback_poll_seconds: int = 60

    def public_domain_url(self) -> str | None:
        """``https://host`` for the static domain, or None when none is set.

        Raises ValueError when the setting is not a host name.
        """
        if self.static_domain is None or not self.static_domain.strip():
            return None
        return normalize_domain(self.static_domain)


def normalize_domain(value: str) -> str:
    """Turn what a user pastes (``https://x.ngrok-free.app/``, ``X.ngrok-free.app``) into
    the ``https://host`` form pyngrok 9 passes as ``url=``."""
    text = value.strip()
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    host = text.rstrip("/").lower()
    if not _HOSTNAME.match(host):
        raise ValueError(f"not a host name: {value!r}")
    return f"https://{host}"
