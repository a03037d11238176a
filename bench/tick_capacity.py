"""Tick capacity end to end: servers per 5 s tick through one real Celery worker.

Starts a fake fleet in its own process (5 % refused, 10 % black-holed),
registers it, starts the polling worker with the Procfile's own command line
and default LIVE_STATE_* settings, then sends `livestate.poll` as beat does
(its beat entry's queue and `expires`), once per LIVE_STATE_POLL_SECONDS.
A tick lasts from that dispatch until every server it targets (those not in
auth back-off, chosen as the worker chooses them) has a LiveStatus.polled_at
at or after it: "seen" is the wall clock until this script saw that in the
database (an upper bound, to within its 0.1 s polling), "data" is the last
polled_at minus the dispatch (a lower bound: polled_at is when a result was
observed, the chunk's write commits after it). A tick that overruns delays
the next dispatch, so ticks never overlap; one unfinished after 15 s is
reported with the servers it did poll. Under each tick come the worker's own
log lines, seconds after the dispatch, so pickup, RCON and database time show.

    .venv/bin/python bench/tick_capacity.py --servers 1000 --database sqlite --ticks 3
    .venv/bin/python bench/tick_capacity.py --servers 5000 --database postgres
    .venv/bin/python bench/tick_capacity.py --broker filesystem
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import ROOT, drop_postgres_database, machine, setup_django
from bench._fleet import raise_nofile, start_fleet
from bench.poll_capacity import register

REDIS_URL = "redis://127.0.0.1:6379/14"
GIVE_UP_SECONDS = 15
CHECK_SECONDS = 0.1
WORKER_LOG_LINE = re.compile(r"livestate|tick|polled|revoked|expired|WARNING|ERROR|CRITICAL")
LOG_TIME = re.compile(r"^\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")
TASK_ID = re.compile(r"\[[0-9a-f-]{36}\]")


@dataclass(slots=True)
class Tick:
    number: int
    targets: int  # servers the tick polls: all but those in auth back-off
    held: int  # in auth back-off (another process answered on a refused port)
    dispatched_at: datetime
    polled: int = 0
    answered: int = 0
    last_polled_at: datetime | None = None
    seen: float | None = None  # None: not finished within GIVE_UP_SECONDS

    @property
    def data(self) -> float | None:
        if self.seen is None or self.last_polled_at is None:
            return None
        return (self.last_polled_at - self.dispatched_at).total_seconds()


# --- The polling worker, as the Procfile starts it ---------------------------


def procfile_worker(procfile: Path) -> tuple[str, list[str]]:
    """The Procfile entry that consumes the `polling` queue (else `worker`), expanded."""
    entries = {}
    for line in procfile.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.lstrip().startswith("#"):
            entries[name.strip()] = command.strip()
    polling = [n for n, c in entries.items() if " worker" in c and "polling" in c]
    name = polling[0] if polling else "worker"
    if name not in entries:
        raise SystemExit(f"{procfile} has no polling worker entry")
    return name, with_our_python(shlex.split(expand(entries[name])))


def expand(command: str) -> str:
    """`${NAME:-default}` and `$NAME` as the supervisor's shell expands them."""
    braced = re.sub(
        r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: os.environ.get(m[1]) or m[2] or "", command
    )
    return re.sub(r"\$(\w+)", lambda m: os.environ.get(m[1], ""), braced)


def with_our_python(argv: list[str]) -> list[str]:
    """`celery …` or `python -m celery …` run by this interpreter (the venv's)."""
    if argv[:3] in (["python", "-m", "celery"], ["python3", "-m", "celery"]):
        argv = argv[3:]
    elif argv[:1] == ["celery"]:
        argv = argv[1:]
    else:
        raise SystemExit(f"not a celery command: {shlex.join(argv)}")
    return [sys.executable, "-m", "celery", *argv]


