"""How many Steam Web API calls a day does one busy server cost?

Simulates two days on a virtual clock: one server, 200 distinct players (20
with private or deleted profiles that Steam leaves out of its replies), each
visiting 1-4 times a day for 10-90 minutes. Every 5 virtual seconds the real
enrich service runs (as the beat task does) against a throwaway SQLite
database and a fake Steam at the requests transport level that counts calls:
no network. Prints the calls per day beside the spec's bound,
ceil(IDs / 100) per TTL period + new arrivals, read strictly (only arrivals
that found no fresh profile) and literally (every arrival), and what the
seed plan (no cache for unresolved IDs) would have cost.

    .venv/bin/python bench/steam_calls.py
"""

from __future__ import annotations

import math
import os
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import machine, setup_django

if TYPE_CHECKING:
    from steamprofiles.tests.fake_steam import FakeSteam

PLAYERS, PRIVATE, DAYS, TICK = 200, 20, 2, 5
START = datetime(2026, 11, 1, tzinfo=UTC)
FIRST_STEAM_ID = 76561198000000000


@dataclass
class Tally:
    """Per virtual day."""

    calls: Counter = field(default_factory=Counter)
    ids_asked: Counter = field(default_factory=Counter)
    visits: Counter = field(default_factory=Counter)
    misses: Counter = field(default_factory=Counter)  # arrivals with no fresh profile
    players: dict[int, set[str]] = field(default_factory=dict)
    seed_calls: Counter = field(default_factory=Counter)


def plan_visits(rng: random.Random, steam_ids: list[str]) -> list[tuple[float, float, str]]:
    """(join, leave, id) in virtual seconds, sorted by join."""
    rows = []
    for steam_id in steam_ids:
        for day in range(DAYS):
            for _ in range(rng.randint(1, 4)):
                join = day * 86400 + rng.uniform(0, 86400 - 5400)
                rows.append((join, join + rng.uniform(600, 5400), steam_id))
    return sorted(rows)


def install_fake_steam(steam_ids: list[str]) -> FakeSteam:
    """Every call through a counting fake; the first PRIVATE IDs never resolve."""
    from steamprofiles import steam_api
    from steamprofiles.tests.fake_steam import FakeSteam

    fake = FakeSteam()
    for n, steam_id in enumerate(steam_ids[PRIVATE:]):
        fake.add_player(steam_id, f"player {n}")
    steam_api._session = fake.session()
    return fake


class Server:
    """Opens and closes PlayerSession rows like the poller would."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from servers.models import Server as ServerModel

        owner = get_user_model().objects.create(username="bench")
        self.row = ServerModel.objects.create(owner=owner, name="busy", port=27015)
        self.open: dict[str, tuple[float, int]] = {}  # id -> (leave, session pk)

    def join(self, steam_id: str, leave: float, now: datetime) -> bool:
        from livestate.models import PlayerSession

        if steam_id in self.open:
            return False
        pk = PlayerSession.objects.create(
            server=self.row, steam_id_64=steam_id, joined_at=now, last_seen_at=now,
            name_at_join="x", min_ping=50, max_ping=50,
        ).pk  # fmt: skip
        self.open[steam_id] = (leave, pk)
        return True

    def leave_due(self, tick: float, now: datetime) -> None:
        from livestate.models import PlayerSession

        gone = [(i, pk) for i, (leave, pk) in self.open.items() if leave <= tick]
        if gone:
            pks = [pk for _, pk in gone]
            PlayerSession.objects.filter(pk__in=pks).update(left_at=now, last_seen_at=now)
            for steam_id, _ in gone:
                del self.open[steam_id]


def arrive(
    server: Server, visit: tuple[float, float, str], tick: float, now: datetime, tally: Tally
) -> None:
    from steamprofiles.models import SteamProfile

    _join, leave, steam_id = visit
    if not server.join(steam_id, leave, now):
        return
    day = int(tick // 86400)
    tally.visits[day] += 1
    tally.players.setdefault(day, set()).add(steam_id)
    if not SteamProfile.objects.fresh(now).filter(pk=steam_id).exists():
        tally.misses[day] += 1


def simulate(steam_ids: list[str], fake: FakeSteam) -> Tally:
    from steamprofiles import services, tasks

    plan, cursor, tally = plan_visits(random.Random(7), steam_ids), 0, Tally()
    server, private = Server(), set(steam_ids[:PRIVATE])
    for tick in range(0, DAYS * 86400, TICK):
        now, day = START + timedelta(seconds=tick), tick // 86400
        server.leave_due(tick, now)
        while cursor < len(plan) and plan[cursor][0] <= tick:
            arrive(server, plan[cursor], tick, now, tally)
            cursor += 1
        before = (len(fake.calls), sum(len(c) for c in fake.calls))
        services.enrich_steam_profiles(now=now, max_calls=tasks.ENRICH_MAX_CALLS)
        tally.calls[day] += len(fake.calls) - before[0]
        tally.ids_asked[day] += sum(len(c) for c in fake.calls) - before[1]
        # The seed plan never cached unresolved IDs: one call per tick while one plays.
        tally.seed_calls[day] += bool(private & server.open.keys())
    return tally


def bound(tally: Tally, day: int, ttl: int) -> float:
    """The spec's ceiling: ceil(IDs / 100) per TTL period + arrivals with no fresh profile."""
    ids = len(tally.players.get(day, ()))
    return math.ceil(ids / 100) * 86400 / ttl + tally.misses[day]


def report(tally: Tally) -> None:
    from django.conf import settings

    ttl = settings.STEAM_PROFILE_TTL_SECONDS
    print(f"machine: {machine()}")
    print(f"{PLAYERS} distinct players ({PRIVATE} never resolved), TTL {ttl} s, ", end="")
    print(f"enrich every {TICK} s, {DAYS} virtual days")
    for day in range(DAYS):
        print(
            f"day {day + 1}: {tally.calls[day]} calls, {tally.ids_asked[day]} IDs asked, "
            f"{len(tally.players.get(day, ()))} players, {tally.visits[day]} visits, "
            f"{tally.misses[day]} arrivals without a fresh profile -> "
            f"bound {bound(tally, day, ttl):.0f}; seed plan {tally.seed_calls[day]} calls"
        )
    steady = range(1, DAYS)  # day 1 starts with an empty cache
    calls = sum(tally.calls[d] for d in steady) / len(steady)
    asked = sum(tally.ids_asked[d] for d in steady) / len(steady)
    ceiling = sum(bound(tally, d, ttl) for d in steady) / len(steady)
    overall = sum(tally.calls.values()) / DAYS
    print(f"Steam API calls per day over all {DAYS} days (cold start included): {overall:.1f}")
    visits = sum(tally.visits[d] for d in steady) / len(steady)
    literal = math.ceil(PLAYERS / 100) * 86400 / ttl + visits
    print(
        f"Steam API calls per day (steady state, after day 1): {calls:.1f} "
        f"({asked:.0f} IDs asked/day; strict bound {ceiling:.1f}/day counting only "
        f"arrivals without a fresh profile, {literal:.0f}/day counting every arrival)"
    )


def main() -> None:
    os.environ["STEAM_WEB_API_KEY"] = "fake"  # read by settings; only the fake sees it
    setup_django("sqlite")
    steam_ids = [str(FIRST_STEAM_ID + i) for i in range(PLAYERS)]
    fake = install_fake_steam(steam_ids)
    report(simulate(steam_ids, fake))


if __name__ == "__main__":
    main()
