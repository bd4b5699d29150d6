"""Benchmark: what team mode costs in Twilio Sync requests, and how fast a laptop takes over.

Prints measured numbers; it is not a test (nothing here asserts a rate or a time).

    python -m tests.bench.bench_team [--laptops 3] [--speed 10] [--minutes 1] [--kills 3]

``--laptops`` TeamServices (each its own database and data folder) share one simulated
account.  With ``--speed 10`` every timing is ten times shorter than the real one (lease
TTL 3 s instead of 30 s), so a simulated minute takes 6 s and the request counts per
simulated minute equal the real ones per real minute; ``--speed 1`` runs the real timings.

1. idle: everyone settled, nobody types; Sync requests per laptop per minute (counted by
   each laptop and by the simulator's per-account meter);
2. takeover: ``--kills`` times the owner vanishes without handing the lease back; the time
   until another laptop holds it, in real seconds and as a fraction of the lease TTL.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from desktop.config import Paths
from desktop.gateway.rest import RestGateway
from desktop.simulator.server import SimulatedTwilio
from desktop.store.service import Store
from desktop.team.service import TeamService, TeamStatus, TeamTimings


class _Credentials:
    def __init__(self, sim: SimulatedTwilio) -> None:
        self.account_sid = sim.account_sid
        self.auth_token = sim.auth_token

    @property
    def rest_auth(self) -> tuple[str, str]:
        return (self.account_sid, self.auth_token)


class _Laptop:
    def __init__(self, root: Path, name: str, sim: SimulatedTwilio, timings: TeamTimings) -> None:
        paths = Paths(root / name)
        paths.create()
        self.store = Store(paths.database, paths.backups)
        self.store.open()
        self.gateway = RestGateway(_Credentials(sim), sim.base_url, read_timeout=5)
        self.team = TeamService(
            self.gateway, self.store, state_dir=paths.state, name=lambda: name, timings=timings
        )

    def close(self, *, release: bool = True) -> None:
        self.team.stop(release=release)
        self.store.close()
        self.gateway.close()


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laptops", type=int, default=3)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    ttl = 30.0 / args.speed
    timings = TeamTimings.scaled(ttl)
    minute = 60.0 / args.speed
    with tempfile.TemporaryDirectory() as tmp, SimulatedTwilio() as sim:
        root = Path(tmp)
        laptops = [_Laptop(root, f"Laptop {i + 1}", sim, timings) for i in range(args.laptops)]
        names = iter(range(args.laptops + 1, 1000))
        for laptop in laptops:
            laptop.team.start()
        settled = _wait(
            lambda: all(len(x.team.status.members) == len(laptops) for x in laptops), 10 * ttl
        )
        print(
            f"{args.laptops} laptops, lease TTL {ttl:.1f} s (speed {args.speed:g}x), "
            f"settled: {settled}"
        )
        before = [x.team.client.requests for x in laptops]
        account = sim.sync.requests(sim.account_sid)
        time.sleep(minute * args.minutes)
        counted = [
            (x.team.client.requests - b) / args.minutes
            for x, b in zip(laptops, before, strict=True)
        ]
        seen = (sim.sync.requests(sim.account_sid) - account) / args.minutes
        owners = sum(1 for x in laptops if x.team.is_owner)
        print(
            "idle Sync requests per laptop per minute: "
            + ", ".join(f"{c:.0f}" for c in counted)
            + f"  (simulator saw {seen:.0f} for the account; owners: {owners})"
        )

        for kill in range(args.kills):
            owner = next((x for x in laptops if x.team.is_owner), None)
            if owner is None:
                print("no owner to kill")
                break
            laptops.remove(owner)
            took = threading.Event()

            def taken(status: TeamStatus, took: threading.Event = took) -> None:
                if status.owner:
                    took.set()

            for x in laptops:
                x.team.subscribe(taken)
            owner.close(release=False)
            gone = time.monotonic()
            ok = took.wait(3 * ttl)
            spent = time.monotonic() - gone
            print(
                f"kill {kill + 1}: takeover {'after' if ok else 'not within'} {spent:.2f} s "
                f"= {spent / ttl:.2f} x TTL"
            )
            newcomer = _Laptop(root, f"Laptop {next(names)}", sim, timings)
            newcomer.team.start()
            laptops.append(newcomer)
            _wait(lambda: sum(1 for x in laptops if x.team.is_owner) == 1, 3 * ttl)
        for laptop in laptops:
            laptop.close()


if __name__ == "__main__":
    main()
