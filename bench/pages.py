"""Page render times and query counts at scale.

The server list with 1,000 listed servers, and the live panel (and the
server page around it) of a server with 1,000,000 historical sessions.
Prints the median render time over repeated requests through Django's test
client (URL routing, views, queries, templates) and the query count.

    .venv/bin/python bench/pages.py --database sqlite
    .venv/bin/python bench/pages.py --database postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import machine, setup_django

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.test import Client

    from livestate.models import LiveStateSnapshot
    from servers.models import Server

SERVERS, SESSIONS, PLAYERS, REPEAT = 1000, 1_000_000, 50_000, 30
BASE = 76561198000000000


def snapshot(server: Server, seen: datetime, *, players: int, map: str) -> LiveStateSnapshot:
    from livestate.models import LiveStateSnapshot

    return LiveStateSnapshot(
        server=server, started_at=seen - timedelta(minutes=5), last_seen_at=seen, players=players,
        max_players=4, bots=0, map=map, hibernating=players == 0,
    )  # fmt: skip


def build_servers(owner: User) -> list[Server]:
    from django.utils import timezone

    from livestate.models import LiveStateSnapshot, LiveStatus
    from servers.models import Server

    servers = Server.objects.bulk_create(
        Server(owner=owner, name=f"s{i:04d}", port=20000 + i, listed=True, desired_state="running")
        for i in range(SERVERS)
    )  # fmt: skip
    now = timezone.now()
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


def build_history(server: Server, sessions: int) -> None:
    """1,000,000 closed sessions over 30 days, a few open ones, a week of snapshots."""
    from django.db import connection, transaction
    from django.utils import timezone

    from livestate.models import LiveStateSnapshot, PlayerSession
    from steamprofiles.models import SteamProfile

    rng, now = random.Random(5), timezone.now()
    table = PlayerSession._meta.db_table
    sql = (f"INSERT INTO {table} (server_id, steam_id_64, joined_at, last_seen_at, left_at, "  # noqa: S608
           "name_at_join, min_ping, max_ping) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")  # fmt: skip
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, sessions, 50_000):
        rows = []
        for _ in range(min(50_000, sessions - start)):
            left = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
            joined = left - timedelta(seconds=rng.uniform(60, 7200))
            rows.append((server.pk, str(BASE + rng.randrange(PLAYERS)), adapt(joined), adapt(left),
                         adapt(left), f"player {start}", 30, 90))  # fmt: skip
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    PlayerSession.objects.bulk_create(
        PlayerSession(
            server=server, steam_id_64=str(BASE + PLAYERS + i),
            joined_at=now - timedelta(minutes=20),
            last_seen_at=now, name_at_join=f"current {i}", min_ping=20, max_ping=50,
        )
        for i in range(4)
    )  # fmt: skip
    LiveStateSnapshot.objects.bulk_create(
        snapshot(server, now - timedelta(minutes=5 * i), players=i % 5, map=f"c{i % 14 + 1}m1_x")
        for i in reversed(range(2016))  # a change every 5 minutes for 7 days
    )
    SteamProfile.objects.bulk_create(
        SteamProfile(steam_id_64=str(BASE + i), persona_name=f"Steam {i}", fetched_at=now,
                     avatar_url="https://avatars.steamstatic.com/abc_medium.jpg")
        for i in range(0, PLAYERS, 2)
    )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(client: Client, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and the template loader
    times = []
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sessions", type=int, default=SESSIONS, help="historical sessions")
    args = parser.parse_args()
    setup_django(args.database)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    owner = get_user_model().objects.create(username="bench")
    started = time.perf_counter()
    servers = build_servers(owner)
    build_history(servers[0], args.sessions)
    print(f"machine: {machine()}")
    print(f"database: {args.database}; data built in {time.perf_counter() - started:.0f} s")
    client, anonymous = Client(), Client()
    client.force_login(owner)
    pages = [
        (f"server list, {SERVERS} servers", anonymous, "/servers/"),
        (f"live panel, {args.sessions:,} sessions", anonymous, f"/servers/{servers[0].pk}/live/"),
        ("live panel as owner", client, f"/servers/{servers[0].pk}/live/"),
        ("server page", anonymous, servers[0].get_absolute_url()),
        ("live JSON", anonymous, f"/servers/{servers[0].pk}/live.json"),
    ]
    print(f"{'page':<34} {'median ms':>9} {'queries':>7}")
    for label, who, url in pages:
        median, queries = measure(who, url)
        print(f"{label:<34} {median:>9.1f} {queries:>7}")


if __name__ == "__main__":
    main()