def worker_env() -> dict[str, str]:
    """This process's environment (database, broker, var dir), LOG_LEVEL at its default."""
    env = dict(os.environ)
    env.pop("LOG_LEVEL", None)
    return env


def start_worker(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        # Its own session: Ctrl-C reaches only this script, which stops it in order.
        worker = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise SystemExit("the polling worker did not become ready")
        time.sleep(0.2)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    """Warm shutdown (running chunks finish), then kill its process group."""
    if worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(timeout=GIVE_UP_SECONDS + 5)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


# --- Ticks ----------------------------------------------------------------


def beat_entry() -> dict:
    from django.conf import settings

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        if entry["task"] == "livestate.poll":
            return entry
    raise SystemExit("CELERY_BEAT_SCHEDULE has no livestate.poll entry")


def warm_up_broker() -> None:
    """Connect the producer pool first, as a running beat already has."""
    from left4me.celery import app

    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=3)


def dispatch(entry: dict) -> datetime:
    """Send the tick as beat does: its task, args and options (queue, expires)."""
    from django.utils import timezone

    from left4me.celery import app

    now = timezone.now()
    app.send_task(
        entry["task"], args=entry.get("args", ()), kwargs=entry.get("kwargs", {}),
        **entry.get("options", {}),
    )  # fmt: skip
    return now


def observe(tick: Tick) -> None:
    """Count the servers polled (and answered) since the tick's dispatch."""
    from django.db.models import Count, Max, Q

    from livestate.models import LiveStatus

    since = tick.dispatched_at
    row = LiveStatus.objects.filter(polled_at__gte=since).aggregate(
        polled=Count("pk"), answered=Count("pk", filter=Q(answered_at__gte=since)),
        last=Max("polled_at"),
    )  # fmt: skip
    tick.polled, tick.answered, tick.last_polled_at = row["polled"], row["answered"], row["last"]


def run_tick(number: int, entry: dict) -> Tick:
    from django.utils import timezone

    from livestate import services

    ids, held = services.select_targets(now=timezone.now())
    started = time.monotonic()
    tick = Tick(number, len(ids), held, dispatch(entry))
    while time.monotonic() - started < GIVE_UP_SECONDS:
        observe(tick)
        if tick.polled >= tick.targets:
            tick.seen = time.monotonic() - started
            break
        time.sleep(CHECK_SECONDS)
    return tick


def worker_lines(log: Path, offset: int, tick: Tick) -> list[str]:
    """The worker's log since `offset`, once every chunk the tick announced has logged."""
    deadline = time.monotonic() + 2
    while True:
        text = log.read_bytes()[offset:].decode(errors="replace")
        announced = re.search(r"in (\d+) chunk", text)
        chunks = int(announced[1]) if announced else 1
        if text.count("polled ") >= chunks or time.monotonic() > deadline:
            break
        time.sleep(CHECK_SECONDS)
    lines = [TASK_ID.sub("", line) for line in text.splitlines() if WORKER_LOG_LINE.search(line)]
    return [since_dispatch(line, tick) for line in lines]


def since_dispatch(line: str, tick: Tick) -> str:
    """The log line with its time stamp as seconds after the tick's dispatch."""
    stamp = LOG_TIME.match(line)
    if not stamp:
        return f"{'':8}  {line}"
    logged = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S,%f").astimezone()
    seconds = (logged - tick.dispatched_at).total_seconds()
    return f"{seconds:+7.2f}s  {line[stamp.end() :].lstrip(' :]')}"


# --- Output and the run ----------------------------------------------------


def row(tick: Tick) -> str:
    seen = f"{tick.seen:.2f}" if tick.seen is not None else "NOT DONE"
    data = f"{tick.data:.2f}" if tick.data is not None else "-"
    return (f"{tick.number:>4} {seen:>9} {data:>7} {tick.polled:>6}/{tick.targets:<6} "
            f"{tick.answered:>8} {tick.polled - tick.answered:>6} {tick.held:>8}")  # fmt: skip


