"""Chart ranges, buckets, gaps, axes and hover titles, computed without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from livestate import charts
from livestate.charts import Bucket, RollupPoint, Stretch

pytestmark = pytest.mark.nodb

NOW = datetime(2026, 11, 27, 12, 3, 10, tzinfo=UTC)  # a Friday
FIVE_MIN = timedelta(minutes=5)


def t(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 27, hh, mm, ss, tzinfo=UTC)


def stretch(start: datetime, end: datetime, players: int) -> Stretch:
    """What a snapshot covers, in seconds from the window's start (12:00 here)."""
    origin = t(12, 0)
    return Stretch((start - origin).total_seconds(), (end - origin).total_seconds(), players)


def buckets_of(stretches: list[Stretch], count: int) -> list[Bucket]:
    return charts.snapshot_buckets(stretches, start=t(12, 0), size=FIVE_MIN, count=count)


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("24h", t(12, 5) - timedelta(hours=24), t(12, 5)),
        ("7d", t(13, 0) - timedelta(days=7), t(13, 0)),
        ("30d", t(13, 0) - timedelta(days=30), t(13, 0)),
        ("1y", datetime(2025, 11, 28, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)),
    ],
)
def test_it_aligns_each_range_to_round_times_ending_with_the_current_bucket(key, start, end):
    assert charts.RANGES[key].window(NOW) == (start, end)


@pytest.mark.parametrize("key", [None, "", "2y", "24H", "<script>"])
def test_it_falls_back_to_24_hours_for_a_bad_range(key):
    assert charts.chart_range(key).key == "24h"


def test_it_takes_peak_and_time_weighted_average_per_bucket():
    buckets = buckets_of([stretch(t(12, 0), t(12, 2), 2), stretch(t(12, 2), t(12, 10), 4)], 3)
    assert buckets[0].peak == 4
    assert buckets[0].average == pytest.approx((120 * 2 + 180 * 4) / 300)
    assert buckets[1] == Bucket(t(12, 5), 4, 4.0, 300.0)
    assert buckets[2] == Bucket(t(12, 10), None, None, 0.0)  # nobody answered: a gap


def test_it_counts_a_stretch_shorter_than_a_bucket_for_its_own_length():
    (bucket,) = buckets_of([stretch(t(12, 1), t(12, 1, 5), 3)], 1)
    assert (bucket.peak, bucket.average, bucket.answered_seconds) == (3, 3.0, 5)


def test_it_clips_stretches_to_the_window():
    (bucket,) = buckets_of([stretch(t(11, 0), t(12, 2, 30), 1), stretch(t(12, 5), t(13, 0), 9)], 1)
    assert bucket.answered_seconds == 150
    assert bucket.peak == 1


def test_it_breaks_the_line_where_nobody_answered():
    buckets = buckets_of([stretch(t(12, 0), t(12, 10), 2), stretch(t(12, 20), t(12, 30), 3)], 6)
    chart = charts.draw(buckets, charts.RANGES["24h"], start=t(12, 0))
    assert len(chart.peak_segments) == 2
    assert len(chart.average_segments) == 2
    assert [len(s.split()) for s in chart.peak_segments] == [2, 2]


def test_it_widens_a_lone_point_so_it_draws():
    buckets = [Bucket(t(12, 0), 2, 2.0, 300), Bucket(t(12, 5), None, None, 0)]
    chart = charts.draw(buckets, charts.RANGES["24h"], start=t(12, 0))
    (only,) = chart.peak_segments
    assert len(only.split()) == 2


def test_it_builds_buckets_from_rollups_and_skips_hours_never_answered():
    start = t(10, 0)
    points = [
        RollupPoint(0, 5, 3.2 * 3600, 3600),
        RollupPoint(3600, 0, 0, 0),  # meant to run, never answered
        RollupPoint(7200, 2, 1800, 1800),
        RollupPoint(-3600, 9, 9, 9),  # before the window
    ]
    buckets = charts.rollup_buckets(points, start=start, size=charts.HOUR, count=4)
    assert [(b.peak, b.average) for b in buckets] == [
        (5, 3.2),
        (None, None),
        (2, 1.0),
        (None, None),
    ]


def test_it_titles_every_bucket_with_its_values_for_hover():
    buckets = [
        Bucket(t(14, 0), 5, 3.2, 3600),
        Bucket(t(15, 0), None, None, 0),
    ]
    chart = charts.draw(buckets, charts.RANGES["7d"], start=t(14, 0))
    assert chart.titles == [
        "Fri 27 Nov 14:00 UTC · peak 5 · avg 3.2",
        "Fri 27 Nov 15:00 UTC · no answer",
    ]


def test_it_titles_5_minute_and_daily_buckets_in_their_own_words():
    five = charts.draw([Bucket(t(14, 5), 1, 0.5, 300)], charts.RANGES["24h"], start=t(14, 5))
    day = datetime(2026, 3, 3, tzinfo=UTC)
    daily = charts.draw([Bucket(day, 7, 2.25, 86400)], charts.RANGES["1y"], start=day)
    assert five.titles[0] == "Fri 14:05 UTC · peak 1 · avg 0.5"
    assert daily.titles[0] == "Tue 03 Mar 2026 · peak 7 · avg 2.2"


def test_it_draws_axes_from_zero_to_the_peak_with_three_time_labels():
    buckets = [Bucket(t(12, 0) + FIVE_MIN * i, i, float(i), 300) for i in range(4)]
    chart = charts.draw(buckets, charts.RANGES["24h"], start=t(12, 0))
    assert [tick.text for tick in chart.y_ticks] == ["3", "0"]
    assert [tick.y for tick in chart.y_ticks] == [
        f"{charts.PAD:.2f}",
        f"{charts.HEIGHT - charts.PAD:.2f}",
    ]
    assert chart.x_labels == ["Fri 12:00", "Fri 12:10", "now"]
    assert (chart.peak, chart.scale_max) == (3, 3)
    assert chart.average == pytest.approx(1.5)


def test_it_weights_the_range_average_by_answered_time():
    buckets = [Bucket(t(12, 0), 4, 4.0, 300), Bucket(t(12, 5), 1, 1.0, 100)]
    chart = charts.draw(buckets, charts.RANGES["24h"], start=t(12, 0))
    assert chart.average == pytest.approx((4 * 300 + 1 * 100) / 400)


def test_it_draws_an_empty_chart_with_a_scale_of_one():
    buckets = [Bucket(t(12, 0), None, None, 0)] * 3
    chart = charts.draw(buckets, charts.RANGES["24h"], start=t(12, 0))
    assert chart.empty
    assert (chart.peak, chart.scale_max, chart.average) == (0, 1, None)
    assert len(chart.titles) == 3
