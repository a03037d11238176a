"""The quick start's fleet: the varied world of `variety`, played by fake servers.

Fleet clock zero is `start`: a plan's epoch second t is clock second
t - start. Unreachable spells are played as restarts (the port refuses and
everyone is dropped, as the plan has it); a rejected password needs the
panel's side too, so it is left to the seeded history.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from left4me.rcon.fleet.server import FakeServer
from left4me.rcon.fleet.timeline import Event, Timeline
from left4me.rcon.fleet.variety import ServerPlan, plan_world

WEEK = 7 * 86400.0


def demo_fleet(
    count: int,
    *,
    seed: int = 1,
    start: datetime | None = None,
    horizon: float = WEEK,
    prefix: str = "sim",
    refused_ratio: float = 0.0,
    blackhole_ratio: float = 0.0,
) -> list[FakeServer]:
    """`count` varied servers whose clock zero is `start` (default now), scripted for
    `horizon` seconds; the given shares of them refuse or black-hole every query."""
    start = start or datetime.now(UTC)
    plans = plan_world(
        count, seed=seed, start=start, end=start + timedelta(seconds=horizon), prefix=prefix
    )
    failures = _failures(count, seed, refused_ratio, blackhole_ratio)
    origin = start.timestamp()
    return [
        FakeServer(
            name=plan.name,
            password=secrets.token_urlsafe(24),
            timeline=Timeline(map=plan.first_map, events=events_of(plan, origin)),
            max_players=plan.personality.max_players,
            failure=failures.get(plan.index, ""),
            steam3_ids=plan.personality.steam3_ids,
            honest_bot_count=plan.personality.honest_bot_count,
        )
        for plan in plans
    ]


def events_of(plan: ServerPlan, origin: float) -> list[Event]:
    """The plan as timeline events on a clock whose zero is epoch second `origin`."""
    events = []
    for visit in plan.visits:
        events += [
            Event(visit.joined - origin, "join", visit.steam_id_64, visit.name, visit.ping),
            Event(visit.left - origin, "leave", visit.steam_id_64),
        ]
    events += [Event(at - origin, "map_change", map=name) for at, name in plan.maps]
    events += [
        Event(spell.start - origin, "restart", duration=spell.end - spell.start)
        for spell in plan.down
        if spell.reason == "unreachable"
    ]
    return events


def _failures(count: int, seed: int, refused: float, blackholed: float) -> dict[int, str]:
    """Which servers fail every query, spread through the fleet (as `random_fleet` does)."""
    rng = random.Random(f"left4me-demo-failures-{seed}")
    n_refused, n_blackholed = round(count * refused), round(count * blackholed)
    broken = rng.sample(range(count), min(count, n_refused + n_blackholed))
    return dict.fromkeys(broken[:n_refused], "refused") | dict.fromkeys(
        broken[n_refused:], "blackhole"
    )
