"""Data builders for bench/pages.py and bench/viewers.py: servers and their history at scale.

Rows go in with bulk_create or executemany (a million sessions in seconds),
shaped like what polling writes: snapshots and reachability runs oldest first
(ids grow with time), one open session per player and server, a LiveStatus
that points at each server's newest snapshot and reachability run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from livestate.models import LiveStateSnapshot
    from servers.models import Server

BASE = 76561198000000000  # SteamIDs of random players: BASE + 0 .. BASE + players
HEAVY = BASE + 900_000  # SteamIDs of the players the player page is measured with
OUTAGE_REASONS = ("unreachable", "unreachable", "unreachable", "auth_failed", "error")
NAMES = ("Nick", "Ellis", "Rochelle", "Coach", "Bill", "Zoey", "Louis", "Francis")
# server_id, steam_id_64, joined_at, last_seen_at, left_at, name_at_join, min_ping, max_ping
Row = tuple[int, str, datetime, datetime, datetime | None, str, int, int]
SESSION_SQL = (
    "INSERT INTO {table} (server_id, steam_id_64, joined_at, last_seen_at, left_at, "
    "name_at_join, min_ping, max_ping) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def snapshot(server: Server, seen: datetime, *, players: int, map: str) -> LiveStateSnapshot:
    from livestate.models import LiveStateSnapshot

    return LiveStateSnapshot(
        server=server, started_at=seen - timedelta(minutes=5), last_seen_at=seen, players=players,
        max_players=8, bots=0, map=map, hibernating=players == 0,
    )  # fmt: skip


def build_servers(owner: User, numbers: Iterable[int], *, now: datetime) -> list[Server]:
    """Listed running servers s0000.., each with three snapshots and a fresh LiveStatus."""
    from livestate.models import LiveStateSnapshot, LiveStatus
    from servers.models import Server

    servers = Server.objects.bulk_create(
        Server(owner=owner, name=f"s{i:04d}", port=20000 + i, listed=True, desired_state="running")
        for i in numbers
    )  # fmt: skip
    runs = LiveStateSnapshot.objects.bulk_create(
        snapshot(s, now - timedelta(minutes=age), players=age % 5, map="c1m1_hotel")
        for s in servers
        for age in (20, 10, 0)  # oldest first: the newest row is the fresh one
    )
    LiveStatus.objects.bulk_create(
        LiveStatus(server_id=run.server_id, state="running", polled_at=run.last_seen_at,
                   answered_at=run.last_seen_at, players=run.players, max_players=run.max_players,
                   map=run.map, hibernating=run.hibernating, snapshot_id=run.pk)
        for run in runs[2::3]
    )  # fmt: skip
    return servers


def insert_sessions(rows: Sequence[Row]) -> None:
    """Session rows, inserted raw in batches (bulk_create is ~5x slower at a million)."""
    from django.db import connection, transaction

    from livestate.models import PlayerSession

    sql = SESSION_SQL.format(table=PlayerSession._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(rows), 50_000):
        batch = [
            (server, steam_id, adapt(joined), adapt(seen), adapt(left), name, low, high)
            for server, steam_id, joined, seen, left, name, low, high in rows[
                start : start + 50_000
            ]
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)


def build_history(
    server: Server, *, sessions: int, players: int, snapshot_days: int, now: datetime
) -> None:
    """Closed sessions of random players over 30 days, 4 open ones, a snapshot every 5 minutes."""
    from livestate.models import LiveStateSnapshot, LiveStatus

    rng = random.Random(server.pk)
    rows: list[Row] = []
    for n in range(sessions):
        left = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
        joined = left - timedelta(seconds=rng.uniform(60, 7200))
        steam_id = str(BASE + rng.randrange(players))
        rows.append((server.pk, steam_id, joined, left, left, f"player {n % 977}", 30, 90))
    for i in range(4):
        joined = now - timedelta(minutes=20)
        rows.append((server.pk, str(BASE + players + i), joined, now, None, f"current {i}", 20, 50))
    insert_sessions(rows)
    maps = [f"c{i}m{j}_x" for i in range(1, 15) for j in range(1, 5)]
    seen = [now - timedelta(minutes=5 * i) for i in reversed(range(snapshot_days * 288))]
    runs = LiveStateSnapshot.objects.bulk_create(
        snapshot(server, at, players=busy(at), map=maps[(n // 12) % len(maps)])  # a map an hour
        for n, at in enumerate(seen)
    )
    LiveStatus.objects.filter(server=server).update(snapshot_id=runs[-1].pk)


def busy(when: datetime) -> int:
    """Players at a moment: busy evenings, quiet mornings, more at weekends (0..8)."""
    evening = math.sin((when.hour + when.minute / 60 - 14) / 24 * 2 * math.pi)
    weekend = 1.5 if when.weekday() >= 5 else 0
    return max(0, min(8, round(3 + 3.5 * evening + weekend)))


def build_profiles(players: int, *, now: datetime) -> None:
    from steamprofiles.models import SteamProfile

    SteamProfile.objects.bulk_create(
        SteamProfile(steam_id_64=str(BASE + i), persona_name=f"Steam {i}", fetched_at=now,
                     avatar_url="https://avatars.steamstatic.com/abc_medium.jpg")
        for i in range(0, players, 2)
    )  # fmt: skip


def build_player(steam_id: int, servers: Sequence[Server], *, sessions: int, now: datetime) -> None:
    """One player's `sessions` back to back over 30 days across `servers`; the newest is open.

    The in-game name changes every few days (the page lists the names seen).
    """
    from steamprofiles.models import SteamProfile

    rng = random.Random(steam_id)
    slot = 30 * 86400 / sessions
    start = now - timedelta(days=30)
    rows: list[Row] = []
    for n in range(sessions):
        joined = start + timedelta(seconds=n * slot)
        seen = joined + timedelta(seconds=slot * rng.uniform(0.5, 0.9))
        name = NAMES[int(n * 12 / sessions) % len(NAMES)]
        server = servers[rng.randrange(len(servers))]
        open_ = n == sessions - 1
        rows.append((server.pk, str(steam_id), joined, now if open_ else seen,
                     None if open_ else seen, name, 20 + n % 40, 60 + n % 40))  # fmt: skip
    insert_sessions(rows)
    SteamProfile.objects.create(
        steam_id_64=str(steam_id), persona_name=f"Heavy {steam_id - HEAVY}", fetched_at=now,
        avatar_url="https://avatars.steamstatic.com/abc_medium.jpg",
    )  # fmt: skip


def build_reachability(server: Server, *, days: int, now: datetime) -> int:
    """`days` of run-length encoded poll outcomes with outages, the last one answering now.

    Answering runs last hours (mean 5 h), outages 30 s to 1 h, and now and then
    the server is not meant to run for a few hours (a gap in the runs). Returns
    the number of runs.
    """
    from livestate.models import LiveStatus, ReachabilityRun

    rng = random.Random(server.pk)
    at, runs = now - timedelta(days=days), []
    while at < now:
        answered = min(now, at + timedelta(seconds=rng.expovariate(1 / (5 * 3600))))
        runs.append(ReachabilityRun(server=server, outcome="answered", started_at=at,
                                    last_seen_at=answered))  # fmt: skip
        at = answered + timedelta(seconds=5)
        if at >= now:
            break
        if rng.random() < 0.1:  # stopped by its owner for a while: no runs
            at += timedelta(hours=rng.uniform(1, 6))
            continue
        length = timedelta(seconds=rng.uniform(30, 3600))
        runs.append(ReachabilityRun(server=server, outcome=rng.choice(OUTAGE_REASONS),
                                    started_at=at, last_seen_at=at + length))  # fmt: skip
        at += length + timedelta(seconds=5)
    runs[-1].last_seen_at = now
    runs = ReachabilityRun.objects.bulk_create(runs)
    LiveStatus.objects.filter(server=server).update(reachability_id=runs[-1].pk)
    return len(runs)


def build_rollups(server: Server, *, days: int, now: datetime) -> int:
    """`days` of HourlyRollup and DailyRollup rows up to the current hour; returns hours."""
    from livestate.models import DailyRollup, HourlyRollup

    rng = random.Random(server.pk)
    top = now.replace(minute=0, second=0, microsecond=0)
    hours: list[HourlyRollup] = []
    daily: dict[date, DailyRollup] = {}
    for i in reversed(range(days * 24)):
        hour = top - timedelta(hours=i)
        expected = 3600.0 if rng.random() > 0.05 else 0.0  # sometimes not meant to run
        answered = expected * (1 if rng.random() > 0.03 else rng.uniform(0.2, 0.95))
        players = busy(hour + timedelta(minutes=30)) * rng.uniform(0.6, 1.2)
        row = HourlyRollup(server=server, hour=hour, player_seconds=players * answered,
                           answered_seconds=answered, expected_seconds=expected,
                           peak=min(8, math.ceil(players) + 1) if answered else 0,
                           unique_players=round(players * 2.5) if answered else 0)  # fmt: skip
        hours.append(row)
        day = daily.setdefault(hour.date(), DailyRollup(server=server, day=hour.date()))
        day.player_seconds += row.player_seconds
        day.answered_seconds += row.answered_seconds
        day.expected_seconds += row.expected_seconds
        day.peak = max(day.peak, row.peak)
        day.unique_players += round(row.unique_players * 0.6)
    HourlyRollup.objects.bulk_create(hours, batch_size=2000)
    DailyRollup.objects.bulk_create(daily.values())
    return len(hours)


def fold(*, now: datetime) -> int:
    """What the rollup task does every minute: add the final sessions (closed over a
    day ago) into the players' lifetime totals, as a live panel's history would have."""
    from livestate.player_totals import fold_final_sessions

    return fold_final_sessions(now=now)


def analyze() -> None:
    """PostgreSQL: what autovacuum does in time (dead index entries of folded
    sessions gone, planner statistics), done now for a fresh bench database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
