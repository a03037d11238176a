"""Hostile game servers against a tick: do they slow or starve the good servers?

Starts one fake fleet process: 1000 good servers (5 % refused, 10 %
black-holed, the rest with players coming and going) and 50 hostile ones
(every hostile mode of the fake fleet in turn: absurd counts, NUL and bidi
text, a 200-character map, a 5000-player flood, new SteamIDs every poll,
another protocol's greeting, a reply over 1 MiB). Ticks run in this process
as one worker runs them (`plan_tick`, then `poll_servers` per chunk of
`tasks.chunked`): first with only the good servers registered, then with
the hostile ones too. Per tick: seconds, servers polled, failed, hostile
failed, and of the good servers how many got a new LiveStatus.polled_at and
a snapshot written (their history run's last_seen_at moved to this tick).

Verdict: harmed if any tick with hostile servers took longer than the
hostile-free median plus one query timeout, or polled or wrote fewer good
servers than the worst hostile-free tick.

    .venv/bin/python bench/hostile_tick.py --database sqlite
    .venv/bin/python bench/hostile_tick.py --database postgres --ticks 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import ROOT, drop_postgres_database, machine, setup_django
from bench._fleet import raise_nofile

GOOD, HOSTILE = 1000, 50
FLEET_START_SECONDS = 120
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # what the parser must have cleaned out
ORDINARY = {"", "refused", "blackhole"}  # the good servers' modes; the rest are hostile


@dataclass(slots=True)
class Tick:
    label: str
    seconds: float
    polled: int
    failed: int
    hostile_failed: int
    good_polled: int
    good_written: int
    rcon: float
    db: float


# --- Fleet and servers ------------------------------------------------------


def start_fleet(root: Path, stack: contextlib.ExitStack) -> list[dict]:
    """The fleet process (stopped by `stack`, even if it never starts) and its listing."""
    listing = root / "servers.json"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "left4me.rcon.fleet", "--servers", str(GOOD + HOSTILE),
         "--hostile", str(HOSTILE), "--refused-ratio", "0.05", "--blackhole-ratio", "0.10",
         "--horizon", "3600", "--servers-out", str(listing)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    stack.callback(fleet.wait)
    stack.callback(fleet.terminate)
    deadline = time.monotonic() + FLEET_START_SECONDS
    while True:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads(listing.read_text())  # written once every listener is open
        if fleet.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fake fleet did not start")
        time.sleep(0.2)


def register(rows: list[dict]) -> list[int]:
    """Servers meant to run, for the fleet's rows; returns their ids."""
    from django.contrib.auth import get_user_model

    from servers.models import Server

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    Server.objects.bulk_create(
        Server(owner=owner, name=row["name"], host=row["host"], port=row["port"],
               rcon_password=row["password"], desired_state="running")
        for row in rows
    )  # fmt: skip
    names = [row["name"] for row in rows]
    return list(Server.objects.filter(name__in=names).values_list("pk", flat=True))


# --- Ticks --------------------------------------------------------------------


def tick(label: str, good: list[int], hostile: set[int]) -> Tick:
    from django.conf import settings
    from django.utils import timezone

    from livestate import services
    from livestate.models import LiveStatus
    from livestate.tasks import chunked

    now = timezone.now()
    started = time.perf_counter()
    ids = services.plan_tick(now=now).server_ids
    reports = [
        services.poll_servers(server_ids=chunk)
        for chunk in chunked(ids, settings.LIVE_STATE_POLL_CHUNK_SIZE)
    ]
    seconds = time.perf_counter() - started
    failures = [r.target.server_id for p in reports for r in p.results if r.error is not None]
    fresh = LiveStatus.objects.filter(server_id__in=good, polled_at__gte=now)
    return Tick(
        label, seconds, sum(p.polled for p in reports), len(failures),
        sum(1 for pk in failures if pk in hostile), fresh.count(),
        fresh.filter(snapshot__last_seen_at__gte=now).count(),
        sum(p.rcon_seconds for p in reports), sum(p.db_seconds for p in reports),
    )  # fmt: skip


def run_ticks(title: str, count: int, good: list[int], hostile: set[int]) -> list[Tick]:
    from django.conf import settings

    print(f"{title}:")
    ticks: list[Tick] = []
    for number in range(1, count + 1):
        ticks.append(tick(str(number), good, hostile))
        print(row(ticks[-1]))
        time.sleep(max(0.0, settings.LIVE_STATE_POLL_SECONDS - ticks[-1].seconds))
    return ticks


