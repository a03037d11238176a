"""The cost of open viewers: what the quick start's web server sustains when nothing changed.

Starts the web server exactly as the Procfile does (`python -m left4me.serve`,
waitress, default threads and limits, INFO access log to a file) on a free
loopback port, against a prepared database in a temporary LEFT4ME_VAR_DIR:
one listed running server with 4 players online, 100,000 past sessions, a
week of snapshots. A ticker in this process writes what a poll that saw no
change writes (LiveStatus and snapshot stamps, PollProgress) every poll
period, so polling looks alive and nothing changes.

Then, from this process (asyncio keep-alive clients on loopback):
1. the cheap refresh: 1 client, then --clients (32), send the panel's
   refresh with the current X-Live-Version (expect 204) back to back
   (waitress closes the connection after every 204, so each refresh
   opens a new one: counted);
2. the full render of the same fragment (no version header: 200), alike;
3. 1,000 viewers at their real cadence (one refresh per
   LIVE_STATE_POLL_SECONDS each, at random phases, each on its own
   keep-alive connection as a browser tab would): latency and statuses,
   over a turn of the minute (which every panel version includes, so each
   viewer gets one full panel then), and apart for the 10 s after it.
Prints requests per second, p50/p99 latency, status counts, the server
process's CPU, and the headroom over what 1,000 viewers need.

    .venv/bin/python bench/viewers.py --database sqlite
    .venv/bin/python bench/viewers.py --database postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _history as history
from bench._chaos_stack import OWN_SETTINGS, free_port
from bench._django import drop_postgres_database, machine, setup_django
from bench._load import Tally, paced, saturate, version_in

ROOT = Path(__file__).resolve().parent.parent
PG_NAME = "left4me_viewers"
VIEWERS = 1000
# The panel's version includes the minute, so every viewer gets one full panel a
# minute: the viewers' run starts at MINUTE_AT past a minute to catch the turn.
MINUTE_AT, TURN_SECONDS = 40, 10
READY_SECONDS = 60


class WebServer:
    """`python -m left4me.serve --listen 127.0.0.1:PORT` in its own process group."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port, self.log = port, log
        argv = [sys.executable, "-m", "left4me.serve", "--listen", f"127.0.0.1:{port}"]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"HX-Request": "true"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return bytes(response.read())

    def wait_ready(self, path: str) -> bytes:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the web server exited; see {self.log}")
            with contextlib.suppress(OSError):
                return self.get(path)
            if time.monotonic() > deadline:
                raise SystemExit(f"no answer in {READY_SECONDS} s; see {self.log}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM the process group (waitress closes), SIGKILL it after 10 s."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Ticker:
    """What a poll that saw nothing new writes, every poll period, until stopped."""

    def __init__(self, server_id: int, period: float) -> None:
        self.server_id, self.period = server_id, period
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def tick(self) -> None:
        from django.db import transaction
        from django.utils import timezone

        from livestate.models import (
            LiveStateSnapshot,
            LiveStatus,
            PlayerSession,
            PollProgress,
            ReachabilityRun,
        )

        now = timezone.now()
        with transaction.atomic():
            status = LiveStatus.objects.get(pk=self.server_id)
            LiveStatus.objects.filter(pk=self.server_id).update(polled_at=now, answered_at=now)
            LiveStateSnapshot.objects.filter(pk=status.snapshot_id or 0).update(last_seen_at=now)
            run = ReachabilityRun.objects.filter(pk=status.reachability_id or 0)
            run.update(last_seen_at=now)
            PlayerSession.objects.open().filter(server_id=self.server_id).update(last_seen_at=now)
            PollProgress.objects.update_or_create(
                key="poll", defaults={"dispatched_at": now, "finished_at": now}
            )

    def run(self) -> None:
        from django.db import connection

        while not self.stopped.wait(self.period):
            self.tick()
        connection.close()

    def __enter__(self) -> Ticker:
        self.tick()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def build(now: datetime) -> int:
    """The one server with its history; returns its id."""
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create(username="bench")
    (server,) = history.build_servers(owner, [0], now=now)
    history.build_history(server, sessions=100_000, players=5000, snapshot_days=7, now=now)
    history.build_profiles(5000, now=now)
    history.build_reachability(server, days=30, now=now)
    history.build_rollups(server, days=365, now=now)
    history.fold(now=now)
    from django.db import connection

    if connection.vendor == "postgresql":
        history.analyze()
    return int(server.pk)


def summary(label: str, tally: Tally, seconds: float, cpu: float | None) -> float:
    """One line: rps, latency, the server's CPU (of one core) and what the clients got."""
    rps = len(tally.latencies) / seconds
    ms = sorted(t * 1000 for t in tally.latencies) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(tally.statuses.items()))
    usage = f"server CPU {cpu:4.0%}  connections {tally.connects:,}  " if cpu is not None else ""
    print(
        f"{label:<32} {rps:>5.0f} rps  p50 {statistics.median(ms):6.1f} ms  p99 {p99:7.1f} ms  "
        f"{usage}[{statuses}]"
    )
    return rps


