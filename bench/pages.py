"""Page render times and query counts at scale, and whether the count stays constant.

Every page is measured twice: on a small dataset and on a large one, with
the same code path. The large one: the server list with 1,000 listed
servers; a server with 1,000,000 sessions over 30 days, 30 days of snapshots
(a change every 5 minutes), 30 days of reachability runs with outages and a
year of hourly and daily rollups; a player with 100,000 sessions across 5
servers over 30 days, one open. Sessions closed over a day ago are folded
into the players' lifetime totals, as the rollup task does. The small one:
10 servers; a server with 200 sessions, a day of snapshots and reachability,
2 days of rollups; a player with 1,000 sessions.

Prints the median render time over repeated requests through Django's test
client (URL routing, views, queries, templates), the time the last request
spent in queries ("db ms", as the driver saw it: the rest is Python), the
query count, the first request's time (every cache cleared just before), and
the small dataset's median and count ("same" when the count is equal).

    .venv/bin/python bench/pages.py --database sqlite
    .venv/bin/python bench/pages.py --database postgres
    .venv/bin/python bench/pages.py --explain     # also the slowest query of each page
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _history as history
from bench._django import machine, setup_django

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.test import Client

    from servers.models import Server

SERVERS, SMALL_SERVERS, SESSIONS, PLAYERS, REPEAT = 1000, 10, 1_000_000, 50_000, 30
PLAYER_SESSIONS, SMALL_PLAYER_SESSIONS = 100_000, 1_000
SLOW_SECONDS, SLOW_REPEAT = 1.0, 3  # a page slower than this is timed fewer times
VERSION = re.compile(r'"X-Live-Version":\s*"([0-9a-f]+)"')
HTMX = {"HX-Request": "true"}


@dataclass
class Page:
    """One line of the report: a URL on the large dataset and the same page on the small one."""

    label: str
    large: str
    small: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    versioned: bool = False  # send the X-Live-Version of a first full response: expect 204


@dataclass
class Measured:
    median_ms: float
    queries: int
    db_ms: float = 0.0  # the last request's time in queries, as the database driver saw it
    first_ms: float = 0.0  # the first request: cold caches (the template loader, cached figures)
    slowest: tuple[float, str] = (0.0, "")  # ms and SQL of the slowest query in the last request
    first_slowest: tuple[float, str] = (0.0, "")  # and in the first


def timed_get(
    client: Client, url: str, headers: dict[str, str]
) -> tuple[float, int, list[tuple[float, str]]]:
    """One request: its seconds, its status, and (ms, SQL) of each query it made."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        took = time.perf_counter() - started
    timed = [(float(q["time"]) * 1000, q["sql"]) for q in queries.captured_queries]
    return took, response.status_code, timed


def measure(client: Client, page: Page, url: str) -> Measured:
    headers = dict(page.headers)
    if page.versioned:
        headers["X-Live-Version"] = current_version(client, url)
    from django.core.cache import cache

    cache.clear()  # the first request finds every cache cold (figures kept for a while)
    first, _, cold = timed_get(client, url, headers)
    times = []
    for _ in range(SLOW_REPEAT if first > SLOW_SECONDS else REPEAT):
        took, status, timed = timed_get(client, url, headers)
        times.append(took)
        assert status == page.status, (url, status)
    return Measured(
        median_ms=statistics.median(times) * 1000,
        queries=len(timed),
        db_ms=sum(ms for ms, _ in timed),
        first_ms=first * 1000,
        slowest=max(timed, default=(0.0, "")),
        first_slowest=max(cold, default=(0.0, "")),
    )


def current_version(client: Client, url: str) -> str:
    """The version a viewer holds: from the panel root's hx-headers of a full response.

    Versions include the current minute, so wait out the last seconds of one.
    """
    while datetime.now().second >= 55:
        time.sleep(0.5)
    response = client.get(url, headers=HTMX)
    found = VERSION.search(html.unescape(response.content.decode()))
    assert found, f"no X-Live-Version in {url}"
    return found[1]


def explain(ms: float, sql: str) -> None:
    """The query and how the database runs it (PostgreSQL: with its own timing)."""
    from django.db import connection

    short = sql if len(sql) < 900 else f"{sql[:450]} … {sql[-450:]}"
    print(f"    slowest query, {ms:.1f} ms: {short}")
    analyze = "EXPLAIN ANALYZE" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute(f"{analyze} {sql}")
        for row in cursor.fetchall():
            print(f"      {row[-1]}")


def build_small(owner: User, now: datetime) -> list[Server]:
    from livestate.models import PollProgress

    PollProgress.objects.create(key="poll", dispatched_at=now, finished_at=now)
    return history.build_servers(owner, range(SMALL_SERVERS), now=now)


