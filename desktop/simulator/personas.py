"""The demo: a fictional dental practice whose customers text in and answer back.

``python main.py --demo`` starts :class:`DemoTwilio` and points the ordinary Twilio client
at it.  Nothing here talks to the app directly: the script waits until the app has set a
demo number's ``SmsUrl`` (as it does with a real account), then customers text that
number over the first minute, exercising a question, a picture, a long emoji message,
STOP/START and a landline whose replies fail.  Every phone number is in the reserved
555-01xx range.

The account is set up as real US accounts are: the local number sits in a Messaging
Service with a VERIFIED A2P 10DLC campaign (the service defers incoming texts to the
number's own webhook), so it is ready; the toll-free number's verification is still in
review, so US carriers block its texts (30032) — the readiness panel explains both.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Final, Self

from desktop.simulator.config import SimulatorConfig
from desktop.simulator.images import landscape_png
from desktop.simulator.scheduling import SimClock
from desktop.simulator.server import SimulatedTwilio
from desktop.simulator.state import Geo, SimEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """The fixed demo account, so the demo data folder keeps matching across runs."""

    account_sid: str = "AC" + "de30" * 8
    auth_token: str = "d3" * 16  # a public demo value, not a secret
    friendly_name: str = "Demo Dental Care"
    local_number: str = "+15035550100"
    toll_free_number: str = "+18005550199"

    @property
    def numbers(self) -> tuple[str, str]:
        return (self.local_number, self.toll_free_number)


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    number: str
    geo: Geo
    #: Answers to a staff message that asks something.
    answers: tuple[str, ...]
    #: Answers to anything else.
    acks: tuple[str, ...]
    landline: bool = False


PORTLAND: Final = Geo(city="PORTLAND", state="OR", zip="97205", country="US")

MARIA: Final = Persona(
    "Maria Alvarez",
    "+15035550123",
    PORTLAND,
    answers=("3:30 would be perfect!", "Yes, that works for me.", "Hmm, could we do 4 instead?"),
    acks=("Perfect, thank you! See you Thursday 😊", "Great, thanks so much!", "👍"),
)
JAMAL: Final = Persona(
    "Jamal Carter",
    "+15415550142",
    Geo(city="EUGENE", state="OR", zip="97401", country="US"),
    answers=("No pain at all, just a little sensitive to cold.", "Sure, mornings are best."),
    acks=("Thanks! Will do.", "Appreciate it — have a good day!"),
)
PRIYA: Final = Persona(
    "Priya Natarajan",
    "+19715550178",
    Geo(city="BEAVERTON", state="OR", zip="97005", country="US"),
    answers=("Yes please! Any time after 2 works 🙏", "Either works, whichever is easier."),
    acks=("Thank you so much!! 💐", "Got it, thanks!"),
)
TOM: Final = Persona(
    "Tom Becker",
    "+15035550155",
    PORTLAND,
    answers=("Sure.", "I think so, yes."),
    acks=("ok thanks", "Sounds good."),
)
OAKRIDGE: Final = Persona(
    "Oakridge Pharmacy",
    "+15035550188",
    PORTLAND,
    answers=(),
    acks=(),
    landline=True,
)
PERSONAS: Final = (MARIA, JAMAL, PRIYA, TOM, OAKRIDGE)

LONG_EMOJI_MESSAGE: Final = (
    "Hi!! 👋 Just wanted to say a huge thank you to Dr. Lee and the whole team 🦷✨ "
    "My daughter was so nervous about her first filling but everyone was incredibly "
    "patient and kind 💕 She even asked when she can come back 😂 "
    "Could we book her next cleaning for sometime in the spring? 🌸"
)

_MAX_REPLIES_PER_PERSONA = 25


@dataclass(frozen=True, slots=True)
class Cue:
    """One scripted text: ``at`` simulated seconds after the script starts."""

    at: float
    persona: Persona
    body: str
    picture: bool = False


class DemoScript:
    """Customers that text in over time and answer what staff send.

    Timeline offsets are simulated seconds after activation; the clock's speed makes the
    whole minute run in a second in tests.
    """

    TIMELINE: Final = (
        Cue(3.0, MARIA, "Hi, do you have any openings Thursday afternoon?"),
        Cue(
            11.0,
            JAMAL,
            "Photo from our hike this weekend — no more tooth pain! "
            "Thanks again for fitting me in.",
            picture=True,
        ),
        Cue(19.0, PRIYA, LONG_EMOJI_MESSAGE),
        Cue(27.0, TOM, "STOP"),
        Cue(
            35.0,
            OAKRIDGE,
            "This is Oakridge Pharmacy calling about a prescription for one of your patients. "
            "Please call us back at the front desk.",
        ),
        Cue(52.0, TOM, "START"),
    )

    def __init__(
        self,
        simulator: SimulatedTwilio,
        account: DemoAccount,
        *,
        auto_start_after: float | None = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        self._sim = simulator
        self._account = account
        self._auto_start_after = auto_start_after
        self._rng = rng or random.Random()  # noqa: S311 - simulation, not security
        self._lock = threading.Lock()
        self._activated = False
        self._reply_counts: dict[str, int] = {}
        self._by_number = {p.number: p for p in PERSONAS}

    @property
    def activated(self) -> bool:
        with self._lock:
            return self._activated

    def install(self) -> None:
        """Listen for the app configuring a number and for staff messages."""
        for persona in PERSONAS:
            if persona.landline:
                self._sim.faults.mark_landline(persona.number)
        self._sim.subscribe(self._on_event)
        if self._auto_start_after is not None:
            self._sim.scheduler.call_later(self._auto_start_after, self.start_now)

    def start_now(self, number: str | None = None) -> None:
        """Run the timeline from now on (once); customers text ``number`` (default: local)."""
        with self._lock:
            if self._activated:
                return
            self._activated = True
        to = number or self._account.local_number
        logger.info("demo customers start texting")
        for cue in self.TIMELINE:
            self._sim.scheduler.call_later(
                cue.at, partial(self._text, cue.persona, to, cue.body, cue.picture)
            )

    def _text(self, persona: Persona, to: str, body: str, with_picture: bool) -> None:
        media = [("image/png", landscape_png())] if with_picture else []
        self._sim.send_inbound(persona.number, to, body, media, from_geo=persona.geo)

    def _on_event(self, event: SimEvent) -> None:
        if (
            event.kind == "number_updated"
            and event.number is not None
            and event.number.phone_number in self._account.numbers
            and event.number.sms_url
        ):
            self.start_now(event.number.phone_number)
            return
        message = event.message
        if event.kind != "message_created" or message is None:
            return
        if message.direction != "outbound-api" or message.from_ not in self._account.numbers:
            return
        persona = self._by_number.get(message.to)
        if persona is None or persona.landline:
            return
        with self._lock:
            count = self._reply_counts.get(persona.number, 0)
            if count >= _MAX_REPLIES_PER_PERSONA:
                return
            self._reply_counts[persona.number] = count + 1
        pool = persona.answers if "?" in message.body else persona.acks
        reply = pool[count % len(pool)]
        delay = self._rng.uniform(2.0, 6.0)
        self._sim.scheduler.call_later(
            delay, partial(self._text, persona, message.from_, reply, False)
        )


def seed_demo_history(sim: SimulatedTwilio, account: DemoAccount, now: datetime) -> None:
    """A few earlier conversations, so the window is not empty at first paint."""
    local, toll_free = account.local_number, account.toll_free_number
    day = timedelta(days=1)
    minute = timedelta(minutes=1)
    history = [
        (now - 5 * day, TOM.number, local, "inbound", "Do you take Delta Dental insurance?"),
        (
            now - 5 * day + 9 * minute,
            local,
            TOM.number,
            "outbound-api",
            "We do! Just bring your card to your visit.",
        ),
        (
            now - 3 * day,
            MARIA.number,
            local,
            "inbound",
            "Hi! Just confirming my cleaning on Friday at 10.",
        ),
        (
            now - 3 * day + 4 * minute,
            local,
            MARIA.number,
            "outbound-api",
            "Yes, you're all set for Friday at 10:00. See you then!",
        ),
        (now - 3 * day + 6 * minute, MARIA.number, local, "inbound", "Thanks!"),
        (
            now - 2 * day,
            JAMAL.number,
            local,
            "inbound",
            "Is it normal for my tooth to be sensitive after the filling?",
        ),
        (
            now - 2 * day + 12 * minute,
            local,
            JAMAL.number,
            "outbound-api",
            "A little sensitivity for a few days is normal. If it lasts past a week, call us.",
        ),
        (now - 2 * day + 15 * minute, JAMAL.number, local, "inbound", "Good to know, thank you"),
        (
            now - day,
            toll_free,
            PRIYA.number,
            "outbound-api",
            "Reminder: your appointment is tomorrow at 2:15 PM. Reply C to confirm.",
        ),
        (now - day + 20 * minute, PRIYA.number, toll_free, "inbound", "C"),
    ]
    for at, from_, to, direction, body in history:
        sim.add_history_message(
            from_=from_,
            to=to,
            body=body,
            at=at,
            direction=direction,
            sid=history_sid(account, from_, to, body),
        )
    oakridge = "Hi, this is Demo Dental Care returning your call about the prescription."
    sim.add_history_message(
        from_=local,
        to=OAKRIDGE.number,
        body=oakridge,
        at=now - day - 3 * timedelta(hours=1),
        direction="outbound-api",
        status="undelivered",
        error_code=30006,
        sid=history_sid(account, local, OAKRIDGE.number, oakridge),
    )


def history_sid(account: DemoAccount, from_: str, to: str, body: str) -> str:
    """The same SID for the same history message in every run of the demo.

    The history is laid out again, relative to "now", each time the demo starts; with
    fresh SIDs every start's backfill stored the last day of it once more (as new, unread,
    announced texts).  Stable SIDs let the store's insert-by-SID recognise it.
    """
    digest = hashlib.sha256(f"{account.account_sid}|{from_}|{to}|{body}".encode()).hexdigest()
    return "SM" + digest[:32]


def register_demo_numbers(sim: SimulatedTwilio, account: DemoAccount) -> None:
    """One number ready to text, one still waiting for Twilio (see the module docstring)."""
    service = sim.add_messaging_service(
        [account.local_number],
        friendly_name="Demo Dental Care",
        use_inbound_webhook_on_number=True,
    )
    sim.console.add_campaign(service, "VERIFIED")
    sim.console.add_tollfree_verification(account.toll_free_number, "IN_REVIEW")


class DemoTwilio:
    """What the app's ``--demo`` mode starts: a simulator with the demo account and script.

    Use ``base_url``/``account_sid``/``auth_token`` exactly like real credentials (set
    ``client.api.base_url = demo.base_url``) and call :meth:`stop` on exit.
    """

    def __init__(
        self, simulator: SimulatedTwilio, script: DemoScript, account: DemoAccount
    ) -> None:
        self.simulator = simulator
        self.script = script
        self.account = account

    @classmethod
    def start(
        cls,
        *,
        speed: float = 1.0,
        seed_history: bool = True,
        auto_start_after: float | None = 20.0,
        config: SimulatorConfig | None = None,
        account: DemoAccount | None = None,
    ) -> DemoTwilio:
        account = account or DemoAccount()
        config = config or SimulatorConfig(enforce_registration=True)
        sim = SimulatedTwilio(
            account_sid=account.account_sid,
            auth_token=account.auth_token,
            friendly_name=account.friendly_name,
            config=config,
            clock=SimClock(speed),
        )
        sim.add_number(
            account.local_number,
            friendly_name="Demo Dental Care (Portland)",
            geo=PORTLAND,
        )
        sim.add_number(
            account.toll_free_number,
            friendly_name="Demo Dental Care (Toll-free)",
            number_type="tollfree",
            geo=Geo(country="US"),
        )
        register_demo_numbers(sim, account)
        if seed_history:
            seed_demo_history(sim, account, sim.clock.now())
        script = DemoScript(
            sim,
            account,
            auto_start_after=auto_start_after,
            rng=random.Random(config.random_seed),  # noqa: S311
        )
        sim.start()
        script.install()
        return cls(sim, script, account)

    @property
    def base_url(self) -> str:
        return self.simulator.base_url

    @property
    def account_sid(self) -> str:
        return self.account.account_sid

    @property
    def auth_token(self) -> str:
        return self.account.auth_token

    @property
    def numbers(self) -> tuple[str, str]:
        return self.account.numbers

    def stop(self) -> None:
        self.simulator.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
