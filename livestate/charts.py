"""Player-count chart drawn server-side as SVG geometry (no JS, no CDN, CSP-safe).

The window is cut into equal buckets; each bucket takes the highest player
count of the snapshots overlapping it. Buckets no snapshot covers are gaps
(the server did not answer), so the line breaks there instead of lying.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT, PAD = 600, 120, 4


@dataclass(frozen=True, slots=True)
class Span:
    started_at: datetime
    last_seen_at: datetime
    players: int
    max_players: int


@dataclass(frozen=True, slots=True)
class Chart:
    label: str
    segments: list[str]  # SVG polyline "x,y x,y ..." strings, one per covered stretch
    peak: int
    scale_max: int
    start: datetime
    end: datetime
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.segments


def bucket_peaks(
    spans: Iterable[Span], *, start: datetime, end: datetime, buckets: int, min_span: timedelta
) -> list[int | None]:
    """Highest player count per bucket, None where nothing was observed."""
    size = (end - start) / buckets
    peaks: list[int | None] = [None] * buckets
    for span in spans:
        # A one-poll run still covers the poll interval it stands for.
        span_end = max(span.last_seen_at, span.started_at + min_span)
        first = max(0, int((span.started_at - start) / size))
        last = min(buckets - 1, int((span_end - start) / size))
        for index in range(first, last + 1):
            current = peaks[index]
            peaks[index] = span.players if current is None else max(current, span.players)
    return peaks


def segments(peaks: list[int | None], scale_max: int) -> list[str]:
    step = (WIDTH - 2 * PAD) / max(1, len(peaks) - 1)
    usable = HEIGHT - 2 * PAD
    runs: list[list[str]] = []
    previous = None
    for index, value in enumerate(peaks):
        if value is None:
            previous = None
            continue
        if previous is None:
            runs.append([])
        x = PAD + index * step
        y = PAD + usable * (1 - value / scale_max)
        runs[-1].append(f"{x:.1f},{y:.1f}")
        previous = value
    # A lone point still needs two to draw: widen it by a hair.
    return [" ".join(run if len(run) > 1 else [run[0], _nudge(run[0])]) for run in runs]


def _nudge(point: str) -> str:
    x, y = point.split(",")
    return f"{float(x) + 1.5:.1f},{y}"


def player_chart(
    spans: Sequence[Span],
    *,
    label: str,
    end: datetime,
    window: timedelta,
    buckets: int,
    min_span: timedelta,
) -> Chart:
    start = end - window
    inside = [s for s in spans if s.last_seen_at >= start]
    peaks = bucket_peaks(inside, start=start, end=end, buckets=buckets, min_span=min_span)
    observed = [p for p in peaks if p is not None]
    scale_max = max([1, *observed, *(s.max_players for s in inside)])
    return Chart(label, segments(peaks, scale_max), max(observed, default=0), scale_max, start, end)
