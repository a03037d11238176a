"""The one rule turning runs of polls into covered time (pure, no database)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import pytest

from livestate.coverage import Covered, covered, overlap, run_spans, subtract
from livestate.tests.helpers import T0, at

pytestmark = pytest.mark.nodb

PERIOD = timedelta(seconds=5)
STALE = timedelta(seconds=30)
BACKOFF = timedelta(seconds=600)


class Run(NamedTuple):
    started: float
    last_seen: float
    outcome: str = "answered"

    @property
    def started_at(self):
        return at(self.started)

    @property
    def last_seen_at(self):
        return at(self.last_seen)


def gap_of(outcome: str) -> timedelta:
    return STALE + BACKOFF if outcome == "auth_failed" else STALE


def spans(*runs: Run) -> list[tuple[float, float, str]]:
    return [
        ((s - T0).total_seconds(), (e - T0).total_seconds(), o)
        for s, e, o in run_spans(runs, period=PERIOD, allowed_gap_of=gap_of)
    ]


def test_it_covers_nothing_without_runs():
    assert spans() == []


def test_it_gives_a_lone_run_one_poll_period_after_its_last_poll():
    assert spans(Run(0, 100)) == [(0, 105, "answered")]
    assert spans(Run(50, 50)) == [(50, 55, "answered")]  # one poll: one period


def test_it_runs_a_span_up_to_the_next_run_when_polls_kept_coming():
    # answered until 100, a failed poll at 105: the switch happened in between
    assert spans(Run(0, 100), Run(105, 200, "unreachable"), Run(210, 300)) == [
        (0, 105, "answered"),
        (105, 210, "unreachable"),
        (210, 305, "answered"),
    ]


def test_it_leaves_a_silence_longer_than_the_allowed_gap_uncovered():
    assert spans(Run(0, 100), Run(131, 140)) == [(0, 105, "answered"), (131, 145, "answered")]
    assert spans(Run(0, 100), Run(130, 140))[0] == (0, 130, "answered")  # exactly the gap: joined


def test_it_keeps_the_auth_back_off_inside_a_rejected_password_run():
    runs = (Run(0, 0, "auth_failed"), Run(610, 610, "auth_failed"), Run(1300, 1300))
    assert spans(*runs) == [
        (0, 610, "auth_failed"),
        (610, 615, "auth_failed"),  # 690 s later is past back-off + stale: a silence
        (1300, 1305, "answered"),
    ]


def test_it_sorts_runs_and_never_counts_overlapping_rows_twice():
    assert spans(Run(50, 200), Run(0, 100)) == [(0, 50, "answered"), (50, 205, "answered")]


def test_it_hands_back_the_rows_themselves():
    rows = [Run(0, 10), Run(15, 20)]
    result = covered(rows, period=PERIOD, allowed_gap=lambda r: STALE)
    assert [c.run for c in result] == rows


def test_it_measures_overlap_within_a_window():
    window = (at(100), at(200))
    assert overlap(at(50), at(150), within=window) == 50
    assert overlap(at(150), at(250), within=window) == 50
    assert overlap(at(0), at(100), within=window) == 0
    assert overlap(at(0), at(500), within=window) == 100


def test_it_subtracts_holes_from_spans():
    a, b = Run(0, 95), Run(100, 195)
    pieces = [Covered(at(0), at(100), a), Covered(at(100), at(200), b)]
    holes = [(at(10), at(20)), (at(90), at(110)), (at(150), at(300))]
    assert [((p.start - T0).total_seconds(), (p.end - T0).total_seconds(), p.run)
            for p in subtract(pieces, holes)] == [
        (0, 10, a), (20, 90, a), (110, 150, b),
    ]  # fmt: skip
    assert subtract(pieces, []) == pieces
