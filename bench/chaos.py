"""Chaos run: the quick start keeps serving and polling while its processes are killed.

    .venv/bin/python bench/chaos.py --mode embedded --minutes 20
    .venv/bin/python bench/chaos.py --mode redis --minutes 3   # a quick look

Starts a scripted fake fleet in this process (6 servers, players whose
sessions are known), registers it in a fresh var dir, and runs
`manage.py quickstart --no-fleet` there: the embedded broker, or (--mode
redis) a private redis-server on a free port (never the machine's 6379).
Once the stack polls, the run lasts --minutes while it, spread over the
run: SIGKILLs the poller pool child that is polling mid-tick, then both,
then the poller's main process, then beat; in redis mode stalls the broker
(SIGSTOP for 20 s) and later kills it and starts it again on its port; and
last holds 50 slow connections to the web port (a header line every 2 s).

It proves, with figures from this run only (exit status 1 if one fails):
- polling resumes within 3 poll periods after each fault ends: a tick
  dispatched since polled servers (LiveStatus.polled_at and PollProgress,
  read every second from the run's database; bench/_chaos_report.py);
- ticks recorded match the ticks expected, less what the faults excuse;
- /servers/ answers (GET every second, 5 s timeout), also during the slow
  connections; /healthz states and transitions (GET every 2 s) are shown;
- every process the supervisor runs is up at the end (restarts counted);
- no session is split, merged or doubled (livestate.truth against the
  fleet's ground truth, and the whole-run players directly).
The quick start's output is kept in a log file whose path is printed; the
var dir, Redis and every process of the run go at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._chaos_probe import Prober, hold_slow_clients
from bench._chaos_report import RECOVERY_PERIODS, Progress, Run, print_report
from bench._chaos_stack import (
    QuickStart,
    Redis,
    busy_child,
    free_port,
    kill,
    pool_children,
    prepare_django,
    run_environment,
)
from bench._chaos_world import check_sessions, register, scripted_servers
from bench._django import machine
from left4me.rcon.fleet import FleetHandle, running_fleet

READY_SECONDS = 120
MID_TICK = 0.3  # after a chunk is received: its pool child is waiting for the slow server
STALL_SECONDS = 20
REDIS_DOWN_SECONDS = 5
SLOW_CLIENTS = 50
PROCESSES = ("web", "worker", "poller", "beat")


@dataclass
class Fault:
    """One fault: what was done, and when the harm began and ended (epoch seconds)."""

    name: str
    due: float  # seconds after the run's start
    weight: float  # its share of the schedule: how long it lasts plus time to recover
    action: Callable[[Fault], None]
    polling: bool = True  # judged by polling resuming (the slow clients by web availability)
    started: float | None = None
    ended: float | None = None
    detail: str = ""

    def begin(self, detail: str = "") -> None:
        self.started, self.detail = time.time(), detail

    def end(self) -> None:
        self.ended = time.time()


class Chaos:
    """The faults, acting on the stack this run started."""

    def __init__(self, stack: QuickStart, redis: Redis | None, ports: set[int], period: float):
        self.stack, self.redis, self.ports, self.period = stack, redis, ports, period
        self.slow_hold = 60.0

    def mid_tick(self) -> tuple[int, list[int]]:
        """The poller and its pool children, just after it received a chunk: polling now.

        Tried for a few ticks: a poller that is starting again has no pool yet.
        """
        for _ in range(3):
            self.stack.output.wait_for_chunk(self.period * 2)
            time.sleep(MID_TICK)
            main = self.stack.output.pids["poller"]
            if children := pool_children(main):
                return main, children
        return main, []

    def kill_polling_child(self, fault: Fault) -> None:
        main, children = self.mid_tick()
        if not children:
            fault.detail = f"poller {main} had no pool children to kill"
            return
        victim = busy_child(children, self.ports)
        busy = "polling" if victim else "none seen polling: the first"
        fault.begin(f"pid {victim or children[0]} ({busy} of poller {main}'s {len(children)})")
        kill(victim or children[0], self.stack.var)
        fault.end()

    def kill_both_children(self, fault: Fault) -> None:
        main, children = self.mid_tick()
        if not children:
            fault.detail = f"poller {main} had no pool children to kill"
            return
        fault.begin(f"pids {', '.join(map(str, children))} (of poller {main})")
        for child in children:
            kill(child, self.stack.var)
        fault.end()

    def kill_poller(self, fault: Fault) -> None:
        main, _ = self.mid_tick()
        fault.begin(f"pid {main}")
        kill(main, self.stack.var)
        fault.end()

    def kill_beat(self, fault: Fault) -> None:
        self.stack.output.wait_for_tick(self.period * 2)
        pid = self.stack.output.pids["beat"]
        fault.begin(f"pid {pid}, just after it sent a tick")
        kill(pid, self.stack.var)
        fault.end()

    def stall_broker(self, fault: Fault) -> None:
        assert self.redis is not None
        fault.begin(f"SIGSTOP redis-server for {STALL_SECONDS} s")
        self.redis.signal(signal.SIGSTOP)
        time.sleep(STALL_SECONDS)
        self.redis.signal(signal.SIGCONT)
        fault.end()

    def restart_broker(self, fault: Fault) -> None:
        assert self.redis is not None
        fault.begin(f"SIGKILL redis-server, start it again after {REDIS_DOWN_SECONDS} s")
        self.redis.stop()
        time.sleep(REDIS_DOWN_SECONDS)
        self.redis.start()
        fault.end()

    def slow_clients(self, fault: Fault) -> None:
        hold = self.slow_hold
        fault.begin()
        opened, failed = hold_slow_clients(self.stack.port, SLOW_CLIENTS, hold)
        fault.end()
        fault.detail = f"{SLOW_CLIENTS} held {hold:.0f} s: {opened} opened, {failed} refused"


def schedule(chaos: Chaos, mode: str, seconds: float) -> list[Fault]:
    """The faults in order, each given a slot in proportion to what it needs.

    A kill needs 4 poll periods (the bar of 3, and one to see it missed), a
    stall its length on top; the slow clients hold 60 s (less in runs under
    5 minutes). Slots stretch over longer runs, and are squeezed in very
    short ones (a recovery then overlaps the next fault: marked * in the
    report).
    """
    budget = chaos.period * (RECOVERY_PERIODS + 1)  # the bar, and a period to see it missed
    faults = [
        Fault("SIGKILL the polling pool child", 0, budget, chaos.kill_polling_child),
        Fault("SIGKILL both poller pool children", 0, budget, chaos.kill_both_children),
        Fault("SIGKILL the poller (main process)", 0, budget, chaos.kill_poller),
        Fault("SIGKILL beat", 0, budget, chaos.kill_beat),
    ]
    if mode == "redis":
        faults += [
            Fault("stall the broker", 0, STALL_SECONDS + budget, chaos.stall_broker),
            Fault("kill and restart the broker", 0, REDIS_DOWN_SECONDS + budget,
                  chaos.restart_broker),
        ]  # fmt: skip
    hold = chaos.slow_hold = min(60.0, seconds / 5)
    faults.append(Fault("hold 50 slow connections", 0, hold + budget, chaos.slow_clients, False))
    lead, tail = min(30.0, seconds * 0.05), chaos.period * RECOVERY_PERIODS
    stretch = (seconds - lead - tail) / sum(f.weight for f in faults)
    at = lead
    for fault in faults:
        fault.due = at
        at += fault.weight * stretch
    # The slow clients hold for their whole time, and stop before the run ends.
    faults[-1].due = min(faults[-1].due, seconds - tail - hold)
    return faults


def read_progress() -> Progress:
    """PollProgress's stamps and the newest LiveStatus.polled_at, now."""
    from django.db.models import Max

    from livestate.models import LiveStatus, PollProgress

    row = PollProgress.objects.filter(key="poll").values("finished_at", "dispatched_at").first()
    newest = LiveStatus.objects.aggregate(newest=Max("polled_at"))["newest"]
    finished, dispatched = (row["finished_at"], row["dispatched_at"]) if row else (None, None)
    return Progress(time.time(), *(t.timestamp() if t else None
                                   for t in (finished, dispatched, newest)))  # fmt: skip


