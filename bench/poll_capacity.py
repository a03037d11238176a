"""Poll capacity of one worker process: servers per 5 s tick, end to end.

Starts a fake fleet in its own process (5 % refused, 10 % black-holed, the
rest with players coming and going), registers it, then runs ticks exactly
as one Celery worker would (`plan_tick`, then each chunk's `poll_servers`:
concurrent RCON, reconcile, batched writes). Prints per tick the servers
polled, failures and seconds split into RCON and database time.

    .venv/bin/python bench/poll_capacity.py --servers 1000 --database sqlite
    .venv/bin/python bench/poll_capacity.py --servers 2000 --database postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import machine, setup_django
from bench._fleet import raise_nofile, start_fleet


def register(rows: list[dict]) -> None:
    from django.contrib.auth import get_user_model

    from servers.models import Server

    owner = get_user_model().objects.create(username="bench")
    Server.objects.bulk_create(
        Server(owner=owner, name=row["name"], host=row["host"], port=row["port"],
               rcon_password=row["password"], desired_state="running")
        for row in rows
    )  # fmt: skip


def tick() -> tuple[int, int, float, float, float]:
    from django.conf import settings
    from django.utils import timezone

    from livestate import services

    started = time.perf_counter()
    ids = services.plan_tick(now=timezone.now()).server_ids
    size = settings.LIVE_STATE_POLL_CHUNK_SIZE
    polled = failed = 0
    rcon = db = 0.0
    for index in range(0, len(ids), size):
        report = services.poll_servers(server_ids=ids[index : index + size])
        polled, failed = polled + report.polled, failed + report.failed
        rcon, db = rcon + report.rcon_seconds, db + report.db_seconds
    return polled, failed, time.perf_counter() - started, rcon, db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    raise_nofile()
    setup_django(args.database)
    from django.conf import settings

    fleet, rows = start_fleet(
        args.servers, "--refused-ratio", "0.05", "--blackhole-ratio", "0.10", horizon=3600
    )
    try:
        register(rows)
        print(f"machine: {machine()}")
        print(f"database: {args.database}, servers: {args.servers} (5% refused, 10% black-holed), "
              f"timeout {settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS:g} s, "
              f"chunk {settings.LIVE_STATE_POLL_CHUNK_SIZE}")  # fmt: skip
        print(f"{'tick':>4} {'polled':>7} {'failed':>7} {'seconds':>8} {'rcon':>6} {'db':>6}")
        totals = []
        for number in range(1, args.ticks + 1):
            polled, failed, seconds, rcon, db = tick()
            totals.append(seconds)
            print(f"{number:>4} {polled:>7} {failed:>7} {seconds:>8.2f} {rcon:>6.2f} {db:>6.2f}")
            time.sleep(max(0.0, settings.LIVE_STATE_POLL_SECONDS - seconds))
        median, period = statistics.median(totals), settings.LIVE_STATE_POLL_SECONDS
        verdict = "fits" if max(totals) < period else "does NOT fit"
        print(f"{args.servers} servers per tick: median {median:.2f} s, max {max(totals):.2f} s "
              f"-> {verdict} in a {period:g} s tick")  # fmt: skip
    finally:
        fleet.terminate()
        fleet.wait()


if __name__ == "__main__":
    main()
