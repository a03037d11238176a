"""Random worlds of heavy churn, for comparing a poller's history with the truth.

A world is fake servers and the players who come and go between them for
some minutes of fleet clock, all drawn from one seed so that any run can be
replayed exactly. It plays, at random:

- stints from a fraction of a second to several minutes, so that some begin
  and end between two polls;
- leaves, and reconnects after any delay: none, under a second, seconds,
  half a minute; seconds after joining as well as after a long stay;
- moves to another server within a few seconds, and a few SteamIDs playing
  on two servers at once;
- map changes; freezes (RCON hangs 4-12 s while the game goes on), short
  refused blips and minute-long outages (players stay on);
- crashes and restarts: everyone is dropped and the port refuses for a
  while; players come back afterwards;
- RCON password changes, which the panel learns a few seconds before or
  after the server (`World.panel_passwords`: the driver applies them).

Servers keep their `status` answers (`FakeServer.answers`), so a judge knows
which stints a poller could see and how long the gap around a leave was.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right
from dataclasses import dataclass, field

from left4me.rcon.fleet.scenario import CAMPAIGN_MAPS, NAMES
from left4me.rcon.fleet.server import FakeServer
from left4me.rcon.fleet.timeline import Event, Timeline
from left4me.rcon.status import STEAM_ID64_BASE

FIRST_ACCOUNT = 1_000_000  # SteamIDs of churn players: STEAM_ID64_BASE + this + n
# (share, shortest, longest) seconds of one stint: a fifth end before a poll could see them.
STINT_LENGTHS = ((0.2, 0.2, 5.0), (0.25, 5.0, 20.0), (0.35, 20.0, 90.0), (0.2, 90.0, 400.0))
# What a player does when a stint ends on its own, with its weight.
NEXT_MOVES = {"leave": 40, "reconnect": 20, "rejoin": 20, "move": 15, "stay_away": 5}
# Delay before a "rejoin" of the same server: (share, shortest, longest) seconds.
REJOIN_DELAYS = ((0.4, 0.05, 3.0), (0.35, 3.0, 12.0), (0.25, 12.0, 40.0))
# Server trouble: weight and (shortest, longest) seconds.
TROUBLE = {
    "freeze": (45, 4.0, 12.0),  # RCON black-holed, players stay
    "blip": (15, 1.0, 8.0),  # RCON refused, players stay
    "outage": (8, 30.0, 90.0),  # long black hole: sessions go stuck, then come back
    "crash": (22, 2.0, 15.0),  # everyone dropped, port refused
    "restart": (10, 15.0, 75.0),
}
TROUBLE_EVERY = 70.0  # mean seconds between two troubles of one server
MAP_EVERY = 45.0
PICK_TRIES = 8  # servers a player tries (the preferred one first) before waiting a little
PASSWORD_SHARE = 0.25  # of servers whose RCON password changes once
PANEL_LAG = (-6.0, 8.0)  # the panel learns a new password this much after the server


@dataclass(frozen=True, slots=True)
class PanelPassword:
    """At `at`, the panel's stored password of server `server` becomes `password`."""

    at: float
    server: str
    password: str


