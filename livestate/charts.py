"""Player-count charts as SVG geometry and text (no JS, no CDN, CSP-safe). Pure: no I/O.

A chart range cuts its window into equal buckets aligned to round times (5
minutes, hours, UTC days) so a bucket reads "Tue 14:00 UTC". Each bucket has
the peak and the time-weighted average player count of what was observed in
it: from snapshots for the short ranges, from hourly or daily rollups for the
long ones. A bucket nobody answered in is a gap: the lines break there
instead of lying. Every bucket has a title stating its values: the template
draws a box per bucket with it as `<title>`, so a reader points at the chart
and reads them, without JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

WIDTH, HEIGHT, PAD = 600, 120, 4
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ChartRange:
    key: str
    label: str
    size: timedelta  # one bucket
    count: int
    source: str  # "snapshots", "hourly" or "daily"
    title_format: str  # strftime of a bucket's hover title
    axis_format: str  # strftime of the x axis labels

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) aligned so the last bucket is the one `now` is in."""
        step = self.size.total_seconds()
        end = EPOCH + timedelta(
            seconds=(math.floor((now - EPOCH).total_seconds() / step) + 1) * step
        )
        return end - self.size * self.count, end


HOUR, DAY = timedelta(hours=1), timedelta(days=1)
RANGES = {
    r.key: r
    for r in (
        ChartRange("24h", "last 24 hours", timedelta(minutes=5), 288, "snapshots",
                   "%a %H:%M UTC", "%a %H:%M"),
        ChartRange("7d", "last 7 days", HOUR, 7 * 24, "snapshots",
                   "%a %d %b %H:%M UTC", "%a %d %b"),
        ChartRange("30d", "last 30 days", HOUR, 30 * 24, "hourly",
                   "%a %d %b %H:%M UTC", "%d %b"),
        ChartRange("1y", "last year", DAY, 365, "daily", "%a %d %b %Y", "%d %b %Y"),
    )
}  # fmt: skip
DEFAULT_RANGE = "24h"


def chart_range(key: str | None) -> ChartRange:
    """The range called `key`; the default for anything else (a bad query string)."""
    return RANGES.get(key or "", RANGES[DEFAULT_RANGE])


@dataclass(frozen=True, slots=True)
class Span:
    """One snapshot as the map history reads it (`queries.MapSpan`)."""

    started_at: datetime
    last_seen_at: datetime
    players: int
    max_players: int


class Stretch(NamedTuple):
    """The time one snapshot covers (`coverage.covered`), in seconds from the
    window's start, with its player count."""

    start: float
    end: float
    players: int


class RollupPoint(NamedTuple):
    """One hourly or daily rollup: its period's start in seconds from the window's start."""

    start: float
    peak: int
    player_seconds: float
    answered_seconds: float


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    peak: int | None  # None: nobody answered in this bucket
    average: float | None
    answered_seconds: float


@dataclass(frozen=True, slots=True)
class Tick:
    y: str
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    label: str
    start: datetime
    end: datetime
    peak: int
    average: float | None
    scale_max: int
    peak_segments: list[str]  # SVG polyline points, one per answered stretch
    average_segments: list[str]
    titles: list[str]  # one per bucket, in order: the hover text of its box
    y_ticks: list[Tick]  # 0 and the scale's top
    x_labels: list[str]  # start, middle, end
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.peak_segments


def snapshot_buckets(
    stretches: Iterable[Stretch], *, start: datetime, size: timedelta, count: int
) -> list[Bucket]:
    """Peak and time-weighted average per bucket of the stretches snapshots cover."""
    step, end = size.total_seconds(), size.total_seconds() * count
    peaks: list[int | None] = [None] * count
    player_seconds, answered = [0.0] * count, [0.0] * count
    for stretch in stretches:
        low, high = min(max(stretch.start, 0.0), end), min(max(stretch.end, 0.0), end)
        if high <= low:
            continue
        for bucket in range(int(low // step), min(count - 1, math.ceil(high / step) - 1) + 1):
            overlap = min(high, (bucket + 1) * step) - max(low, bucket * step)
            answered[bucket] += overlap
            player_seconds[bucket] += overlap * stretch.players
            current = peaks[bucket]
            peaks[bucket] = stretch.players if current is None else max(current, stretch.players)
    return [
        Bucket(start + size * i, peaks[i], player_seconds[i] / answered[i], answered[i])
        if answered[i] > 0
        else Bucket(start + size * i, None, None, 0.0)
        for i in range(count)
    ]


def rollup_buckets(
    points: Iterable[RollupPoint], *, start: datetime, size: timedelta, count: int
) -> list[Bucket]:
    """One bucket per rollup; a period without a rollup or without an answer is a gap."""
    buckets = [Bucket(start + size * i, None, None, 0.0) for i in range(count)]
    step = size.total_seconds()
    for point in points:
        index = round(point.start / step)  # a rollup starts on a bucket's start
        if 0 <= index < count and point.answered_seconds > 0:
            average = point.player_seconds / point.answered_seconds
            buckets[index] = Bucket(
                buckets[index].start, point.peak, average, point.answered_seconds
            )
    return buckets


def _y(value: float, scale_max: int) -> float:
    return PAD + (HEIGHT - 2 * PAD) * (1 - value / scale_max)


def polylines(values: Sequence[float | None], scale_max: int) -> list[str]:
    """Points at bucket centres; a None breaks the line."""
    step = WIDTH / max(1, len(values))
    runs: list[list[str]] = []
    previous = None
    for index, value in enumerate(values):
        if value is None:
            previous = None
            continue
        if previous is None:
            runs.append([])
        runs[-1].append(f"{(index + 0.5) * step:.2f},{_y(value, scale_max):.2f}")
        previous = value
    # A lone point still needs two to draw: widen it by a hair.
    return [" ".join(run if len(run) > 1 else [run[0], _nudge(run[0])]) for run in runs]


def _nudge(point: str) -> str:
    x, y = point.split(",")
    return f"{float(x) + 1.5:.2f},{y}"


def hover_title(bucket: Bucket, title_format: str) -> str:
    when = bucket.start.strftime(title_format)
    if bucket.peak is None or bucket.average is None:
        return f"{when} · no answer"
    return f"{when} · peak {bucket.peak} · avg {bucket.average:.1f}"


def draw(buckets: Sequence[Bucket], chart: ChartRange, *, start: datetime) -> Chart:
    """Geometry, axes and hover titles of one range's buckets."""
    observed = [b for b in buckets if b.peak is not None]
    peak = max((b.peak or 0 for b in observed), default=0)
    scale_max = max(1, peak)
    answered = sum(b.answered_seconds for b in observed)
    average = (
        sum((b.average or 0) * b.answered_seconds for b in observed) / answered
        if answered
        else None
    )
    middle = start + chart.size * (len(buckets) // 2)
    return Chart(
        key=chart.key,
        label=chart.label,
        start=start,
        end=start + chart.size * len(buckets),
        peak=peak,
        average=average,
        scale_max=scale_max,
        peak_segments=polylines([b.peak for b in buckets], scale_max),
        average_segments=polylines([b.average for b in buckets], scale_max),
        titles=[hover_title(b, chart.title_format) for b in buckets],
        y_ticks=[
            Tick(f"{_y(scale_max, scale_max):.2f}", str(scale_max)),
            Tick(f"{_y(0, 1):.2f}", "0"),
        ],
        x_labels=[start.strftime(chart.axis_format), middle.strftime(chart.axis_format), "now"],
    )
