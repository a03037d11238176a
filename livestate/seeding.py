"""A week of simulated history for servers that have none, so a fresh quick
start has charts, statistics and player pages to show.

The history is what a perfect poller would have stored of the world the
quick start's fleet plays (`left4me.rcon.fleet.variety`): polls every
LIVE_STATE_POLL_SECONDS; a rejected password tried again only after
RCON_AUTH_BACKOFF_SECONDS; snapshots and reachability runs run-length
encoded; a session from the join (or from the first poll that could see it)
to its last sighting, split where the server did not answer. Every session
is closed before `now`. Rows are bulk-inserted, then the rollups of the
window are recomputed.

Servers that already have any history (snapshot, session or reachability
run) are never touched, so seeding twice adds nothing.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from left4me.rcon.fleet.variety import ServerPlan, plan_world
from livestate.models import LiveStateSnapshot, PlayerSession, ReachabilityRun
from livestate.rollups import roll_up
from servers.models import Server

Outcome = ReachabilityRun.Outcome
BATCH = 2000
FAKE_BOTS = 4  # the fake servers list four bots at most


@dataclass(frozen=True, slots=True)
class SeedReport:
    seeded: list[int]  # ids of the servers given history
    skipped: list[int]  # ids of those that already had some: left alone
    snapshots: int = 0
    sessions: int = 0
    reachability_runs: int = 0
    rollups: int = 0  # rollup rows written


@dataclass(slots=True)
class Recorded:
    """What polling one server would have stored, before it has a server id."""

    snapshots: list[LiveStateSnapshot] = field(default_factory=list)
    sessions: list[PlayerSession] = field(default_factory=list)
    runs: list[ReachabilityRun] = field(default_factory=list)

    def belong_to(self, server_id: int) -> None:
        for snapshot in self.snapshots:
            snapshot.server_id = server_id
        for session in self.sessions:
            session.server_id = server_id
        for run in self.runs:
            run.server_id = server_id


def seed_history(
    servers: Iterable[Server], *, days: int = 7, now: datetime, seed: int = 1
) -> SeedReport:
    """Write `days` of simulated history up to `now` for those of `servers` with none.

    The servers' order picks their personalities (the first is busy, the
    second quiet, the third flaky, the fourth never played on...), as the
    quick start's fleet orders them by port.
    """
    servers = list(servers)
    start = now - timedelta(days=days)
    ids = [server.pk for server in servers]
    with transaction.atomic():
        # Locks the rows (PostgreSQL) so two seeders cannot both find them empty.
        list(Server.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
        known = with_history(ids)
        plans = plan_world(len(servers), seed=seed, start=start, end=now)
        grid = Grid(start, now, poll=settings.LIVE_STATE_POLL_SECONDS,
                    backoff=settings.RCON_AUTH_BACKOFF_SECONDS)  # fmt: skip
        total = Recorded()
        for server, plan in zip(servers, plans, strict=True):
            if server.pk not in known:
                rng = random.Random(f"left4me-seeding-{seed}-{plan.index}")  # pings
                recorded = record(plan, grid, rng)
                recorded.belong_to(server.pk)
                total.snapshots += recorded.snapshots
                total.sessions += recorded.sessions
                total.runs += recorded.runs
        LiveStateSnapshot.objects.bulk_create(total.snapshots, batch_size=BATCH)
        PlayerSession.objects.bulk_create(total.sessions, batch_size=BATCH)
        ReachabilityRun.objects.bulk_create(total.runs, batch_size=BATCH)
    seeded = [pk for pk in ids if pk not in known]
    rollups = roll_up(start=start, end=now) if seeded else 0
    return SeedReport(
        seeded, [pk for pk in ids if pk in known], len(total.snapshots), len(total.sessions),
        len(total.runs), rollups,
    )  # fmt: skip


def with_history(ids: list[int]) -> set[int]:
    """The servers among `ids` with any snapshot, session or reachability run."""
    found: set[int] = set()
    for model in (LiveStateSnapshot, PlayerSession, ReachabilityRun):
        found |= set(
            model.objects.filter(server_id__in=ids).values_list("server_id", flat=True).distinct()
        )
    return found


@dataclass(frozen=True, slots=True)
class Grid:
    """The poll instants start + k * poll for k >= 0, before `end`."""

    start: datetime
    end: datetime
    poll: float
    backoff: float

    @property
    def count(self) -> int:
        return math.ceil((self.end - self.start).total_seconds() / self.poll)

    def at(self, k: int) -> datetime:
        return self.start + timedelta(seconds=k * self.poll)

    def first_from(self, epoch: float) -> int:
        """The first poll at or after epoch second `epoch` (clamped to the grid)."""
        offset = epoch - self.start.timestamp()
        return min(max(0, math.ceil(offset / self.poll - 1e-9)), self.count)


@dataclass(frozen=True, slots=True)
class Blocked:
    """Polls [first, end) that got no answer; `tries` the ones actually sent."""

    first: int
    end: int
    reason: str
    tries: tuple[int, ...]


def record(plan: ServerPlan, grid: Grid, rng: random.Random) -> Recorded:
    """One server's plan as the rows polling it would have written."""
    blocked = blocked_polls(plan, grid)
    answered = answered_ranges(blocked, grid.count)
    return Recorded(
        snapshots=snapshots(plan, grid, answered),
        sessions=sessions(plan, grid, answered, rng),
        runs=reachability_runs(blocked, answered, grid),
    )