def wait_until_ready(stack: QuickStart) -> None:
    """Every process started, /servers/ answers and a chunk has finished."""
    from bench._chaos_probe import fetch

    deadline = time.monotonic() + READY_SECONDS
    base = f"http://127.0.0.1:{stack.port}"
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise SystemExit(f"the quick start exited with {stack.process.returncode}: {stack.log}")
        started = all(name in stack.output.pids for name in PROCESSES)
        if started and read_progress().polled and fetch(base, "/servers/").ok:
            return
        time.sleep(1)
    exits = Counter(f"{name} ({how})" for _, name, how in stack.output.exits)
    died = "; ".join(f"{what} exited {n} times" for what, n in exits.items()) or "nothing exited"
    raise SystemExit(f"the stack was not polling after {READY_SECONDS} s ({died}): see {stack.log}")


def run_faults(faults: list[Fault], seconds: float) -> list[Progress]:
    """Start each fault on time (in its own thread) and read PollProgress every second."""
    start = time.time()
    samples: list[Progress] = []
    threads: list[threading.Thread] = []
    pending = list(faults)
    while (now := time.time()) < start + seconds:
        while pending and now >= start + pending[0].due:
            fault = pending.pop(0)
            threads.append(threading.Thread(target=fault.action, args=(fault,), daemon=True))
            threads[-1].start()
        samples.append(read_progress())
        time.sleep(max(0.0, 1 - (time.time() - now)))
    for thread in threads:
        thread.join(STALL_SECONDS + 60)
    return samples


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["embedded", "redis"], default="embedded")
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the var dir (database) too")
    return parser.parse_args()


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@dataclass
class Stack:
    """What one run started: the quick start, its broker and the fleet."""

    quick: QuickStart
    redis: Redis | None
    fleet: FleetHandle
    origin: datetime  # the fleet clock's zero


