"""A world of servers that differ like real ones, planned in wall-clock time.

The quick start's fleet and its seeded week of history are two views of one
plan, so the history looks like what the live fleet then plays:

- each server has a personality (`PERSONALITIES`): slots, how popular it is,
  the UTC offset of its players' evening, and its trouble. The first six are
  a busy 8-slot server, a quiet one that is empty most of the time (its
  password is rejected for a while every few days), a flaky one that stops
  answering for two minutes every twenty, one nobody plays on (hibernating),
  a US one and an Asian versus server; more servers repeat the mix;
- players arrive more often in their evening and at weekends (`busyness`),
  stay minutes to hours, come from a pool of regulars and wanderers with
  valid-looking SteamID64s, and are never on two servers at once;
- maps move through the campaigns' chapters while someone plays.

A plan is a pure function of its seed, server count and time window.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime

from left4me.rcon.status import STEAM_ID64_BASE

CAMPAIGNS = (
    ("c1m1_hotel", "c1m2_streets", "c1m3_mall", "c1m4_atrium"),
    ("c2m1_highway", "c2m2_fairground", "c2m3_coaster", "c2m4_barns", "c2m5_concert"),
    ("c3m1_plankcountry", "c3m2_swamp", "c3m3_shantytown", "c3m4_plantation"),
    ("c4m1_milltown_a", "c4m2_sugarmill_a", "c4m3_sugarmill_b", "c4m4_milltown_b",
     "c4m5_milltown_escape"),
    ("c5m1_waterfront", "c5m2_park", "c5m3_cemetery", "c5m4_quarter", "c5m5_bridge"),
    ("c8m1_apartment", "c8m2_subway", "c8m3_sewers", "c8m4_interior", "c8m5_rooftop"),
)  # fmt: skip
ROTATION = tuple(chapter for campaign in CAMPAIGNS for chapter in campaign)
CHAPTER_SECONDS = (8 * 60.0, 20 * 60.0)  # one chapter played, shortest and longest
STAY_MEDIAN, STAY_SIGMA = 25 * 60.0, 0.8  # log-normal minutes to hours
STAY_SECONDS = (3 * 60.0, 4 * 3600.0)
MEAN_STAY = STAY_MEDIAN * math.exp(STAY_SIGMA**2 / 2)
REST_SECONDS = 90.0  # a player who left is back no sooner than this
REGULARS, WANDERERS = 30, 40  # per server / shared by the whole world
REGULAR_SHARE = 0.7
PICK_TRIES = 8
RENAME_SHARE = 0.1  # of players who change their name once
# SteamID64s near the top of the 7656119… range, above most accounts Steam has issued.
FIRST_ACCOUNT, ACCOUNTS = 2_000_000_000, 39_000_000
OUTAGE_FIRST = 6 * 60.0  # the flaky server's first outage, seconds after the plan starts
CRASH_SECONDS = (3 * 60.0, 10 * 60.0)
AUTH_FIRST = 86400.0  # the quiet server's first rejected password, after the plan starts
AUTH_SECONDS = (15 * 60.0, 45 * 60.0)
DAY = 86400.0

HANDLES = ("Tank", "Witch", "Boomer", "Hunter", "Smoker", "Jockey", "Charger", "Spitter",
           "Medkit", "Pills", "Molotov", "Chainsaw", "Gnome", "Horde", "Rescue", "Adrenaline",
           )  # fmt: skip
ADJECTIVES = ("Dark", "Lazy", "Crazy", "Silent", "Rusty", "Happy", "Angry", "Lucky",
              "Sneaky", "Mighty", "Tiny", "Grumpy", "Sleepy", "Brave", "Wild", "Salty")  # fmt: skip
ODD_NAMES = ("Тимофей", "小明", "🧟 survivor", 'The "Boss"', "#1 Tank Fan", "Ellis's Cousin",
             "ゾーイ", "Jörg", "x")  # fmt: skip
TAGS = ("[L4D] ", "[CEDA] ", "<3 ", "=DC= ")


@dataclass(frozen=True, slots=True)
class Personality:
    """What kind of server this is: how full it gets, when, and how it fails."""

    title: str
    max_players: int
    popularity: float  # share of slots taken at its players' peak hour
    utc_offset: int  # hours: where its players live
    outage_every: float = 0.0  # scripted outages, seconds apart (0: none)
    outage_seconds: float = 0.0
    crash_every: float = 0.0  # mean seconds between crashes of a few minutes (0: none)
    auth_every: float = 0.0  # seconds between spells of a rejected password (0: none)
    honest_bot_count: bool = False
    steam3_ids: bool = False


PERSONALITIES = (
    Personality("Busy EU", 8, 0.9, 1, crash_every=2 * DAY, honest_bot_count=True),
    Personality("Quiet US", 4, 0.1, -5, auth_every=3 * DAY),
    Personality("Flaky", 4, 0.6, 0, outage_every=20 * 60.0, outage_seconds=120.0),
    Personality("Hibernating", 4, 0.0, 0),
    Personality("US West", 4, 0.55, -8, crash_every=3 * DAY, steam3_ids=True),
    Personality("Asia versus", 8, 0.7, 8, honest_bot_count=True),
)
REPEATED = (0, 4, 5, 1)  # the kinds more servers cycle through


def personality(index: int) -> Personality:
    """The index-th server's personality: the six above, then variations on them."""
    if index < len(PERSONALITIES):
        return PERSONALITIES[index]
    base = PERSONALITIES[REPEATED[index % len(REPEATED)]]
    return replace(base, utc_offset=(base.utc_offset + 5 * index) % 24 - 12)


