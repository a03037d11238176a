"""Build fake servers from a JSON scenario or at random.

JSON format (times in seconds of the fleet clock):

    {"servers": [{
        "name": "coop-1", "password": "secret", "map": "c1m1_hotel",
        "max_players": 4, "failure": "",            # or refused, blackhole, slow, ...
                                                    # or a hostile mode (server.HOSTILE_MODES)
        "slow_seconds": 3.0, "flood_players": 5000,  # for "slow" and "flood_roster"
        "steam3_ids": false, "honest_bot_count": false,
        "events": [
            {"at": 10, "kind": "join", "steam_id_64": "76561197960287930", "name": "Alice",
             "ping": 40},
            {"at": 600, "kind": "map_change", "map": "c1m2_streets"},
            {"at": 900, "kind": "reconnect", "steam_id_64": "76561197960287930"},
            {"at": 1200, "kind": "outage", "duration": 30, "mode": "blackhole"},
            {"at": 1500, "kind": "restart", "duration": 20},
            {"at": 1800, "kind": "leave", "steam_id_64": "76561197960287930"}
        ]}]}
"""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path

from left4me.rcon.fleet.server import HOSTILE_MODES, FakeServer
from left4me.rcon.fleet.timeline import Event, Timeline
from left4me.rcon.status import STEAM_ID64_BASE

CAMPAIGN_MAPS = [f"c{c}m{m}_{n}" for c, m, n in [
    (1, 1, "hotel"), (1, 2, "streets"), (1, 3, "mall"), (1, 4, "atrium"),
    (2, 1, "highway"), (2, 2, "fairground"), (3, 1, "plankcountry"), (4, 1, "milltown_a"),
    (5, 1, "waterfront"), (8, 1, "apartment"), (8, 2, "subway"), (14, 1, "junkyard"),
]]  # fmt: skip
NAMES = [
    "Crone", "Zoey", "[TAG] Francis", 'The "Boss"', "#1 Tank Fan", "Ellis's Cousin",
    "Тимофей", "小明", "🧟 survivor", "Bill Murray", "x", "A player with a long name!!",
]  # fmt: skip


def server_from_dict(data: dict) -> FakeServer:
    events = [Event(**event) for event in data.get("events", [])]
    return FakeServer(
        name=data["name"],
        password=data.get("password") or secrets.token_urlsafe(16),
        timeline=Timeline(map=data.get("map", "c1m1_hotel"), events=events),
        max_players=int(data.get("max_players", 4)),
        failure=data.get("failure", ""),
        slow_seconds=float(data.get("slow_seconds", 3.0)),
        flood_players=int(data.get("flood_players", 5000)),
        steam3_ids=bool(data.get("steam3_ids", False)),
        honest_bot_count=bool(data.get("honest_bot_count", False)),
    )


def load_scenario(path: Path | str) -> list[FakeServer]:
    data = json.loads(Path(path).read_text())
    return [server_from_dict(entry) for entry in data["servers"]]


def churn_events(
    rng: random.Random, *, max_players: int, horizon: float, id_base: int
) -> list[Event]:
    """Players arriving every few minutes, staying 2-40 minutes; maps rotating."""
    events: list[Event] = []
    t, pool = 0.0, [str(STEAM_ID64_BASE + id_base + i) for i in range(40)]
    busy_until: dict[str, float] = {}
    while t < horizon:
        # The first players arrive within seconds so a fresh demo has someone on.
        t += rng.expovariate(1 / 150) if len(events) > 2 else rng.uniform(1, 15)
        free = [p for p in pool if busy_until.get(p, -1) < t]
        online = sum(1 for p in pool if busy_until.get(p, -1) >= t)
        if free and online < max_players:
            who = rng.choice(free)
            stay = rng.uniform(120, 2400)
            busy_until[who] = t + stay
            events.append(Event(t, "join", who, rng.choice(NAMES), rng.randint(20, 180)))
            if rng.random() < 0.1:
                events.append(Event(t + stay / 2, "reconnect", who))
            events.append(Event(t + stay, "leave", who))
        if rng.random() < 0.08:
            events.append(Event(t, "map_change", map=rng.choice(CAMPAIGN_MAPS)))
    return events


def random_fleet(
    count: int, *, seed: int = 1, refused_ratio: float = 0.0, blackhole_ratio: float = 0.0,
    hostile: int = 0, horizon: float = 86400.0, churn: bool = True, prefix: str = "sim",
) -> list[FakeServer]:  # fmt: skip
    """`count` servers with churn: `hostile` of them attack the panel (the hostile
    modes in turn), and the given shares of the others refuse or black-hole."""
    if not 0 <= hostile <= count:
        raise ValueError(f"hostile must be between 0 and {count}, got {hostile}")
    rng = random.Random(seed)
    refused = round((count - hostile) * refused_ratio)
    blackholed = round((count - hostile) * blackhole_ratio)
    broken = rng.sample(range(count), refused + blackholed + hostile)  # spread through the fleet
    failures = dict.fromkeys(broken[:refused], "refused")
    failures |= dict.fromkeys(broken[refused : refused + blackholed], "blackhole")
    attackers = broken[refused + blackholed :]
    failures |= {i: HOSTILE_MODES[n % len(HOSTILE_MODES)] for n, i in enumerate(attackers)}
    servers = []
    for index in range(count):
        failure = failures.get(index, "")
        max_players = rng.choice([4, 4, 8])
        events = (
            churn_events(rng, max_players=max_players, horizon=horizon, id_base=index * 1000)
            if churn
            else []
        )
        servers.append(FakeServer(
            name=f"{prefix}-{index + 1:04d}",
            password=secrets.token_urlsafe(24),
            timeline=Timeline(map=rng.choice(CAMPAIGN_MAPS), events=events),
            max_players=max_players,
            failure=failure,
            steam3_ids=index % 5 == 4,
            honest_bot_count=index % 2 == 1,
        ))  # fmt: skip
    return servers
