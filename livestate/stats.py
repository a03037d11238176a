"""Read model of a server's statistics and long charts: data, never HTML.

Uptime and outages come from the reachability runs (the time the server was
meant to run, cut into answered and failed stretches by the rule in
`coverage.py`); the per-day and per-hour figures from the rollups; map and
player times from the raw history, added up by the database. A constant
number of queries whatever the history: every list is one query, every sum
is one SQL aggregate, and the long ranges read rollups, never a year of raw
rows. The sums over the raw history grow with it (a million sessions take
seconds), so pages take them from a short-lived cache keyed by the server's
snapshot (`cached_session_figures`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, DateTimeField, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from livestate import charts
from livestate.coverage import Covered, covered, overlap
from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    PlayerSession,
    ReachabilityRun,
)
from livestate.queries import status_of
from livestate.reachability import allowed_gap
from livestate.sql import Seconds
from servers.models import Server

Outcome = ReachabilityRun.Outcome
UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
REASONS = {
    Outcome.UNREACHABLE: "unreachable",
    Outcome.AUTH_FAILED: "password rejected",
    Outcome.ERROR: "invalid reply",
    Outcome.REFUSED: "address not allowed",
}
OUTAGE_LIMIT = 50
DAILY_DAYS = 30
HEAT_DAYS = 30
TOP_MAPS = 10
TOP_PLAYERS = 10
FIGURES_VERSION = 1  # part of the cache key: bump when SessionFigures changes shape
HEAT_LEVELS = 4  # intensity classes heat-1 .. heat-4 (heat-0: nobody, heat-none: never answered)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class RunRow(NamedTuple):
    id: int
    outcome: str
    started_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Outage:
    started_at: datetime
    ended_at: datetime | None  # None: still failing
    outcome: str
    seconds: int  # until the end, or until now while it lasts

    @property
    def reason(self) -> str:
        return REASONS.get(self.outcome, self.outcome)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Day:
    date: date
    peak: int
    unique_players: int


@dataclass(frozen=True, slots=True)
class MapTime:
    map: str
    seconds: int


@dataclass(frozen=True, slots=True)
class PlayerTime:
    steam_id_64: str
    name: str  # the name of their latest session here
    seconds: int


@dataclass(frozen=True, slots=True)
class HeatCell:
    weekday: int  # Monday is 0
    hour: int  # UTC
    average: float | None  # None: never answered in this hour of the week
    level: str  # CSS suffix: "none", "0" .. "4"

    @property
    def day_name(self) -> str:
        return WEEKDAYS[self.weekday]

    @property
    def title(self) -> str:
        """The cell's hover text: "Fri 14:00 UTC · avg 3.2"."""
        when = f"{self.day_name} {self.hour:02d}:00 UTC"
        return f"{when} · no answer" if self.average is None else f"{when} · avg {self.average:.1f}"


@dataclass(frozen=True, slots=True)
class ServerStats:
    uptime: dict[str, float | None]  # "24h", "7d", "30d": answered / meant to run
    outages: list[Outage]  # newest first
    daily: list[Day]  # oldest first
    average_session_seconds: float | None
    closed_sessions: int
    top_maps: list[MapTime]
    busiest_hours: list[list[HeatCell]]  # 7 rows (Monday first) of 24 cells
    top_players: list[PlayerTime] | None  # None when the viewer may not see players


def server_stats(
    server: Server, *, now: datetime, players_visible: bool, cached: bool = False
) -> ServerStats:
    """Everything the statistics section shows: 5 queries, 7 with top players.

    `cached`: take the figures added up from sessions from the cache when it
    has them for the server's current snapshot (see `cached_session_figures`).
    """
    since = now - timedelta(days=settings.LIVE_STATE_HISTORY_DAYS)
    spans = reachability_spans(server, now=now)
    figures = (cached_session_figures if cached else session_figures)(
        server, since=since, players_visible=players_visible
    )
    return ServerStats(
        uptime={key: uptime(spans, now - window, now) for key, window in UPTIME_WINDOWS.items()},
        outages=outages(spans, server=server, now=now),
        daily=daily(server, today=now.date()),
        average_session_seconds=figures.average_seconds,
        closed_sessions=figures.closed,
        top_maps=figures.top_maps,
        busiest_hours=busiest_hours(server, now=now),
        top_players=figures.top_players,
    )


