"""The chaos run's figures and checks, computed from what was recorded during the run.

Polling "resumed" after a fault when a tick dispatched after the fault ended
went all the way through: a chunk that a surviving pool child happened to
finish does not count. Two signals of that are shown: the PollProgress
stamp (what /healthz and the pages read) and a server actually polled again
(the newest LiveStatus.polled_at). They differ: a chunk whose servers are
all leased by a killed chunk polls nothing yet stamps its finish. The
verdict is on servers polled, the thing a visitor needs.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench._chaos_probe import Sample
from bench._chaos_stack import Output
from bench._chaos_world import Sessions

if TYPE_CHECKING:
    from bench.chaos import Fault

RECOVERY_PERIODS = 3
WEB_OK_PERCENT = 99.0


@dataclass(frozen=True, slots=True)
class Progress:
    """The run's database, read once a second (epoch seconds)."""

    read_at: float
    finished: float | None  # PollProgress.finished_at: a chunk stored its results
    dispatched: float | None  # PollProgress.dispatched_at: a tick was fanned out
    polled: float | None  # the newest LiveStatus.polled_at: a server was polled


@dataclass
class Run:
    mode: str
    period: float
    began: float
    ended: float
    faults: list[Fault]
    samples: list[Progress]
    probes: list[Sample]
    output: Output
    running: dict[str, bool]
    stop_seconds: float
    left_behind: list[int]
    sessions: Sessions
    log: Path

    def at(self, moment: float) -> str:
        return (
            f"+{moment - self.began:5.0f} s ({time.strftime('%H:%M:%S', time.localtime(moment))})"
        )