HEADER = (
    f"{'tick':>7} {'seconds':>8} {'rcon':>6} {'db':>6} {'polled':>7} {'failed':>7} "
    f"{'hostile failed':>14} {'good polled':>11} {'good written':>12}"
)


def row(t: Tick) -> str:
    return (
        f"{t.label:>7} {t.seconds:>8.2f} {t.rcon:>6.2f} {t.db:>6.2f} {t.polled:>7} {t.failed:>7} "
        f"{t.hostile_failed:>14} {t.good_polled:>11} {t.good_written:>12}"
    )


# --- Output -------------------------------------------------------------------


def verdict(calm: list[Tick], attacked: list[Tick], timeout: float) -> str:
    base = statistics.median(t.seconds for t in calm)
    worst = max(t.seconds for t in attacked)
    slower = worst - base > timeout
    fewer = any(
        min(getattr(t, count) for t in attacked) < min(getattr(t, count) for t in calm)
        for count in ("good_polled", "good_written")
    )
    harm = [
        *(["a tick slower than one query timeout"] if slower else []),
        *(["fewer good servers polled or written"] if fewer else []),
    ]
    outcome = "HARMED: " + ", ".join(harm) if harm else "no harm to the good servers"
    return (f"verdict: with {HOSTILE} hostile servers the worst tick took {worst:.2f} s, "
            f"{worst - base:+.2f} s against the hostile-free median {base:.2f} s "
            f"(query timeout {timeout:g} s) -> {outcome}")  # fmt: skip


def stored_by(hostile: set[int]) -> str:
    """What the hostile servers left in the database, and whether any of it is unclean."""
    from livestate.models import LiveStatus, PlayerSession

    statuses = LiveStatus.objects.filter(server_id__in=hostile)
    states = Counter(statuses.values_list("state", flat=True))
    maps = list(statuses.values_list("map", flat=True))
    names = list(
        PlayerSession.objects.filter(server_id__in=hostile).values_list("name_at_join", flat=True)
    )
    unclean = sum(1 for text in maps + names if {unicodedata.category(ch) for ch in text} & UNSAFE)
    return (f"hostile servers left: states {dict(sorted(states.items()))}, {len(names)} player "
            f"sessions, longest map {max(map(len, maps), default=0)} chars, "
            f"{unclean} stored texts with control/format characters")  # fmt: skip


# --- The run ------------------------------------------------------------------


def prepare(args: argparse.Namespace, stack: contextlib.ExitStack) -> Path:
    """Temp dir, environment and database; every step registers its own cleanup."""
    root = Path(tempfile.mkdtemp(prefix="left4me-hostile-"))
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    tempfile.tempdir = str(root)  # the var dir lands inside it
    os.environ["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the fleet is on loopback
    pg_name = f"left4me_hostile_{os.getpid()}"
    if args.database == "postgres":
        stack.callback(drop_postgres_database, pg_name)
    setup_django(args.database, pg_name=pg_name)
    from django.db import connections

    stack.callback(connections.close_all)
    return root


def describe(database: str, rows: list[dict]) -> None:
    from django.conf import settings

    modes = Counter(r["failure"] for r in rows)
    good = sum(n for m, n in modes.items() if m in ORDINARY)
    mix = ", ".join(f"{m} {n}" for m, n in sorted(modes.items()) if m not in ORDINARY)
    print(f"machine: {machine()}")
    print(f"database: {database}, good servers: {good} ({modes['refused']} refused, "
          f"{modes['blackhole']} black-holed), poll every {settings.LIVE_STATE_POLL_SECONDS:g} s, "
          f"timeout {settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS:g} s, "
          f"chunk {settings.LIVE_STATE_POLL_CHUNK_SIZE}")  # fmt: skip
    print(f"hostile servers: {len(rows) - good} ({mix})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--ticks", type=int, default=4, help="ticks with and without (default 4)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started in the background
    raise_nofile()
    with contextlib.ExitStack() as stack:
        root = prepare(args, stack)
        from django.conf import settings

        rows = start_fleet(root, stack)
        describe(args.database, rows)
        good = register([r for r in rows if r["failure"] in ORDINARY])
        print(HEADER)
        print(row(tick("warm-up", good, set())))  # first sight of every server: not compared
        calm = run_ticks(f"{len(good)} good, 0 hostile", args.ticks, good, set())
        hostile = set(register([r for r in rows if r["failure"] not in ORDINARY]))
        title = f"{len(good)} good, {len(hostile)} hostile"
        attacked = run_ticks(title, args.ticks, good, hostile)
        print(stored_by(hostile))
        print(verdict(calm, attacked, settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS))


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("interrupted (fleet, database and temp dir cleaned up)") from None