@dataclass(slots=True)
class World:
    """The servers to run (each keeps its answers) and what their owners do."""

    seed: int
    duration: float
    servers: list[FakeServer]
    panel_passwords: list[PanelPassword]

    def poll_times(self, interval: float = 5.0) -> list[float]:
        """Beat's ticks over this world: one each `interval`, half of them up to
        2 s late, one in thirty never sent (replayable: drawn from the seed)."""
        rng = random.Random(f"left4me-polls-{self.seed}")
        times = []
        for k in range(int(self.duration // interval) + 1):
            if rng.random() < 1 / 30:
                continue
            times.append(k * interval + (rng.uniform(0, 2) if rng.random() < 0.5 else 0.0))
        return times


@dataclass(slots=True)
class _Server:
    index: int
    name: str
    max_players: int
    crashes: list[tuple[float, float]]  # (start, end): no joins, everyone dropped at start
    events: list[Event] = field(default_factory=list)
    busy_until: list[float] = field(default_factory=list)  # when each visit on it ends

    def crashed(self, t: float) -> float | None:
        """When the crash that covers t ends, or None."""
        return next((end for start, end in self.crashes if start <= t < end), None)

    def next_crash(self, after: float, before: float) -> float | None:
        starts = [start for start, _ in self.crashes]
        i = bisect_right(starts, after)
        return starts[i] if i < len(starts) and starts[i] < before else None

    def open_at(self, t: float) -> bool:
        """Up, with a free slot. Asked in time order: visits that ended are dropped."""
        self.busy_until = [end for end in self.busy_until if end > t]
        return self.crashed(t) is None and len(self.busy_until) < self.max_players


@dataclass(slots=True)
class _Player:
    steam_id_64: str
    name: str
    ping: int
    servers: list[int]  # where it may play (twins share a SteamID on disjoint halves)


def churn_world(
    seed: int,
    *,
    servers: int = 20,
    duration: float = 180.0,
    prefix: str = "churn",
    hang: bool = True,
) -> World:
    """A replayable world: `servers` fake servers under churn for `duration` seconds.

    `hang=False` plays freezes and outages as a refused port instead of a
    black hole: on a virtual clock a hang would still cost each poll its
    real timeout, and the session rules treat both failures alike.
    """
    rng = random.Random(f"left4me-churn-{seed}")
    plans = [_plan_server(rng, i, f"{prefix}-{i + 1:03d}", duration, hang) for i in range(servers)]
    players = _players(rng, plans)
    _play(rng, plans, players, duration)
    fakes, panel = [], []
    for plan in plans:
        password = f"pw{rng.getrandbits(64):016x}"
        changes = _password_changes(rng, plan, duration)
        panel += changes
        fakes.append(
            FakeServer(
                name=plan.name,
                password=password,
                timeline=Timeline(map=rng.choice(CAMPAIGN_MAPS), events=plan.events),
                max_players=plan.max_players,
                steam3_ids=plan.index % 5 == 4,
                honest_bot_count=plan.index % 2 == 1,
                answers=[],
            )
        )
    return World(seed, duration, fakes, sorted(panel, key=lambda p: p.at))


def _plan_server(rng: random.Random, index: int, name: str, duration: float, hang: bool) -> _Server:
    """Trouble windows (never overlapping) and map changes of one server."""
    plan = _Server(index, name, rng.choice([4, 4, 8]), crashes=[])
    t = rng.uniform(0, TROUBLE_EVERY)
    kinds, weights = list(TROUBLE), [w for w, _, _ in TROUBLE.values()]
    while t < duration:
        kind = rng.choices(kinds, weights)[0]
        _, low, high = TROUBLE[kind]
        length = rng.uniform(low, high)
        if kind in ("crash", "restart"):
            plan.events.append(Event(t, "restart", duration=length))
            plan.crashes.append((t, t + length))
        else:
            mode = "blackhole" if hang and kind != "blip" else "refused"
            plan.events.append(Event(t, "outage", duration=length, mode=mode))
        t += length + rng.expovariate(1 / TROUBLE_EVERY)
    t = rng.expovariate(1 / MAP_EVERY)
    while t < duration:
        plan.events.append(Event(t, "map_change", map=rng.choice(CAMPAIGN_MAPS)))
        t += rng.expovariate(1 / MAP_EVERY)
    return plan


def _players(rng: random.Random, plans: list[_Server]) -> list[_Player]:
    """About one player per slot; one pair in ten shares a SteamID on disjoint servers."""
    everywhere = [p.index for p in plans]
    count = sum(p.max_players for p in plans)
    players = [
        _Player(str(STEAM_ID64_BASE + FIRST_ACCOUNT + n), rng.choice(NAMES),
                rng.randint(20, 180), everywhere)
        for n in range(count)
    ]  # fmt: skip
    if len(plans) >= 2:
        evens, odds = everywhere[0::2], everywhere[1::2]
        for n in range(0, count - 1, 20):
            players[n].servers, players[n + 1].servers = evens, odds
            players[n + 1].steam_id_64 = players[n].steam_id_64
    return players


def _draw(rng: random.Random, table: tuple[tuple[float, float, float], ...]) -> float:
    shares = [share for share, _, _ in table]
    _, low, high = rng.choices(table, shares)[0]
    return rng.uniform(low, high)


def _play(
    rng: random.Random, plans: list[_Server], players: list[_Player], duration: float
) -> None:
    """Walk every player through the world in time order, writing each server's events.

    A wake-up is (time, order, player, preferred server or -1); joins go to
    a server that is up and has a free slot, so the fleet never lists more
    humans than it has slots. A visit is decided when it begins, so its slot
    is known to be taken until it ends.
    """
    wakeups = [(rng.uniform(0, 30), n, n, -1) for n in range(len(players))]
    heapq.heapify(wakeups)
    order = len(players)
    while wakeups:
        t, _, n, prefer = heapq.heappop(wakeups)
        if t >= duration:
            continue
        player = players[n]
        plan = _pick(rng, plans, player, prefer, t)
        if plan is None:
            order += 1
            heapq.heappush(wakeups, (t + rng.uniform(1, 10), order, n, -1))
            continue
        plan.events.append(Event(t, "join", player.steam_id_64, player.name, player.ping))
        wake, again = _stints(rng, plan, player, t, duration)
        if wake is not None:
            order += 1
            heapq.heappush(wakeups, (wake, order, n, again))


def _pick(
    rng: random.Random, plans: list[_Server], player: _Player, prefer: int, t: float
) -> _Server | None:
    """The preferred server if it is open, else one of a few drawn at random that is."""
    if prefer >= 0 and plans[prefer].open_at(t):
        return plans[prefer]
    for _ in range(PICK_TRIES):
        plan = plans[rng.choice(player.servers)]
        if plan.open_at(t):
            return plan
    return None


def _stints(
    rng: random.Random, plan: _Server, player: _Player, t: float, duration: float
) -> tuple[float | None, int]:
    """One visit: stints on one server from t (zero-delay reconnects chain them).

    It takes a slot until it ends; returns the next wake-up and where to.
    """
    while True:
        end = t + _draw(rng, STINT_LENGTHS)
        crash = plan.next_crash(t, end)
        if crash is not None:  # dropped by the crash; back after it, somewhere
            plan.busy_until.append(crash)
            back = plan.crashed(crash)
            return (back or crash) + rng.uniform(0, 20), -1
        if end >= duration:
            plan.busy_until.append(end)
            return None, -1  # still on at the end of the world
        move = rng.choices(list(NEXT_MOVES), list(NEXT_MOVES.values()))[0]
        if move == "reconnect":
            plan.events.append(Event(end, "reconnect", player.steam_id_64))
            t = end
            continue
        plan.events.append(Event(end, "leave", player.steam_id_64))
        plan.busy_until.append(end)
        if move == "rejoin":
            return end + _draw(rng, REJOIN_DELAYS), plan.index
        if move == "move":
            others = [i for i in player.servers if i != plan.index]
            return end + rng.uniform(0, 4), rng.choice(others) if others else -1
        if move == "stay_away":
            return end + rng.uniform(60, 300), -1
        return end + rng.expovariate(1 / 20), -1


def _password_changes(rng: random.Random, plan: _Server, duration: float) -> list[PanelPassword]:
    if duration < 30 or rng.random() >= PASSWORD_SHARE:
        return []
    at = rng.uniform(10, duration - 10)
    new = f"pw{rng.getrandbits(64):016x}"
    plan.events.append(Event(at, "password", password=new))
    return [PanelPassword(max(0.0, at + rng.uniform(*PANEL_LAG)), plan.name, new)]