# --- Uptime and outages: reachability runs ---------------------------------


def _gap(outcome: str) -> timedelta:
    return allowed_gap(
        outcome,
        stale=timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS),
        auth_backoff=timedelta(seconds=settings.RCON_AUTH_BACKOFF_SECONDS),
    )


def reachability_spans(server: Server, *, now: datetime) -> list[Covered[RunRow]]:
    """The runs that may cover any of the last 30 days, with the span each covers.

    A run covers at most its allowed gap (or one poll period) past its last
    poll, so runs last seen earlier than that before the window cannot reach it.
    """
    period = timedelta(seconds=settings.LIVE_STATE_POLL_SECONDS)
    reach = max(_gap(Outcome.AUTH_FAILED), _gap(Outcome.UNREACHABLE), period)
    since = now - max(UPTIME_WINDOWS.values()) - reach
    rows = (
        ReachabilityRun.objects.filter(server=server, last_seen_at__gte=since)
        .order_by("started_at", "id")
        .values_list("id", "outcome", "started_at", "last_seen_at")
    )
    runs = [RunRow(*row) for row in rows]
    return covered(runs, period=period, allowed_gap=lambda r: _gap(r.outcome))


def uptime(spans: Sequence[Covered[RunRow]], start: datetime, end: datetime) -> float | None:
    """Time answering / time meant to run within [start, end); None if never meant to run."""
    meant = answered = 0.0
    for span in spans:
        seconds = overlap(span.start, span.end, within=(start, end))
        meant += seconds
        if span.run.outcome == Outcome.ANSWERED:
            answered += seconds
    return answered / meant if meant else None


def outages(spans: Sequence[Covered[RunRow]], *, server: Server, now: datetime) -> list[Outage]:
    """Failed runs of the last 30 days, newest first. The server's last run is
    still going while the server is meant to run and its polls keep coming."""
    since = now - max(UPTIME_WINDOWS.values())
    found: list[Outage] = []
    for index in range(len(spans) - 1, -1, -1):
        span = spans[index]
        if span.end <= since or len(found) == OUTAGE_LIMIT:
            break
        if span.run.outcome == Outcome.ANSWERED:
            continue
        last = index == len(spans) - 1
        ongoing = (
            last
            and server.desired_state == Server.DesiredState.RUNNING
            and now - span.run.last_seen_at <= _gap(span.run.outcome)
        )
        ended = None if ongoing else min(span.end, now)
        seconds = ((ended or now) - span.start).total_seconds()
        found.append(Outage(span.start, ended, span.run.outcome, max(0, round(seconds))))
    return found


# --- Rollups: daily figures and the busiest hours ---------------------------


def daily(server: Server, *, today: date) -> list[Day]:
    rows = (
        DailyRollup.objects.filter(server=server, day__gt=today - timedelta(days=DAILY_DAYS))
        .order_by("day")
        .values_list("day", "peak", "unique_players")
    )
    return [Day(*row) for row in rows]