def start_stack(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> Stack:
    """Var dir, Redis (redis mode), database, fleet and quick start; each cleans up after."""
    root = Path(tempfile.mkdtemp(prefix="left4me-chaos-"))
    if not args.keep:
        cleanup.callback(shutil.rmtree, root / "var", ignore_errors=True)
    redis = Redis(root / "redis.log") if args.mode == "redis" else None
    if redis is not None:
        redis.start()
        cleanup.callback(redis.stop, closing=True)
    env = run_environment(root / "var", redis.url if redis else "")
    prepare_django(env)
    from django.db import connections
    from django.utils import timezone

    cleanup.callback(connections.close_all)
    servers = scripted_servers(args.minutes * 60 + READY_SECONDS / 2)
    fleet: FleetHandle = cleanup.enter_context(running_fleet(servers, clock="real"))
    origin = timezone.now() - timedelta(seconds=fleet.now())
    register(fleet.servers)
    quick = QuickStart(env, free_port(), root / "quickstart.log")
    cleanup.callback(quick.stop)
    if redis is not None:  # a stalled broker would hold up the stack's stop
        cleanup.callback(redis.signal, signal.SIGCONT)
    return Stack(quick, redis, fleet, origin)


def measure(args: argparse.Namespace, stack: Stack, period: float) -> Run:
    """Run the faults on schedule while probing; stop the stack; judge the sessions."""
    quick, seconds = stack.quick, args.minutes * 60
    chaos = Chaos(quick, stack.redis, {s.port for s in stack.fleet.servers}, period)
    faults = schedule(chaos, args.mode, seconds)
    prober = Prober(quick.port)
    prober.start()
    began = time.time()
    print(f"stack ready; the run starts at {time.strftime('%H:%M:%S')}, lasts {seconds:.0f} s")
    samples = run_faults(faults, seconds)
    ended = time.time()
    running = {name: quick.running(name) for name in quick.output.starts}
    probes = prober.stop()
    stop_seconds, left = quick.stop()
    samples.append(read_progress())  # a chunk the stop let finish
    stored = [p.finished for p in samples if p.finished is not None]
    sessions = check_sessions(stack.fleet, stack.origin, period, stored)
    return Run(args.mode, period, began, ended, faults, samples, probes, quick.output,
               running, stop_seconds, left, sessions, quick.log)  # fmt: skip


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    with contextlib.ExitStack() as cleanup:
        stack = start_stack(args, cleanup)
        from django.conf import settings

        period = settings.LIVE_STATE_POLL_SECONDS
        redis = f", redis on port {stack.redis.port}" if stack.redis else ""
        print(f"machine: {machine()}")
        print(f"mode: {args.mode}, {args.minutes:g} min, web port {stack.quick.port}, "
              f"{len(stack.fleet.servers)} servers, poll every {period:g} s{redis}")  # fmt: skip
        print(f"quick start output: {stack.quick.log}")
        wait_until_ready(stack.quick)
        return print_report(measure(args, stack, period))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        raise SystemExit("interrupted (stack, Redis, fleet and var dir cleaned up)") from None
