"""History against the ground truth at scale, through one real polling worker.

Builds a churn world (`left4me.rcon.fleet.churn`: joins, leaves, reconnects
after any delay, moves, shared SteamIDs, map changes, black-holed freezes,
outages, crashes, restarts, password changes) of --servers servers for
--minutes, plays it on the real clock in a fake fleet inside this process,
registers it, starts the polling worker with the Procfile's own command
line and default LIVE_STATE_* settings, and sends `livestate.poll` as beat
does (its queue and `expires`) once per LIVE_STATE_POLL_SECONDS. Password
changes reach the panel seconds before or after the server, as an owner
would make them; RCON_AUTH_BACKOFF_SECONDS is --auth-backoff (600 by
default in production: a mix-up would hide the server for the whole run).
At the end, every stint the fleet played is judged against what the worker
stored (`livestate.truth.judge`): join within 2 s, leave within one poll
interval + 1 s (or the silence the leave fell into + 1 s).

    .venv/bin/python bench/truth.py --servers 20 --minutes 1
    .venv/bin/python bench/truth.py --servers 1000 --minutes 10 --database postgres
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import machine
from bench._fleet import raise_nofile
from bench.tick_capacity import (
    beat_entry,
    dispatch,
    procfile_worker,
    start_worker,
    stop_worker,
    warm_up_broker,
    worker_env,
)
from bench.tick_capacity import (
    prepare as prepare_run,
)
from left4me.rcon.fleet import FleetHandle, running_fleet
from left4me.rcon.fleet.churn import World, churn_world

REDIS_URL = "redis://127.0.0.1:6379/13"
LAND_SECONDS = 15  # the last tick's chunks may take this long to be stored


def prepare(args: argparse.Namespace, stack: contextlib.ExitStack) -> Path:
    """tick_capacity's set-up, with this benchmark's back-off, names and Redis database."""
    os.environ["RCON_AUTH_BACKOFF_SECONDS"] = str(args.auth_backoff)
    return prepare_run(args, stack, name="truth", redis_url=REDIS_URL)


def register(world: World) -> None:
    from django.contrib.auth import get_user_model

    from servers.models import Server

    owner = get_user_model().objects.create(username="bench")
    Server.objects.bulk_create(
        Server(owner=owner, name=s.name, port=s.port, rcon_password=s.registered_password,
               desired_state="running")
        for s in world.servers
    )  # fmt: skip


def play(world: World, fleet: FleetHandle, period: float) -> datetime:
    """Send a tick each period until the world ends; owners save new passwords on time.

    Returns when the last tick was sent.
    """
    from servers.models import Server

    entry, pending = beat_entry(), list(world.panel_passwords)
    ticks = int(world.duration // period) + 1
    sent = dispatch(entry)
    for number in range(1, ticks):
        while fleet.now() < number * period:
            while pending and pending[0].at <= fleet.now():
                change = pending.pop(0)
                Server.objects.filter(name=change.server).update(rcon_password=change.password)
            time.sleep(0.02)
        sent = dispatch(entry)
        if number % round(60 / period) == 0:
            print(f"  {fleet.now() / 60:4.1f} min: {number + 1} ticks sent, {stored()} sessions")
    return sent


def stored() -> int:
    from livestate.models import PlayerSession

    return PlayerSession.objects.count()


def land(sent: datetime) -> None:
    """Wait until every server the last tick polls has its result stored."""
    from livestate import services
    from livestate.models import LiveStatus

    wanted, _ = services.select_targets(now=sent)
    deadline = time.monotonic() + LAND_SECONDS
    while time.monotonic() < deadline:
        done = LiveStatus.objects.filter(server_id__in=wanted, polled_at__gte=sent).count()
        if done >= len(wanted):
            return
        time.sleep(0.1)
    print(f"  the last tick had not landed after {LAND_SECONDS} s")


def report(fleet: FleetHandle, origin: datetime) -> None:
    from django.conf import settings

    from livestate.truth import judge, percentiles, recorded_sessions, stints_from_truth

    period = settings.LIVE_STATE_POLL_SECONDS
    stints = stints_from_truth(fleet.truth())
    verdict = judge(stints, recorded_sessions(origin), fleet.answers(), interval=period)
    share = 100 * verdict.exact / verdict.required if verdict.required else 100.0
    flat = [e for e, gap in zip(verdict.leave_errors, verdict.leave_gaps, strict=True)
            if gap <= period + 1]  # fmt: skip
    print(f"stints played: {verdict.stints}; seen by a poll and >= {period:g} s: "
          f"{verdict.required}")  # fmt: skip
    print(f"exact: {verdict.exact} of {verdict.required} ({share:.2f} %)")
    late = max(verdict.leave_errors, default=0.0)
    print(f"join error |recorded - truth|: {percentiles(verdict.join_errors)}")
    print(f"leave error |recorded - truth|, every leave: {percentiles(verdict.leave_errors)} "
          f"(latest {late:+.2f} s)")  # fmt: skip
    print(f"leave error, leaves between two answers at most {period + 1:g} s apart "
          f"({len(flat)}): {percentiles(flat)}")  # fmt: skip
    late_answer = sum(period + 1 < gap <= period + 3 for gap in verdict.leave_gaps)
    print(f"leaves between answers further apart, each within that gap + 1 s: "
          f"{verdict.wide_gaps} ({late_answer} up to {period + 3:g} s: answers late in a "
          f"tick; the rest freezes, outages, crashes, password mix-ups)")  # fmt: skip
    print(f"phantoms: {verdict.phantoms}, splits: {verdict.splits}, merges: {verdict.merges}")
    for line in verdict.problems[:20]:
        print(f"  {line}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1, help="the churn world (replayable)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--broker", choices=["redis", "filesystem"], default="redis")
    parser.add_argument("--auth-backoff", type=int, default=60, metavar="SECONDS")
    return parser.parse_args()


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    raise_nofile()
    with contextlib.ExitStack() as stack:
        var = prepare(args, stack)
        from django.conf import settings
        from django.utils import timezone

        world = churn_world(args.seed, servers=args.servers, duration=args.minutes * 60)
        name, argv = procfile_worker(Path(__file__).resolve().parent.parent / "Procfile")
        worker = start_worker(argv, worker_env(), var / "worker.log")
        stack.callback(stop_worker, worker)
        warm_up_broker()
        print(f"machine: {machine()}")
        print(f"database: {args.database}, broker: {args.broker}, churn world {args.seed}: "
              f"{args.servers} servers for {args.minutes:g} min of real time, poll every "
              f"{settings.LIVE_STATE_POLL_SECONDS:g} s, timeout "
              f"{settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS:g} s, auth back-off "
              f"{args.auth_backoff} s")  # fmt: skip
        print(f"worker (Procfile {name!r}): {shlex.join(argv)}")
        fleet = stack.enter_context(running_fleet(world.servers, clock="real"))
        origin = timezone.now() - timedelta(seconds=fleet.now())
        register(world)
        sent = play(world, fleet, settings.LIVE_STATE_POLL_SECONDS)
        land(sent)
        stop_worker(worker)
        report(fleet, origin)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("interrupted (worker, fleet, database and temp dir cleaned up)") from None
