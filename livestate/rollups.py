"""Hourly and daily rollups: what a year of charts and statistics read.

Raw history (snapshots, reachability runs, sessions) is kept for
LIVE_STATE_HISTORY_DAYS; the rollups it adds up to are kept for
LIVE_STATE_ROLLUP_DAYS, so a 1-year chart reads 365 rows per server instead
of a year of polls. `livestate.rollup` recomputes the recent ones every
LIVE_STATE_ROLLUP_SECONDS; `rollup_live_state` rebuilds the raw history's.

Every recomputation is a pure function of the stored history, written as an
upsert, so running it twice (or two workers at once) leaves the same rows.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet, Sum

from livestate import reachability
from livestate.coverage import Covered, covered, overlap, subtract
from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    PlayerSession,
    ReachabilityRun,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DAYS_PER_BATCH = 31  # a column per day in the unique-players query
DELETE_BATCH = 500
VALUES = ["player_seconds", "answered_seconds", "expected_seconds", "peak", "unique_players"]

Key = tuple[int, datetime]  # (server id, period start)
Hole = tuple[datetime, datetime]


@dataclass(slots=True)
class Totals:
    answered: float = 0.0
    player_seconds: float = 0.0
    expected: float = 0.0
    peak: int = 0


def roll_up(*, start: datetime, end: datetime) -> int:
    """Recompute every HourlyRollup and DailyRollup overlapping [start, end) for
    all servers; return the rows upserted or deleted.

    Per server and UTC period:
    - answered_seconds: time covered by its snapshots (`coverage.covered`
      with LIVE_STATE_STALE_SECONDS as the allowed gap: a snapshot stands for
      the time until the next one starts, or one poll period after its last
      poll), minus the stretches its failed reachability runs cover (a
      snapshot continues across failed polls shorter than the stale gap).
    - player_seconds: the sum of players x those seconds, snapshot by snapshot;
      player_seconds / answered_seconds is the average player count.
    - peak: the most players of a snapshot counted in answered_seconds.
    - expected_seconds: time covered by its reachability runs (the time it was
      meant to run and polled, `coverage.run_spans`), never less than
      answered_seconds: time it answered was time it was meant to run (history
      older than the reachability runs has snapshots only), so uptime <= 1.
    - unique_players: distinct SteamIDs of its sessions overlapping the period
      (joined_at < end and coalesce(left_at, last_seen_at) >= start).

    A period with no snapshot, run or session has no row; recomputing one that
    has lost its history deletes the row. Days add up their stored hours
    (unique players excepted), so hours are recomputed first.
    """
    return roll_up_hours(start=start, end=end) + roll_up_days(start=start, end=end)


def roll_up_recent(*, now: datetime) -> int:
    """What the periodic task refreshes: the current hour and today, and the previous
    hour and yesterday while their history can still change.

    A run of polls that ends in the previous hour is continued, or not, by a
    poll up to an auth back-off later; after that (and one more rollup period
    to write it) the previous hour is final and is no longer read every minute.
    """
    settle = timedelta(
        seconds=settings.LIVE_STATE_STALE_SECONDS
        + settings.RCON_AUTH_BACKOFF_SECONDS
        + 2 * settings.LIVE_STATE_POLL_SECONDS
        + settings.LIVE_STATE_ROLLUP_SECONDS
    )
    hour, day = floor_hour(now), floor_day(now)
    hours_from = hour - HOUR if now - hour <= settle else hour
    days_from = day - DAY if now - day <= settle else day
    return roll_up_hours(start=hours_from, end=now) + roll_up_days(start=days_from, end=now)


def rebuild(*, now: datetime, days: int) -> Iterator[tuple[date, int]]:
    """Recompute the rollups of the last `days` days, day by day; yield (day, rows written).

    Starts at the first whole hour that retention cannot have thinned yet (a
    run pruned at the cutoff still covered up to an auth back-off after it):
    recomputing an hour from what is left of its history would replace a true
    rollup with a smaller one. For the same reason the first, partial day's
    own row is left as it is (its unique players need the whole day's sessions).
    """
    reach = timedelta(
        seconds=settings.LIVE_STATE_STALE_SECONDS
        + settings.RCON_AUTH_BACKOFF_SECONDS
        + settings.LIVE_STATE_POLL_SECONDS
    )
    start = ceil_hour(now - timedelta(days=days) + reach)
    while start < now:
        end = min(floor_day(start) + DAY, now)
        written = roll_up_hours(start=start, end=end)
        if start == floor_day(start):
            written += roll_up_days(start=start, end=end)
        yield start.date(), written
        start = end


def roll_up_hours(*, start: datetime, end: datetime) -> int:
    """Recompute the hours overlapping [start, end), one UTC day's hours per batch."""
    written = 0
    for _, batch in itertools.groupby(periods(start, end, HOUR), key=lambda h: h.date()):
        hours = list(batch)
        totals = hour_totals(hours)
        uniques = unique_players(hours, HOUR)
        written += write(HourlyRollup, "hour", rows(totals, uniques), starts=hours, size=HOUR)
    return written


def roll_up_days(*, start: datetime, end: datetime) -> int:
    """Recompute the days overlapping [start, end) from their stored hourly rollups."""
    written = 0
    for batch in itertools.batched(periods(start, end, DAY), DAYS_PER_BATCH):
        days = list(batch)
        totals = day_totals(days)
        uniques = unique_players(days, DAY)
        written += write(DailyRollup, "day", rows(totals, uniques), starts=days, size=DAY)
    return written


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def floor_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def periods(start: datetime, end: datetime, size: timedelta) -> list[datetime]:
    """Starts of the UTC hours (or days) overlapping [start, end)."""
    if end <= start:
        return []
    first = floor_hour(start) if size == HOUR else floor_day(start)
    return [first + size * i for i in range(max(0, -(-(end - first) // size)))]


def split(
    start: datetime, end: datetime, *, first: datetime, size: timedelta, count: int
) -> Iterator[tuple[datetime, float]]:
    """(period start, seconds) of the `count` periods from `first` that [start, end) overlaps."""
    index = max(0, (start - first) // size)
    while index < count:
        period = first + size * index
        if period >= end:
            return
        seconds = overlap(start, end, within=(period, period + size))
        if seconds > 0:
            yield period, seconds
        index += 1


def in_hours(span: Covered[Any], hours: list[datetime]) -> Iterator[tuple[datetime, float]]:
    return split(span.start, span.end, first=hours[0], size=HOUR, count=len(hours))


def hour_totals(hours: list[datetime]) -> dict[Key, Totals]:
    """Answered, player and expected seconds and peaks of these consecutive hours."""
    totals: dict[Key, Totals] = defaultdict(Totals)
    failed = add_runs(totals, hours)
    add_snapshots(totals, hours, failed)
    return totals


def add_runs(totals: dict[Key, Totals], hours: list[datetime]) -> dict[int, list[Hole]]:
    """Add the expected seconds; return each server's failed stretches, in order."""
    stale = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    backoff = timedelta(seconds=settings.RCON_AUTH_BACKOFF_SECONDS)

    def gap(run: Any) -> timedelta:
        return reachability.allowed_gap(run.outcome, stale=stale, auth_backoff=backoff)

    runs = ReachabilityRun.objects.values_list(
        "server_id", "started_at", "last_seen_at", "outcome", named=True
    )
    failed: dict[int, list[Hole]] = defaultdict(list)
    for span in spans(runs, hours, margin=stale + backoff, gap=gap):
        if span.run.outcome != ReachabilityRun.Outcome.ANSWERED:
            failed[span.run.server_id].append((span.start, span.end))
        for hour, seconds in in_hours(span, hours):
            totals[(span.run.server_id, hour)].expected += seconds
    return failed


def add_snapshots(
    totals: dict[Key, Totals], hours: list[datetime], failed: dict[int, list[Hole]]
) -> None:
    """Add the answered and player seconds and the peaks: snapshots minus failed stretches."""
    stale = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    snapshots = LiveStateSnapshot.objects.values_list(
        "server_id", "started_at", "last_seen_at", "players", named=True
    )
    by_server = itertools.groupby(
        spans(snapshots, hours, margin=stale, gap=lambda _: stale), key=lambda s: s.run.server_id
    )
    for server_id, covered_spans in by_server:
        for piece in subtract(covered_spans, failed.get(server_id, [])):
            for hour, seconds in in_hours(piece, hours):
                total = totals[(server_id, hour)]
                total.answered += seconds
                total.player_seconds += piece.run.players * seconds
                total.peak = max(total.peak, piece.run.players)


def spans(
    rows: QuerySet[Any, Any],
    hours: list[datetime],
    *,
    margin: timedelta,
    gap: Callable[[Any], timedelta],
) -> Iterator[Covered[Any]]:
    """Covered spans of the runs near these hours, server by server.

    `margin` (the longest allowed gap, plus a poll period) reaches the runs
    before the hours that may still cover into them, and the runs just after
    them that decide where the last ones end.
    """
    period = timedelta(seconds=settings.LIVE_STATE_POLL_SECONDS)
    start, end = hours[0] - margin - period, hours[-1] + HOUR + margin + period
    near = rows.filter(last_seen_at__gte=start, started_at__lt=end)
    ordered = near.order_by("server_id", "started_at").iterator(chunk_size=5000)
    for _, runs in itertools.groupby(ordered, key=lambda r: r.server_id):
        yield from covered(runs, period=period, allowed_gap=gap)


def day_totals(days: list[datetime]) -> dict[Key, Totals]:
    """The sums of each day's stored hourly rollups (peak: their highest), a query a day."""
    totals = {}
    for day in days:
        hourly = HourlyRollup.objects.filter(hour__gte=day, hour__lt=day + DAY)
        sums = hourly.values("server_id").annotate(
            answered=Sum("answered_seconds"),
            player_seconds=Sum("player_seconds"),
            expected=Sum("expected_seconds"),
            peak=Max("peak"),
        )
        for row in sums.order_by():
            totals[(row["server_id"], day)] = Totals(
                row["answered"], row["player_seconds"], row["expected"], row["peak"]
            )
    return totals


def overlapping(start: datetime, end: datetime) -> Q:
    """Sessions that overlap [start, end) (open ones up to their last sighting).

    Spelled without Coalesce so the left_at index finds the closed ones.
    """
    return Q(joined_at__lt=end) & (
        Q(left_at__gte=start) | Q(left_at__isnull=True, last_seen_at__gte=start)
    )


def unique_players(starts: list[datetime], size: timedelta) -> dict[Key, int]:
    """Distinct SteamIDs per server and period: one grouped query, a column per period."""
    columns = {
        f"p{i}": Count("steam_id_64", distinct=True, filter=overlapping(p, p + size))
        for i, p in enumerate(starts)
    }
    sessions = PlayerSession.objects.filter(overlapping(starts[0], starts[-1] + size))
    grouped = sessions.values("server_id").annotate(**columns).order_by()
    return {
        (server_id, p): count
        for server_id, *counts in grouped.values_list("server_id", *columns)
        for p, count in zip(starts, counts, strict=True)
        if count
    }


def rows(totals: dict[Key, Totals], uniques: dict[Key, int]) -> dict[Key, dict[str, Any]]:
    """The values of every period that saw anything."""
    result = {}
    for key in totals.keys() | uniques.keys():
        total = totals.get(key, Totals())
        result[key] = {
            "player_seconds": total.player_seconds,
            "answered_seconds": total.answered,
            "expected_seconds": max(total.expected, total.answered),
            "peak": total.peak,
            "unique_players": uniques.get(key, 0),
        }
    return result


def write(
    model: type[HourlyRollup] | type[DailyRollup],
    field: str,
    values: dict[Key, dict[str, Any]],
    *,
    starts: list[datetime],
    size: timedelta,
) -> int:
    """Upsert these periods' rows and delete the rows of those that now have nothing."""
    as_day = field == "day"

    def period_of(start: datetime) -> datetime | date:
        return start.date() if as_day else start

    existing = model.objects.filter(
        **{f"{field}__gte": period_of(starts[0]), f"{field}__lt": period_of(starts[-1] + size)}
    )
    keep = {(sid, period_of(p)) for sid, p in values}
    objects = [
        model(server_id=sid, **{field: period_of(p)}, **fields)
        for (sid, p), fields in sorted(values.items())
    ]
    with transaction.atomic():
        stale = [
            pk
            for pk, sid, period in existing.values_list("pk", "server_id", field)
            if (sid, period) not in keep
        ]
        for batch in itertools.batched(stale, DELETE_BATCH):
            model.objects.filter(pk__in=batch).delete()
        model.objects.bulk_create(
            objects,  # type: ignore[arg-type]
            update_conflicts=True,
            unique_fields=["server", field],
            update_fields=VALUES,
            batch_size=DELETE_BATCH,
        )
    return len(objects) + len(stale)