def blocked_polls(plan: ServerPlan, grid: Grid) -> list[Blocked]:
    """The polls each spell of the plan kept from being answered.

    Unreachable: every poll inside it fails. A rejected password: one try,
    then one per back-off, until the first try after the spell answers.
    """
    every = max(1, math.ceil(grid.backoff / grid.poll))
    blocked: list[Blocked] = []
    for spell in plan.down:
        first = max(grid.first_from(spell.start), blocked[-1].end if blocked else 0)
        end = grid.first_from(spell.end)
        if spell.reason == Outcome.AUTH_FAILED:
            tries = -(-(end - first) // every)  # the try at first + tries * every answers
            end = min(first + tries * every, grid.count)
            sent = tuple(range(first, end, every))
        else:
            sent = tuple(range(first, end))
        if sent:
            blocked.append(Blocked(first, end, spell.reason, sent))
    return blocked


def answered_ranges(blocked: list[Blocked], count: int) -> list[tuple[int, int]]:
    """The [first, end) stretches of polls that were answered."""
    ranges, k = [], 0
    for spell in blocked:
        if spell.first > k:
            ranges.append((k, spell.first))
        k = spell.end
    if k < count:
        ranges.append((k, count))
    return ranges


def reachability_runs(
    blocked: list[Blocked], answered: list[tuple[int, int]], grid: Grid
) -> list[ReachabilityRun]:
    runs: list[tuple[int, int, str]] = [
        (first, end - 1, Outcome.ANSWERED) for first, end in answered
    ]
    runs += [(spell.tries[0], spell.tries[-1], spell.reason) for spell in blocked]
    return [
        ReachabilityRun(outcome=outcome, started_at=grid.at(first), last_seen_at=grid.at(last))
        for first, last, outcome in sorted(runs)
    ]


def snapshots(
    plan: ServerPlan, grid: Grid, answered: list[tuple[int, int]]
) -> list[LiveStateSnapshot]:
    """Runs of answered polls that saw the same players and map."""
    kind = plan.personality
    rows: list[LiveStateSnapshot] = []
    for first, end, (players, map_name) in states(plan, grid, answered):
        last = rows[-1] if rows else None
        if (
            last is not None
            and last.last_seen_at == grid.at(first - 1)
            and (last.players, last.map) == (players, map_name)
        ):
            last.last_seen_at = grid.at(end - 1)
            continue
        bots = min(FAKE_BOTS, kind.max_players - players) if kind.honest_bot_count else 0
        rows.append(LiveStateSnapshot(
            started_at=grid.at(first), last_seen_at=grid.at(end - 1), players=players,
            max_players=kind.max_players, bots=bots if players else 0, map=map_name,
            hibernating=players == 0,
        ))  # fmt: skip
    return rows


def states(
    plan: ServerPlan, grid: Grid, answered: list[tuple[int, int]]
) -> list[tuple[int, int, tuple[int, str]]]:
    """(first poll, end poll, (players, map)) of each stretch of answered polls
    that saw one state, in order."""
    deltas: dict[int, int] = {}
    maps: dict[int, str] = {}
    for visit in plan.visits:
        join, leave = grid.first_from(visit.joined), grid.first_from(visit.left)
        deltas[join] = deltas.get(join, 0) + 1
        deltas[leave] = deltas.get(leave, 0) - 1
    for when, new_map in plan.maps:  # in time order: the last change before a poll wins
        maps[grid.first_from(when)] = new_map
    bounds = sorted({0, *deltas, *maps, grid.count})
    ends = [end for _, end in answered]
    players, current = 0, plan.first_map
    stretches = []
    for k, after in itertools.pairwise(bounds):
        players += deltas.get(k, 0)
        current = maps.get(k, current)
        for first, end in answered[bisect.bisect_right(ends, k) :]:
            if first >= after:
                break
            stretches.append((max(first, k), min(end, after), (players, current)))
    return stretches


def sessions(
    plan: ServerPlan, grid: Grid, answered: list[tuple[int, int]], rng: random.Random
) -> list[PlayerSession]:
    """Each visit's answered polls, one session per unbroken stretch of them.

    A session joins when the player did, if the poll before could have seen
    them arrive; else at the first poll that saw them (the panel knew no
    better). It closes at its last sighting.
    """
    starts = [first for first, _ in answered]
    rows = []
    for visit in plan.visits:
        seen_from, seen_to = grid.first_from(visit.joined), grid.first_from(visit.left)
        i = max(0, bisect.bisect_right(starts, seen_from) - 1)
        for first, end in answered[i:]:
            lo, hi = max(first, seen_from), min(end, seen_to)
            if first >= seen_to:
                break
            if lo >= hi:
                continue
            joined = grid.at(lo)
            if lo == seen_from and lo > first:  # the poll before saw the server without them
                joined = min(joined, datetime.fromtimestamp(visit.joined, UTC))
            rows.append(PlayerSession(
                steam_id_64=visit.steam_id_64, joined_at=joined, last_seen_at=grid.at(hi - 1),
                left_at=grid.at(hi - 1), name_at_join=visit.name,
                min_ping=max(5, visit.ping - rng.randint(0, 4)),
                max_ping=visit.ping + rng.randint(2, 30),
            ))  # fmt: skip
    return rows
