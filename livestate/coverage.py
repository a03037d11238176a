"""Which stretch of time a run-length-encoded history row stands for. Pure: no ORM, no I/O.

Polls are instants; a run (a `ReachabilityRun`, a `LiveStateSnapshot`) is a
row of consecutive polls with one result, from `started_at` to `last_seen_at`.
Uptime, outages and rollups need time, not instants, so every reader turns
runs into spans with the one rule below.

The rule, for the runs of ONE server in order of `started_at`:
- A run covers [started_at, next.started_at) when the next run starts within
  `allowed_gap(run)` of its `last_seen_at`: the polls kept coming, so the time
  until the next result was seen still belongs to this one.
- Otherwise (the last run, or nobody polled for longer than the allowed gap)
  it covers [started_at, last_seen_at + period): its last poll stands for one
  poll period, a one-poll run included.
- Never past the next run's start, so rows that overlap (they should not)
  are not counted twice.

For reachability runs the allowed gap is `reachability.allowed_gap` of the
run's outcome (after a rejected password the next try waits out the back-off,
and that wait still belongs to the "password rejected" run); for snapshots
it is LIVE_STATE_STALE_SECONDS, the gap after which polling starts a new row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol


class Run(Protocol):
    """Anything with the shape of a run: a model instance or a values_list row."""

    @property
    def started_at(self) -> datetime: ...

    @property
    def last_seen_at(self) -> datetime: ...


class OutcomeRun(Run, Protocol):
    @property
    def outcome(self) -> str: ...


class Covered[R: Run](NamedTuple):
    start: datetime
    end: datetime
    run: R


def covered[R: Run](
    runs: Iterable[R], *, period: timedelta, allowed_gap: Callable[[R], timedelta]
) -> list[Covered[R]]:
    """The span each run of one server covers, in order (rule in the module docstring)."""
    ordered = sorted(runs, key=lambda r: r.started_at)
    spans = []
    for run, after in zip(ordered, [*ordered[1:], None], strict=False):
        end = run.last_seen_at + period
        if after is not None:
            if after.started_at - run.last_seen_at <= allowed_gap(run):
                end = after.started_at
            end = min(end, after.started_at)
        spans.append(Covered(run.started_at, max(end, run.started_at), run))
    return spans


def run_spans(
    runs: Iterable[OutcomeRun],
    *,
    period: timedelta,
    allowed_gap_of: Callable[[str], timedelta],
) -> list[tuple[datetime, datetime, str]]:
    """(start, end, outcome) of each reachability run of one server, in order.

    `allowed_gap_of(outcome)` is how long after a poll with that outcome the
    next poll may come and still continue the run (`reachability.allowed_gap`).
    """
    spans = covered(runs, period=period, allowed_gap=lambda r: allowed_gap_of(r.outcome))
    return [(s.start, s.end, s.run.outcome) for s in spans]


def overlap(start: datetime, end: datetime, *, within: tuple[datetime, datetime]) -> float:
    """Seconds of [start, end) inside the window [within[0], within[1])."""
    return max(0.0, (min(end, within[1]) - max(start, within[0])).total_seconds())


def subtract[R: Run](
    spans: Iterable[Covered[R]], holes: Sequence[tuple[datetime, datetime]]
) -> list[Covered[R]]:
    """The parts of `spans` outside every hole; both in order and each without overlaps.

    Snapshots minus the failed reachability runs is the time a server answered:
    a snapshot continues across failed polls shorter than the stale gap.
    """
    pieces = []
    first = 0
    for span in spans:
        while first < len(holes) and holes[first][1] <= span.start:
            first += 1
        start, index = span.start, first
        while index < len(holes) and holes[index][0] < span.end:
            if holes[index][0] > start:
                pieces.append(Covered(start, holes[index][0], span.run))
            start = max(start, holes[index][1])
            index += 1
        if start < span.end:
            pieces.append(Covered(start, span.end, span.run))
    return pieces