def busiest_hours(server: Server, *, now: datetime) -> list[list[HeatCell]]:
    """Average players per hour of the week (UTC) over the last 30 days of hourly
    rollups: player seconds / answered seconds of all the hours in that cell."""
    rows = (
        HourlyRollup.objects.filter(server=server, hour__gte=now - timedelta(days=HEAT_DAYS))
        .annotate(epoch=Seconds(F("hour"), Value(charts.EPOCH, output_field=DateTimeField())))
        .values_list("epoch", "player_seconds", "answered_seconds")
    )
    players, answered = [[0.0] * 24 for _ in range(7)], [[0.0] * 24 for _ in range(7)]
    for epoch, player_seconds, answered_seconds in rows:
        hours = round(epoch / 3600)  # whole UTC hours since 1970-01-01, a Thursday
        weekday, hour = (hours // 24 + 3) % 7, hours % 24
        players[weekday][hour] += player_seconds
        answered[weekday][hour] += answered_seconds
    averages = [
        [players[d][h] / answered[d][h] if answered[d][h] else None for h in range(24)]
        for d in range(7)
    ]
    top = max((a for row in averages for a in row if a is not None), default=0.0)
    return [
        [HeatCell(d, h, average, heat_level(average, top)) for h, average in enumerate(row)]
        for d, row in enumerate(averages)
    ]


def heat_level(average: float | None, top: float) -> str:
    """The cell's CSS level: "none" never answered, "0" nobody played, "1" to "4"
    the quarter of the busiest cell's average it reaches."""
    if average is None:
        return "none"
    if average <= 0 or top <= 0:
        return "0"
    return str(min(HEAT_LEVELS, max(1, math.ceil(average * HEAT_LEVELS / top))))


# --- Raw history: sessions and maps, added up by the database ----------------


def _not_before(field: str, since: datetime) -> Greatest:
    return Greatest(F(field), Value(since, output_field=DateTimeField()))


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """What the statistics add up from the raw history window's sessions and snapshots."""

    average_seconds: float | None  # of the sessions closed in the window
    closed: int
    top_maps: list[MapTime]
    top_players: list[PlayerTime] | None  # None when the viewer may not see players


def session_figures(server: Server, *, since: datetime, players_visible: bool) -> SessionFigures:
    average, closed = session_summary(server, since=since)
    players = top_players(server, since=since) if players_visible else None
    return SessionFigures(average, closed, top_maps(server, since=since), players)


def cached_session_figures(
    server: Server, *, since: datetime, players_visible: bool
) -> SessionFigures:
    """`session_figures`, kept LIVE_STATE_STATS_CACHE_SECONDS for the server's current snapshot.

    These are the statistics whose cost grows with the raw history (a million
    sessions in 30 days take seconds to add up), so a page view must not pay
    for them each time. A player joining or leaving changes the player count,
    a new map the map, hence the snapshot and the key, so a finished session
    shows at once; the TTL bounds how far the open sessions' time, the current
    map's and the window's edge lag.
    """
    ttl = settings.LIVE_STATE_STATS_CACHE_SECONDS
    if not ttl:
        return session_figures(server, since=since, players_visible=players_visible)
    version = status_of(server).snapshot_id
    key = f"livestate:figures:v{FIGURES_VERSION}:{server.pk}:{version}:{int(players_visible)}"
    figures = cache.get(key)
    if not isinstance(figures, SessionFigures):
        figures = session_figures(server, since=since, players_visible=players_visible)
        cache.set(key, figures, ttl)
    return figures


def session_summary(server: Server, *, since: datetime) -> tuple[float | None, int]:
    """Average length and number of the sessions closed in the window."""
    result = PlayerSession.objects.filter(server=server, left_at__gte=since).aggregate(
        average=Avg(Seconds(F("left_at"), F("joined_at"))), count=Count("id")
    )
    return result["average"], result["count"]


def top_maps(server: Server, *, since: datetime) -> list[MapTime]:
    """Seconds each map ran with at least one player. A snapshot stands for its
    polls: from its start (or the window's) to one poll period after its last."""
    period = settings.LIVE_STATE_POLL_SECONDS
    rows = (
        LiveStateSnapshot.objects.filter(server=server, last_seen_at__gte=since, players__gt=0)
        .order_by()
        .values("map")
        .annotate(
            seconds=Sum(Seconds(F("last_seen_at"), _not_before("started_at", since))),
            polls=Count("id"),
        )
        .values_list("map", "seconds", "polls")
    )
    totals = [
        MapTime(name, round((seconds or 0) + polls * period)) for name, seconds, polls in rows
    ]
    return sorted(totals, key=lambda m: (-m.seconds, m.map))[:TOP_MAPS]


def top_players(server: Server, *, since: datetime) -> list[PlayerTime]:
    """The players with the most time on this server in the window: one grouped
    query, then the name of each one's latest session (an index lookup each)."""
    sessions = PlayerSession.objects.filter(server=server)
    rows = list(
        sessions.filter(Q(left_at__gte=since) | Q(left_at__isnull=True))
        .order_by()
        .values("steam_id_64")
        .annotate(
            seconds=Sum(
                Seconds(Coalesce("left_at", "last_seen_at"), _not_before("joined_at", since))
            ),
            latest=Max("joined_at"),
        )
        .order_by("-seconds", "steam_id_64")
        .values_list("steam_id_64", "seconds", "latest")[:TOP_PLAYERS]
    )
    if not rows:
        return []
    # The server inside each OR term: SQLite then looks each one up in the
    # SteamID index instead of scanning the server's sessions.
    latest = reduce(
        or_, (Q(server=server, steam_id_64=sid, joined_at=joined) for sid, _, joined in rows)
    )
    names = dict(PlayerSession.objects.filter(latest).values_list("steam_id_64", "name_at_join"))
    return [PlayerTime(sid, names.get(sid, ""), round(seconds or 0)) for sid, seconds, _ in rows]


# --- Charts -------------------------------------------------------------------


def server_chart(server: Server, *, key: str | None, now: datetime) -> charts.Chart:
    """The player chart of one range (`charts.RANGES`; a bad key is the default):
    one query, of snapshots for the short ranges and of rollups for the long."""
    chart = charts.chart_range(key)
    start, end = chart.window(now)
    origin = Value(start, output_field=DateTimeField())
    if chart.source == "snapshots":
        stretches = _snapshot_stretches(server, start)
        buckets = charts.snapshot_buckets(
            stretches, start=start, size=chart.size, count=chart.count
        )
    else:
        points = _rollup_points(server, chart.source, start, end, origin)
        buckets = charts.rollup_buckets(points, start=start, size=chart.size, count=chart.count)
    return charts.draw(buckets, chart, start=start)


class SnapshotRow(NamedTuple):
    started_at: datetime
    last_seen_at: datetime
    players: int


def _snapshot_stretches(server: Server, start: datetime) -> list[charts.Stretch]:
    """What each snapshot since `start` covers (`coverage.covered`, with the gap
    after which polling starts a new snapshot), in seconds from `start`.

    The database hands over seconds, not datetimes: parsing a week of them
    would cost more than everything else the chart does.
    """
    period = timedelta(seconds=settings.LIVE_STATE_POLL_SECONDS)
    stale = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    origin = Value(start, output_field=DateTimeField())
    rows = (
        LiveStateSnapshot.objects.filter(server=server, last_seen_at__gte=start - stale - period)
        .order_by("id")
        .annotate(s=Seconds(F("started_at"), origin), e=Seconds(F("last_seen_at"), origin))
        .values_list("s", "e", "players")
    )
    snapshots = [
        SnapshotRow(start + timedelta(seconds=s), start + timedelta(seconds=e), players)
        for s, e, players in rows
    ]
    spans = covered(snapshots, period=period, allowed_gap=lambda _: stale)
    return [
        charts.Stretch(_seconds(span.start, start), _seconds(span.end, start), span.run.players)
        for span in spans
    ]


def _seconds(moment: datetime, origin: datetime) -> float:
    return (moment - origin).total_seconds()


def _rollup_points(
    server: Server, source: str, start: datetime, end: datetime, origin: Value
) -> list[charts.RollupPoint]:
    rows: QuerySet[HourlyRollup] | QuerySet[DailyRollup]
    if source == "hourly":
        rows = HourlyRollup.objects.filter(server=server, hour__gte=start, hour__lt=end)
        offset = Seconds(F("hour"), origin)
    else:
        rows = DailyRollup.objects.filter(server=server, day__gte=start.date(), day__lt=end.date())
        offset = Seconds(F("day"), origin)
    fields = ("offset", "peak", "player_seconds", "answered_seconds")
    return [charts.RollupPoint(*row) for row in rows.annotate(offset=offset).values_list(*fields)]