def verdict(ticks: list[Tick], servers: int, period: float) -> str:
    done = [t.seen for t in ticks if t.seen is not None]
    if not done:
        return f"{servers} servers: no tick finished within {GIVE_UP_SECONDS} s -> does NOT fit"
    fits = len(done) == len(ticks) and max(done) < period
    unfinished = f", {len(ticks) - len(done)} unfinished" if len(done) < len(ticks) else ""
    return (f"{servers} servers per tick end to end: median {statistics.median(done):.2f} s, "
            f"max {max(done):.2f} s{unfinished} -> {'fits' if fits else 'does NOT fit'} "
            f"in a {period:g} s tick")  # fmt: skip


def measure(args: argparse.Namespace, worker_log: Path) -> None:
    from django.conf import settings

    entry, period = beat_entry(), settings.LIVE_STATE_POLL_SECONDS
    warm_up_broker()
    print(f"{'tick':>4} {'seen s':>9} {'data s':>7} {'polled':>13} {'answered':>8} {'failed':>6} "
          f"{'back-off':>8}")  # fmt: skip
    ticks: list[Tick] = []
    next_at = time.monotonic()
    for number in range(1, args.ticks + 1):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += period
        offset = worker_log.stat().st_size
        ticks.append(run_tick(number, entry))
        print(row(ticks[-1]))
        for line in worker_lines(worker_log, offset, ticks[-1]):
            print(f"        {line}")
        next_at = max(next_at, time.monotonic())
    print(verdict(ticks, args.servers, period))


def prepare(
    args: argparse.Namespace,
    stack: contextlib.ExitStack,
    *,
    name: str = "tick",
    redis_url: str = REDIS_URL,
) -> Path:
    """Temp dir, broker, database; every step registers its own cleanup.

    `name` and `redis_url` keep a run apart from other benchmarks' (bench/truth.py).
    """
    root = Path(tempfile.mkdtemp(prefix=f"left4me-{name}-"))
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    tempfile.tempdir = str(root)  # the var dir and the fleet listing land inside it
    for name in [n for n in os.environ if n.startswith("LIVE_STATE_")]:
        del os.environ[name]  # default poll settings are the point
    if args.broker == "redis":
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        stack.callback(lambda: redis.Redis.from_url(redis_url).flushdb())
        os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
        os.environ["CELERY_BROKER_URL"] = "filesystem://"
    pg_name = f"left4me_{name}_{os.getpid()}"
    if args.database == "postgres":
        stack.callback(drop_postgres_database, pg_name)
    setup_django(args.database, pg_name=pg_name)
    from django.db import connections

    stack.callback(connections.close_all)
    return Path(os.environ["LEFT4ME_VAR_DIR"])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=5000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--broker", choices=["redis", "filesystem"], default="redis")
    return parser.parse_args()


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started in the background
    raise_nofile()
    with contextlib.ExitStack() as stack:
        var = prepare(args, stack)
        from django.conf import settings

        fleet, rows = start_fleet(
            args.servers, "--refused-ratio", "0.05", "--blackhole-ratio", "0.10", horizon=3600
        )
        stack.callback(fleet.wait)
        stack.callback(fleet.terminate)
        register(rows)
        name, argv = procfile_worker(ROOT / "Procfile")
        worker_log = var / "worker.log"
        stack.callback(stop_worker, start_worker(argv, worker_env(), worker_log))
        print(f"machine: {machine()}")
        print(f"database: {args.database}, broker: {args.broker}, servers: {args.servers} "
              f"(5% refused, 10% black-holed), poll every {settings.LIVE_STATE_POLL_SECONDS:g} s, "
              f"timeout {settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS:g} s, "
              f"chunk {settings.LIVE_STATE_POLL_CHUNK_SIZE}")  # fmt: skip
        print(f"worker (Procfile {name!r}): {shlex.join(argv)}")
        measure(args, worker_log)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("interrupted (worker, fleet, database and temp dir cleaned up)") from None
