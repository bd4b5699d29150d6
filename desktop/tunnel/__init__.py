"""A public HTTPS address for the local webhook receiver, through ngrok (pyngrok)."""

from __future__ import annotations

from desktop.tunnel.models import TunnelSettings, TunnelState, TunnelStatus
from desktop.tunnel.service import ENDPOINT_NAME, NgrokTunnel

__all__ = ["ENDPOINT_NAME", "NgrokTunnel", "TunnelSettings", "TunnelState", "TunnelStatus"]
