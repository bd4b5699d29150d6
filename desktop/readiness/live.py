"""The readiness report for the running app (the window's panel), from what the core knows.

Same checks as the doctor (:func:`desktop.readiness.checks.run_checks`), but the
credentials, the API base URL, the chosen number and the public URL come from the live
core instead of the environment and ``state/running.json``.  Blocking (network): call
from a worker thread.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from desktop.credentials import ENVIRONMENT_TEXT, CredentialSource, FoundCredentials
from desktop.readiness.checks import ReadinessContext, run_checks
from desktop.readiness.model import Report
from desktop.readiness.runtime import RunningApp

if TYPE_CHECKING:
    from desktop.core import Core


def _credentials(core: Core) -> FoundCredentials:
    found = core.network.credentials
    if found is None:
        problem = core.connection.snapshot.problem or "Twoway is not signed in to Twilio yet."
        return FoundCredentials(None, core.account.keyring_location(), problem)
    if found.source is CredentialSource.DEMO:
        source = "the demo (a simulated Twilio on this computer)"
    elif found.source is CredentialSource.ENVIRONMENT:
        source = ENVIRONMENT_TEXT
    else:
        source = core.account.keyring_location()
    return FoundCredentials(found, source)


def context_for(core: Core) -> ReadinessContext:
    network = core.network
    snapshot = core.connection.snapshot
    receiver = network.receiver
    running = (
        RunningApp(
            pid=os.getpid(),
            local_port=receiver.port,
            public_url=snapshot.public_url,
            link=str(snapshot.link),
            poll_interval_s=core.settings.poll_interval_s,
            demo=core.options.demo,
        )
        if receiver is not None
        else None
    )
    wanted = core.env.phone_number or core.settings.phone_number
    if not wanted and network.demo is not None:
        wanted = network.demo.numbers[0]  # the demo receives on its local number
    return ReadinessContext(
        credentials=_credentials(core),
        api_base_url=network.api_base_url,
        wanted_number=wanted,
        running=running,
        not_running="Twoway is not listening for texts yet (it is still starting).",
        database=core.paths.database,
        settings=core.settings,
        now_ms=int(time.time() * 1000),
        other_numbers=True,
    )


def readiness_for(core: Core) -> Report:
    """Every check for the running app, plus the account's other texting numbers."""
    return run_checks(context_for(core))