def build_large(owner: User, servers: list[Server], sessions: int, now: datetime) -> list[str]:
    """Everything else; returns what was built, for the report."""
    servers += history.build_servers(owner, range(SMALL_SERVERS, SERVERS), now=now)
    big, small = servers[0], servers[1]
    history.build_history(big, sessions=sessions, players=PLAYERS, snapshot_days=30, now=now)
    history.build_history(small, sessions=200, players=PLAYERS, snapshot_days=1, now=now)
    history.build_profiles(PLAYERS, now=now)
    runs = history.build_reachability(big, days=30, now=now)
    history.build_reachability(small, days=1, now=now)
    hours = history.build_rollups(big, days=365, now=now)
    history.build_rollups(small, days=2, now=now)
    played = servers[2:7]
    history.build_player(history.HEAVY, played, sessions=PLAYER_SESSIONS, now=now)
    history.build_player(history.HEAVY + 1, played, sessions=SMALL_PLAYER_SESSIONS, now=now)
    folded = history.fold(now=now)
    from django.db import connection

    if connection.vendor == "postgresql":  # autovacuum would; a fresh bench must ask
        history.analyze()
    return [
        f"server {big.pk}: {sessions:,} sessions, {30 * 288:,} snapshots, {runs} reachability "
        f"runs, {hours:,} hourly rollups; server {small.pk}: the small one",
        f"player {history.HEAVY}: {PLAYER_SESSIONS:,} sessions on 5 servers; "
        f"player {history.HEAVY + 1}: {SMALL_PLAYER_SESSIONS:,}; {folded:,} final sessions "
        "folded into player totals",
    ]


def pages(big: Server, small: Server, sessions: int) -> list[Page]:
    heavy, light = history.HEAVY, history.HEAVY + 1
    last_page = -(-PLAYER_SESSIONS // 50)
    b, s = f"/servers/{big.pk}", f"/servers/{small.pk}"
    return [
        Page(f"server list, {SERVERS} servers", "/servers/", "/servers/"),
        Page("server list ?sort=name", "/servers/?sort=name", "/servers/?sort=name"),
        Page("server list ?q=s00", "/servers/?q=s00", "/servers/?q=s00"),
        Page("server list rows, same version: 204", "/servers/", "/servers/", HTMX, 204, True),
        Page(f"player page, {PLAYER_SESSIONS:,} sessions", f"/players/{heavy}/",
             f"/players/{light}/"),
        Page(f"player page ?page={last_page}", f"/players/{heavy}/?page={last_page}",
             f"/players/{light}/?page=20"),
        Page("player JSON", f"/players/{heavy}.json", f"/players/{light}.json"),
        Page(f"server page, a year, {sessions:,} sessions", f"{b}/", f"{s}/"),
        Page("stats JSON", f"{b}/stats.json", f"{s}/stats.json"),
        Page("chart ?range=1y", f"{b}/chart/?range=1y", f"{s}/chart/?range=1y", HTMX),
        Page("chart ?range=30d", f"{b}/chart/?range=30d", f"{s}/chart/?range=30d", HTMX),
        Page(f"live panel, {sessions:,} sessions: 200", f"{b}/live/", f"{s}/live/", HTMX),
        Page("live panel, same version: 204", f"{b}/live/", f"{s}/live/", HTMX, 204, True),
        Page("live JSON", f"{b}/live.json", f"{s}/live.json"),
    ]  # fmt: skip


def report(label: str, large: Measured, small: Measured) -> str:
    same = "same" if large.queries == small.queries else f"GROWS ({small.queries} small)"
    return (
        f"{label:<40} {large.median_ms:>9.1f} {large.db_ms:>6.0f} {large.queries:>7} "
        f"{large.first_ms:>8.0f} {small.median_ms:>8.1f}  {same}"
    )


def load() -> str:
    """Other work on the machine skews every figure: print it with them."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from livestate.models import LiveStatus, PollProgress

    owner = get_user_model().objects.create(username="bench")
    anonymous = Client()
    started, now = time.perf_counter(), timezone.now()
    servers = build_small(owner, now)
    # The list's pages (the first four) at 10 servers, before the other 990 exist.
    listing = pages(servers[0], servers[1], args.sessions)[:4]
    small_lists = [measure(anonymous, page, page.small) for page in listing]
    built = build_large(owner, servers, args.sessions, now)
    print(f"machine: {machine()}; {load()}")
    print(f"database: {args.database}; data built in {time.perf_counter() - started:.0f} s")
    print(*built, sep="\n")
    # Polling looks alive (no "not polling" banner), and stays so while this runs.
    later = timezone.now() + timedelta(hours=1)
    PollProgress.objects.update(finished_at=later)
    LiveStatus.objects.update(polled_at=later, answered_at=later)
    print(
        f"{'page':<40} {'median ms':>9} {'db ms':>6} {'queries':>7} {'first ms':>8} {'small ms':>8}"
        "  queries small"
    )
    for n, page in enumerate(pages(servers[0], servers[1], args.sessions)):
        try:
            large = measure(anonymous, page, page.large)
            small = small_lists[n] if n < len(listing) else measure(anonymous, page, page.small)
        except Exception as failed:  # a broken page is reported, the others still measured
            print(f"{page.label:<40} failed: {type(failed).__name__}: {failed}"[:300])
            continue
        print(report(page.label, large, small))
        if args.explain and large.slowest[1]:
            explain(*large.slowest)
        if args.explain and large.first_ms > max(100, 2 * large.median_ms):
            print("    the first request:")
            explain(*large.first_slowest)
    print(f"finished; {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sessions", type=int, default=SESSIONS, help="the big server's sessions")
    parser.add_argument("--explain", action="store_true", help="print each page's slowest query")
    args = parser.parse_args()
    setup_django(args.database)
    from django.conf import settings
    from django.db import connections

    settings.ALLOWED_HOSTS = ["testserver"]
    try:
        run(args)
    finally:  # the SQLite file of a full run is ~400 MB
        connections.close_all()
        shutil.rmtree(os.environ["LEFT4ME_VAR_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
