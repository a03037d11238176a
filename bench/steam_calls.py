"""How many Steam Web API calls a day does one busy server cost?

Simulates two days on a virtual clock: one server, 200 distinct players (20
with private profiles Steam leaves out of replies) who each visit a few
times a day. The real enrich service runs every 5 virtual seconds against a
fake Steam at the transport level (no network) that counts calls. Prints
calls per day beside the bound ceil(IDs / 100) per TTL period + arrivals.

    .venv/bin/python bench/steam_calls.py
"""

from __future__ import annotations

import math
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import machine, setup_django

PLAYERS, PRIVATE, DAYS, TICK = 200, 20, 2, 5
START = datetime(2026, 11, 1, tzinfo=UTC)


def visits(rng: random.Random, steam_ids: list[str]) -> list[tuple[float, float, str]]:
    """(join, leave, id): each player comes 1-4 times a day for 10-90 minutes."""
    rows = []
    for steam_id in steam_ids:
        for day in range(DAYS):
            for _ in range(rng.randint(1, 4)):
                join = day * 86400 + rng.uniform(0, 86400 - 5400)
                rows.append((join, join + rng.uniform(600, 5400), steam_id))
    return sorted(rows)


def main() -> None:
    setup_django("sqlite")
    import requests
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from livestate.models import PlayerSession
    from servers.models import Server
    from steamprofiles import services, steam_api
    from steamprofiles.tests.conftest import FakeSteam

    settings.STEAM_WEB_API_KEY = "bench-key"
    fake = FakeSteam()
    session = requests.Session()
    session.mount("https://", fake)
    steam_api._session = session

    rng = random.Random(7)
    ids = [str(76561198000000000 + i) for i in range(PLAYERS)]
    for steam_id in ids[PRIVATE:]:
        fake.known[steam_id] = {"steamid": steam_id, "personaname": f"p{steam_id[-3:]}"}
    owner = get_user_model().objects.create(username="bench")
    server = Server.objects.create(owner=owner, name="busy", port=27015, desired_state="running")
    plan, open_rows, cursor = visits(rng, ids), {}, 0
    arrivals = 0
    for tick in range(0, DAYS * 86400, TICK):
        now = START + timedelta(seconds=tick)
        while cursor < len(plan) and plan[cursor][0] <= tick:
            join, leave, steam_id = plan[cursor]
            cursor += 1
            if steam_id in open_rows:
                continue
            arrivals += 1
            open_rows[steam_id] = (leave, PlayerSession.objects.create(
                server=server, steam_id_64=steam_id, joined_at=START + timedelta(seconds=join),
                last_seen_at=now, name_at_join="x", min_ping=50, max_ping=50,
            ))  # fmt: skip
        for steam_id, (leave, row) in list(open_rows.items()):
            if leave <= tick:
                PlayerSession.objects.filter(pk=row.pk).update(left_at=now, last_seen_at=now)
                del open_rows[steam_id]
        services.enrich_steam_profiles(now=now)

    calls_per_day = len(fake.calls) / DAYS
    ttl_periods_per_day = 86400 / settings.STEAM_PROFILE_TTL_SECONDS
    bound = math.ceil(PLAYERS / 100) * ttl_periods_per_day + arrivals / DAYS
    print(f"machine: {machine()}")
    print(f"{PLAYERS} distinct players ({PRIVATE} private), {arrivals / DAYS:.0f} visits/day, "
          f"enrich every {TICK} s, TTL {settings.STEAM_PROFILE_TTL_SECONDS} s")  # fmt: skip
    print(f"Steam API calls per day: {calls_per_day:.1f}")
    print(f"IDs asked per day: {sum(len(c) for c in fake.calls) / DAYS:.0f}")
    print(f"bound ceil(IDs/100) per TTL period + arrivals: {bound:.0f}/day")


if __name__ == "__main__":
    main()