def measured(
    server: WebServer, run: Coroutine[Any, Any, tuple[Tally, float]]
) -> tuple[Tally, float, float]:
    """Run a load coroutine: its tally, the seconds tallied, and the server's CPU
    meanwhile (the share of one core, warm-up included)."""
    cpu, started = server.cpu_seconds(), time.perf_counter()
    tally, seconds = asyncio.run(run)
    return tally, seconds, (server.cpu_seconds() - cpu) / (time.perf_counter() - started)


def wait_for_second(second: int) -> float:
    """Sleep until `second` past the minute; return the epoch of the next minute turn."""
    now = time.time()
    time.sleep((second - now % 60) % 60)
    return (time.time() // 60 + 1) * 60


def load_average() -> str:
    """Other work on the machine takes CPU from the server: print it with the figures."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def phases(clients: int, seconds: float) -> list[tuple[str, int, bool, float]]:
    """(label, clients, with the current version, seconds) of the back-to-back runs."""
    return [
        ("204 refresh, 1 client", 1, True, seconds / 2),
        (f"204 refresh, {clients} clients", clients, True, seconds),
        ("200 full panel, 1 client", 1, False, seconds / 2),
        (f"200 full panel, {clients} clients", clients, False, seconds),
    ]


def environment() -> dict[str, str]:
    """The quick start's environment: this run's var dir and database, default settings."""
    env = {k: v for k, v in os.environ.items() if k not in OWN_SETTINGS}
    env = {k: v for k, v in env.items() if not k.startswith(("LIVE_STATE_", "WEB_"))}
    return env | {"DATABASE_URL": os.environ["DATABASE_URL"], "PYTHONUNBUFFERED": "1",
                  "SESSION_COOKIE_SECURE": "false"}  # fmt: skip


def run(web: WebServer, path: str, args: argparse.Namespace, period: float) -> None:
    """The back-to-back phases, then the viewers at their cadence over a minute's turn."""
    rps = {}
    for label, clients, versioned, seconds in phases(args.clients, args.seconds):
        version = version_in(web.get(path)) if versioned else None
        assert version or not versioned, "no X-Live-Version in the panel"
        load = saturate(web.port, path, version, clients=clients, seconds=seconds)
        rps[label] = summary(label, *measured(web, load))
    turn = wait_for_second(MINUTE_AT)
    version = version_in(web.get(path)) or ""
    seconds = max(args.seconds, 30.0)  # from 5 s before the turn to 25 s after
    load = paced(web.port, path, version, viewers=VIEWERS, period=period, seconds=seconds)
    tally, seconds, cpu = measured(web, load)
    summary(f"{VIEWERS:,} viewers every {period:g} s", tally, seconds, cpu)
    after = tally.between(turn, turn + TURN_SECONDS)
    summary(f"  of which {TURN_SECONDS} s after the turn", after, TURN_SECONDS, None)
    cheap = max(rps[label] for label in rps if label.startswith("204"))
    need = VIEWERS / period
    print(
        f"{VIEWERS:,} viewers need {need:.0f} rps; the 204 refresh sustains {cheap:.0f}: "
        f"headroom x{cheap / need:.1f}; {load_average()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=20, help="each phase (default 20)")
    parser.add_argument("--clients", type=int, default=32, help="back-to-back clients (32)")
    parser.add_argument("--keep", action="store_true", help="keep the var dir (the server log)")
    args = parser.parse_args()
    setup_django(args.database, pg_name=PG_NAME)
    from django.conf import settings
    from django.db import connections
    from django.utils import timezone

    var, web = Path(os.environ["LEFT4ME_VAR_DIR"]), None
    try:
        started = time.perf_counter()
        server_id = build(timezone.now())
        print(f"machine: {machine()}; {load_average()}")
        print(f"database: {args.database}; data built in {time.perf_counter() - started:.0f} s")
        period, path = settings.LIVE_STATE_POLL_SECONDS, f"/servers/{server_id}/live/"
        web = WebServer(environment(), free_port(), var / "web.log")
        with Ticker(server_id, period):
            web.wait_ready(path)
            print(f"web: python -m left4me.serve on 127.0.0.1:{web.port}, {path} with HX-Request")
            run(web, path, args, period)
    finally:
        if web is not None:
            web.stop()
        connections.close_all()
        if args.database == "postgres":
            drop_postgres_database(PG_NAME)
        if args.keep:
            print(f"var dir kept: {var}")
        else:
            shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
