"""Tunable timings of the simulated Twilio.

Defaults follow Twilio where Twilio has a documented number (webhook timeouts) and are
otherwise short enough for the demo to feel alive and for tests to stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    #: Simulated seconds between queued → sending → sent → delivered.
    status_step_delay: float = 0.4
    #: Twilio gives a webhook receiver 5 s to accept the connection …
    webhook_connect_timeout: float = 5.0
    #: … and 15 s in all to answer.
    webhook_total_timeout: float = 15.0
    #: Timeout for fetching an outbound ``MediaUrl``.
    media_fetch_timeout: float = 15.0
    #: Real seconds a media redirect stays valid on the media host.
    media_token_ttl: float = 300.0
    #: Send Twilio's own confirmation replies to STOP/START/HELP, as Twilio does.
    opt_out_replies: bool = True
    #: Worker threads for webhooks, callbacks and status progression.
    max_workers: int = 16
    #: Seed for the simulator's randomness (out-of-order callbacks, persona delays).
    random_seed: int | None = None
    #: Block texts to US phones from unregistered senders, as US carriers do (30032 for an
    #: unverified toll-free number, 30034/30035 for a US local number without a VERIFIED
    #: A2P 10DLC campaign).  Off by default so tests of other things need no registration.
    enforce_registration: bool = False