class Checks:
    """Named PASS/FAIL lines; the run fails if any one does."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> str:
        if not ok:
            self.failed.append(what)
        return "PASS" if ok else "FAIL"


def resumed_at(run: Run, after: float, signal: str) -> float | None:
    """The first `signal` ("finished" or "polled") of a tick dispatched after `after`."""
    dispatches = [p.dispatched for p in run.samples if p.dispatched and p.dispatched > after]
    if not dispatches:
        return None
    times = [getattr(p, signal) for p in run.samples]
    return min((t for t in times if t is not None and t >= min(dispatches)), default=None)


def last_polled_before(run: Run, moment: float) -> float | None:
    return max((p.polled for p in run.samples if p.polled and p.polled < moment), default=None)


def distinct(run: Run, signal: str) -> int:
    times = {getattr(p, signal) for p in run.samples}
    return sum(1 for t in times if t is not None and run.began <= t <= run.ended)


def report_ticks(run: Run, check: Checks) -> None:
    finished, polled = distinct(run, "finished"), distinct(run, "polled")
    lines = [(t, n) for t, n in run.output.polled if run.began <= t <= run.ended]
    seconds = run.ended - run.began
    expected = seconds / run.period
    excused = sum(
        math.floor(((f.ended or run.ended) - (f.started or run.ended)) / run.period)
        + RECOVERY_PERIODS
        for f in run.faults
        if f.polling
    )
    ok = polled >= expected - excused - 1
    print(f"\nTICKS over {seconds:.0f} s, one every {run.period:g} s (database read every 1 s)")
    print(f"  expected                                                   {expected:7.1f}")
    print(f"  PollProgress.finished_at stamps (what /healthz reads)      {finished:5d}")
    print(f"  ticks that polled servers (newest LiveStatus.polled_at)    {polled:5d}")
    print(f"  poller lines `polled N servers`: {len(lines)}, with N > 0: "
          f"{sum(1 for _, n in lines if n > 0)}")  # fmt: skip
    print(f"  missed {expected - polled:.0f}; the faults excuse up to {excused} "
          f"(each: its length + {RECOVERY_PERIODS} periods)   "
          f"{check(ok, 'ticks recorded')}")  # fmt: skip


def report_faults(run: Run, check: Checks) -> None:
    bar = RECOVERY_PERIODS * run.period
    print(f"\nFAULTS (servers must be polled again within {bar:g} s of each fault's end)")
    print(f"  {'fault':<36} {'at':<18} {'lasted':>7} {'stamp':>7} {'polled':>8} {'gap':>7}"
          "  verdict")  # fmt: skip
    starts = [f.started for f in run.faults if f.started is not None]
    for fault in run.faults:
        if fault.started is None:
            print(f"  {fault.name:<36} {'never happened':<18}  {check(False, fault.name)}")
            continue
        end = fault.ended or run.ended
        lasted = f"{end - fault.started:.1f} s"
        if not fault.polling:
            print(f"  {fault.name:<36} {run.at(fault.started):<18} {lasted:>7}")
            print(f"      {fault.detail}; {web_during(run, fault.started, end)}")
            continue
        stamp, back = resumed_at(run, end, "finished"), resumed_at(run, end, "polled")
        before = last_polled_before(run, fault.started)
        gap = f"{back - before:.1f} s" if back and before else "-"
        later = [s for s in starts if s > fault.started]
        overlapped = back is not None and bool(later) and back > min(later)
        stamped = f"{stamp - end:.1f} s" if stamp else "never"
        polled = (f"{back - end:.1f} s" if back else "never") + ("*" if overlapped else "")
        ok = back is not None and back - end <= bar
        print(f"  {fault.name:<36} {run.at(fault.started):<18} {lasted:>7} {stamped:>7} "
              f"{polled:>8} {gap:>7}  {check(ok, fault.name)}")  # fmt: skip
        print(f"      {fault.detail}; {web_during(run, fault.started, end + bar)}")
    print("  stamp: a PollProgress finish stamped after the fault ended; polled: a server polled;")
    print("  gap: no server polled from .. to ..; *: only after the next fault began")


def web_during(run: Run, start: float, end: float) -> str:
    """/servers/ while a fault lasted and polling recovered: a queue shows as slow answers."""
    pages = [s for s in run.probes if s.path == "/servers/" and start <= s.at <= end]
    if not pages:
        return "/servers/: no samples"
    ok = 100 * sum(s.ok for s in pages) / len(pages)
    return f"/servers/ {ok:.0f} % ok, slowest {max(s.seconds for s in pages):.1f} s"


def availability(samples: list[Sample]) -> str:
    if not samples:
        return "no samples"
    ok = sum(s.ok for s in samples)
    return f"{100 * ok / len(samples):6.2f} % ({ok} of {len(samples)})"


def report_web(run: Run, check: Checks) -> None:
    pages = [s for s in run.probes if s.path == "/servers/"]
    slow = next((f for f in run.faults if not f.polling), None)
    during = [
        s for s in pages if slow and slow.started and slow.started <= s.at <= (slow.ended or 0)
    ]
    print("\nWEB: GET /servers/ every 1 s, 5 s timeout")
    overall_ok = bool(pages) and 100 * sum(s.ok for s in pages) / len(pages) >= WEB_OK_PERCENT
    during_ok = bool(during) and 100 * sum(s.ok for s in during) / len(during) >= WEB_OK_PERCENT
    print(f"  overall                           {availability(pages)}   "
          f"{check(overall_ok, 'web availability')}")  # fmt: skip
    print(f"  during the slow connections       {availability(during)}   "
          f"{check(during_ok, 'web availability under slow clients')}")  # fmt: skip
    if pages:
        times = sorted(s.seconds for s in pages)
        print(f"  answer time: median {times[len(times) // 2]:.3f} s, "
              f"p99 {times[int(len(times) * 0.99)]:.3f} s, slowest {times[-1]:.3f} s")  # fmt: skip
    for text, count in Counter(s.label for s in pages if not s.ok).most_common(5):
        print(f"    failed: {count} x {text}")


def report_health(run: Run, check: Checks) -> None:
    health = [s for s in run.probes if s.path == "/healthz"]
    print("\n/healthz every 2 s (samples per answer)")
    for text, count in Counter(s.label for s in health).most_common():
        print(f"  {count:5d}  {text}")
    if health:
        print(f"  slowest answer {max(s.seconds for s in health):.1f} s (timeout 5 s)")
    if health and all(s.label.startswith("404") for s in health):
        print("  /healthz answered 404 throughout: the endpoint is not there yet")
        return
    print("  transitions:")
    previous = None
    for sample in health:
        if sample.label != previous:
            print(f"    {run.at(sample.at)}  {sample.label}")
            previous = sample.label
    last = health[-1].label if health else "none"
    print(f"  last answer: {last}   {check(last.startswith('200'), '/healthz ok at the end')}")


def report_processes(run: Run, check: Checks) -> None:
    bar = RECOVERY_PERIODS * run.period
    print(f"\nPROCESSES (supervisor output; working: its last sign of work within {bar:g} s "
          "of the end)")  # fmt: skip
    for name, up in run.running.items():
        worked = run.output.worked.get(name)
        busy = worked is not None and run.ended - worked <= bar
        ago = f"{max(0.0, run.ended - worked):.0f} s before the end" if worked else "never"
        print(f"  {name:<8} restarts {run.output.starts[name] - 1:3d}   running: "
              f"{'yes' if up else 'NO':<3}  last worked {ago:<22} "
              f"{check(up and busy, f'{name} running and working at the end')}")  # fmt: skip
        for when, who, how in run.output.exits:
            if who == name and when <= run.ended:
                print(f"      exited: {how} {run.at(when).strip()}")
    print(f"  stopped by SIGTERM in {run.stop_seconds:.1f} s; processes left behind: "
          f"{run.left_behind or 'none'}   "
          f"{check(not run.left_behind, 'nothing left behind after stop')}")  # fmt: skip
    trouble = [line for when, line in run.output.trouble if when <= run.ended]
    print(f"  CRITICAL/Traceback/wedged/SIGTERM lines during the run: {len(trouble)}")
    for line in trouble[:8]:
        print(f"      {line[:160]}")


def report_sessions(run: Run, check: Checks) -> None:
    s = run.sessions
    print("\nSESSIONS against the fleet's ground truth (livestate.truth)")
    print(f"  {s.summary}")
    clean = s.splits == s.merges == s.phantoms == 0
    print(f"  splits {s.splits}, merges {s.merges}, phantoms {s.phantoms}   "
          f"{check(clean, 'no split, merged or phantom session')}")  # fmt: skip
    print(f"  stints recorded within the truth's bar: {s.missed} missed   "
          f"{check(s.missed == 0, 'every stint recorded')}")  # fmt: skip
    print(f"  whole-run players not in exactly one open session: {s.stayers_split or 'none'}   "
          f"{check(not s.stayers_split, 'whole-run players')}")  # fmt: skip
    print(f"  duplicate open sessions: {s.duplicate_open or 'none'}   "
          f"{check(not s.duplicate_open, 'no duplicate open session')}")  # fmt: skip
    for line in s.problems:
        print(f"      {line}")


def print_report(run: Run) -> int:
    """Print every table; 0 if every check passed, else 1."""
    check = Checks()
    for part in (report_ticks, report_faults, report_web, report_health, report_processes,
                 report_sessions):  # fmt: skip
        part(run, check)
    print(f"\nquick start output: {run.log}")
    if check.failed:
        print(f"FAILED: {'; '.join(check.failed)}")
        return 1
    print("every check passed")
    return 0