def busyness(when: float, utc_offset: int) -> float:
    """0..1: how busy a server is at epoch second `when` compared with its peak.

    Players come in the evening (peak at 21:00 local), hardly at breakfast
    time, and a quarter more at weekends.
    """
    local = when + utc_offset * 3600
    hour = local % DAY / 3600
    day = (int(local // DAY) + 3) % 7  # 1970-01-01 was a Thursday: Monday is 0
    curve = 0.06 + 0.94 * ((1 + math.cos(2 * math.pi * (hour - 21) / 24)) / 2) ** 2
    return min(1.0, curve * (1.25 if day >= 5 else 1.0))


@dataclass(frozen=True, slots=True)
class Visit:
    """One session played, epoch seconds; `left` is the plan's end for who stays on."""

    steam_id_64: str
    name: str
    ping: int
    joined: float
    left: float


@dataclass(frozen=True, slots=True)
class Down:
    """A stretch in which the panel gets no answer: "unreachable" (nobody is on
    afterwards: the server went away) or "auth_failed" (its password changed)."""

    start: float
    end: float
    reason: str


@dataclass(slots=True)
class ServerPlan:
    index: int
    name: str
    personality: Personality
    first_map: str
    maps: list[tuple[float, str]] = field(default_factory=list)  # (when, new map)
    visits: list[Visit] = field(default_factory=list)
    down: list[Down] = field(default_factory=list)
    _ends: list[float] = field(default_factory=list, repr=False)  # visits on now end then

    def down_at(self, when: float) -> Down | None:
        i = bisect.bisect_right([d.start for d in self.down], when) - 1
        return self.down[i] if i >= 0 and when < self.down[i].end else None

    def next_down(self, when: float) -> float:
        starts = [d.start for d in self.down]
        i = bisect.bisect_right(starts, when)
        return starts[i] if i < len(starts) else math.inf

    def players_at(self, when: float) -> int:
        return sum(1 for v in self.visits if v.joined <= when < v.left)


@dataclass(slots=True)
class _Player:
    steam_id_64: str
    names: tuple[str, str]
    renamed_at: float  # the second name from then on
    ping: int

    def name_at(self, when: float) -> str:
        return self.names[1] if when >= self.renamed_at else self.names[0]


def plan_world(
    count: int, *, seed: int, start: datetime, end: datetime, prefix: str = "sim"
) -> list[ServerPlan]:
    """`count` servers' visits, maps and outages from `start` to `end` (aware datetimes)."""
    rng = random.Random(f"left4me-variety-{seed}")
    t0, t1 = start.timestamp(), end.timestamp()
    plans = [_server(rng, i, prefix, t0, t1) for i in range(count)]
    regulars = [_players(rng, REGULARS, t0, t1) for _ in plans]
    wanderers = _players(rng, WANDERERS, t0, t1)
    _play(rng, plans, regulars, wanderers, t0, t1)
    for plan in plans:
        _rotate_maps(rng, plan, t0, t1)
    return plans


def _server(rng: random.Random, index: int, prefix: str, t0: float, t1: float) -> ServerPlan:
    kind = personality(index)
    campaign = CAMPAIGNS[rng.randrange(len(CAMPAIGNS))]
    plan = ServerPlan(index, f"{prefix}-{index + 1:04d} {kind.title}", kind, campaign[0])
    down: list[Down] = []
    if kind.outage_every:
        t = t0 + OUTAGE_FIRST
        while t < t1:
            down.append(Down(t, t + kind.outage_seconds, "unreachable"))
            t += kind.outage_every
    if kind.crash_every:
        t = t0 + rng.expovariate(1 / kind.crash_every)
        while t < t1:
            down.append(Down(t, t + rng.uniform(*CRASH_SECONDS), "unreachable"))
            t += rng.expovariate(1 / kind.crash_every)
    if kind.auth_every:
        t = t0 + AUTH_FIRST
        while t < t1:
            at = t + rng.uniform(0, 6 * 3600)
            down.append(Down(at, at + rng.uniform(*AUTH_SECONDS), "auth_failed"))
            t += kind.auth_every
    for spell in sorted(down, key=lambda d: d.start):  # never overlapping
        if not plan.down or spell.start >= plan.down[-1].end:
            plan.down.append(replace(spell, end=min(spell.end, t1)))
    return plan


def _players(rng: random.Random, count: int, t0: float, t1: float) -> list[_Player]:
    players = []
    for _ in range(count):
        account = STEAM_ID64_BASE + FIRST_ACCOUNT + rng.randrange(ACCOUNTS)
        names = (_name(rng), _name(rng))
        renamed = rng.uniform(t0, t1) if rng.random() < RENAME_SHARE else math.inf
        players.append(_Player(str(account), names, renamed, rng.randint(15, 160)))
    return players


def _name(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(ODD_NAMES)
    name = rng.choice(ADJECTIVES) + rng.choice(HANDLES)
    if rng.random() < 0.4:
        name += str(rng.randint(1, 999))
    return (rng.choice(TAGS) if rng.random() < 0.2 else "") + name


def _play(
    rng: random.Random,
    plans: list[ServerPlan],
    regulars: list[list[_Player]],
    wanderers: list[_Player],
    t0: float,
    t1: float,
) -> None:
    """Arrivals of every server in time order, so no player is on two servers at once.

    Arrivals follow each server's busyness by thinning: candidates come at the
    peak rate, and one at time t is kept with probability busyness(t). The
    first minute fills each server to about what its hour expects, so a fresh
    fleet is not empty.
    """
    free_at: dict[str, float] = {}
    heap: list[tuple[float, int, bool]] = []  # (when, server, thinned candidate?)
    for plan in plans:
        kind = plan.personality
        if not kind.popularity:
            continue
        expected = kind.popularity * busyness(t0, kind.utc_offset) * kind.max_players
        fill = max(round(expected), 1 if kind.popularity >= 0.5 else 0)
        heap += [(t0 + rng.uniform(2, 30), plan.index, False) for _ in range(fill)]
        heap.append((t0 + rng.expovariate(_peak_rate(kind)), plan.index, True))
    heapq.heapify(heap)
    while heap:
        t, index, thinned = heapq.heappop(heap)
        if t >= t1:
            continue
        plan = plans[index]
        kind = plan.personality
        if thinned:
            heapq.heappush(heap, (t + rng.expovariate(_peak_rate(kind)), index, True))
            if rng.random() >= busyness(t, kind.utc_offset):
                continue
        plan._ends = [end for end in plan._ends if end > t]
        if plan.down_at(t) or len(plan._ends) >= kind.max_players:
            continue
        player = _pick(rng, regulars[index], wanderers, free_at, t)
        if player is None:
            continue
        stay = min(max(rng.lognormvariate(math.log(STAY_MEDIAN), STAY_SIGMA), STAY_SECONDS[0]),
                   STAY_SECONDS[1])  # fmt: skip
        left = min(t + stay, plan.next_down(t), t1)
        ping = max(5, player.ping + rng.randint(-5, 15))
        plan.visits.append(Visit(player.steam_id_64, player.name_at(t), ping, t, left))
        plan._ends.append(left)
        free_at[player.steam_id_64] = left + REST_SECONDS


def _peak_rate(kind: Personality) -> float:
    """Arrivals per second at the peak: enough to keep `popularity` of the slots taken."""
    return kind.popularity * kind.max_players / MEAN_STAY


def _pick(
    rng: random.Random,
    regulars: list[_Player],
    wanderers: list[_Player],
    free_at: dict[str, float],
    t: float,
) -> _Player | None:
    for _ in range(PICK_TRIES):
        pool = regulars if rng.random() < REGULAR_SHARE else wanderers
        player = rng.choice(pool)
        if free_at.get(player.steam_id_64, -math.inf) <= t:
            return player
    return None


def _rotate_maps(rng: random.Random, plan: ServerPlan, t0: float, t1: float) -> None:
    """The next chapter each time one is played through; an empty server stays put."""
    joins = sorted(v.joined for v in plan.visits)
    lefts = sorted(v.left for v in plan.visits)
    position = ROTATION.index(plan.first_map)
    t = t0 + rng.uniform(*CHAPTER_SECONDS)
    while t < t1:
        if bisect.bisect_right(joins, t) - bisect.bisect_right(lefts, t) > 0:
            position = (position + 1) % len(ROTATION)
            plan.maps.append((t, ROTATION[position]))
        t += rng.uniform(*CHAPTER_SECONDS)
