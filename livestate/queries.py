"""Read model of the live state for pages, the admin and JSON: data, never HTML.

Page views never open an RCON socket; everything here reads what the poller
stored. A server's current state is its LiveStatus row (one join, no
group-by); history comes from snapshots and sessions. Each function costs a
constant number of queries whatever the number of servers or sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse

from livestate.badges import Badge, LiveRow, live_badge
from livestate.charts import Span
from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession
from servers.models import Server

# "Recent players" reads this many of the newest closed sessions and keeps the
# first per player: one bounded index scan, however long the history.
RECENT_SESSION_SCAN = 2000
RECENT_PLAYER_LIMIT = 48
# The map history reads this much of the snapshots (the charts live in stats.py).
MAP_HISTORY_WINDOW = timedelta(days=7)
MAP_HISTORY_SNAPSHOTS = 200
MAP_HISTORY_LIMIT = 12
STATE_LABELS = dict(LiveStatus.State.choices)
NEVER_POLLED = LiveRow(LiveStatus.State.UNKNOWN, None, 0, 0, "", False)


def status_of(server: Server) -> LiveStatus:
    """The server's LiveStatus; an unsaved 'unknown' one before its first poll."""
    try:
        return server.live_status
    except LiveStatus.DoesNotExist:
        return LiveStatus(server=server)


def stale_after() -> timedelta:
    return timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)


class ServerRow(NamedTuple):
    """One line of the server list: plain, hashable values (pages memoize its HTML)."""

    url: str
    name: str
    address: str
    listed: bool
    state: str
    state_label: str
    badge: Badge
    players: int  # online now: the badge's count when fresh, else 0


ROW_SORTS = ("players", "name")  # most players first (then name), or by name; default first

_ROW_FIELDS = (
    "pk", "name", "host", "port", "listed", "desired_state", "live_status__state",
    "live_status__answered_at", "live_status__players", "live_status__max_players",
    "live_status__map", "live_status__hibernating",
)  # fmt: skip


def server_rows(
    servers: QuerySet[Server],
    *,
    now: datetime,
    polling_stalled: bool = False,
    sort: str = ROW_SORTS[0],
    q: str = "",
) -> list[ServerRow]:
    """The server list with each server's live state, in one query (a join).

    `q` keeps the servers whose name or last known map contains it, in any
    case. Sorting by players happens here, not in SQL: a count is shown
    (and counts) only while the badge is fresh, and that rule lives in
    live_badge; names compare case-blind the same way on every database.
    """
    if q:
        servers = servers.filter(Q(name__icontains=q) | Q(live_status__map__icontains=q))
    limit = stale_after()
    url_prefix = reverse("servers:detail", args=[0]).removesuffix("0/")  # one reverse
    rows: list[ServerRow] = []
    for pk, name, host, port, listed, desired, *live in servers.values_list(*_ROW_FIELDS):
        status = LiveRow(*live) if live[0] else NEVER_POLLED
        badge = live_badge(
            desired, status, now=now, stale_after=limit, polling_stalled=polling_stalled
        )
        rows.append(
            ServerRow(
                url=f"{url_prefix}{pk}/",
                name=name,
                address=f"{host}:{port}",
                listed=listed,
                state=status.state,
                state_label=STATE_LABELS[status.state],
                badge=badge,
                players=status.players if badge.is_fresh else 0,
            )
        )
    # Stable sorts over the query's (name, id) order.
    if sort == "name":
        rows.sort(key=lambda row: row.name.casefold())
    else:
        rows.sort(key=lambda row: (-row.players, row.name.casefold()))
    return rows


@dataclass(frozen=True, slots=True)
class MapSpan(Span):
    map: str = ""


@dataclass(frozen=True, slots=True)
class MapRun:
    map: str
    started_at: datetime
    last_seen_at: datetime


@dataclass(slots=True)
class LivePanel:
    """Everything the live panel shows of one server; players as sessions.

    The page layer turns sessions into cards (it knows Steam profiles;
    the live state does not).
    """

    server: Server
    status: LiveStatus
    badge: Badge
    now: datetime
    players_visible: bool
    current: list[PlayerSession] = field(default_factory=list)
    recent: list[PlayerSession] = field(default_factory=list)
    maps: list[MapRun] = field(default_factory=list)

    @property
    def history_days(self) -> int:
        return settings.LIVE_STATE_HISTORY_DAYS

    @property
    def polled_seconds_ago(self) -> int | None:
        """Seconds since the last answer (None before the first)."""
        if self.status.answered_at is None:
            return None
        return max(0, int((self.now - self.status.answered_at).total_seconds()))


def recent_sessions(server: Server, *, now: datetime, exclude: set[str]) -> list[PlayerSession]:
    """Newest closed session of each player in the history window, newest first.

    Walks the (server, -left_at) index in small batches and stops as soon as
    it has enough players, so a million-session history costs a few rows.
    """
    since = now - timedelta(days=settings.LIVE_STATE_HISTORY_DAYS)
    rows = (
        PlayerSession.objects.filter(server=server, left_at__gte=since)
        .order_by("-left_at")
        .only("steam_id_64", "joined_at", "left_at", "name_at_join", "min_ping", "max_ping")
    )[:RECENT_SESSION_SCAN]
    seen, picked = set(exclude), []
    for session in rows.iterator(chunk_size=RECENT_PLAYER_LIMIT * 2):
        if session.steam_id_64 not in seen:
            seen.add(session.steam_id_64)
            picked.append(session)
            if len(picked) == RECENT_PLAYER_LIMIT:
                break
    return picked


def history_spans(server: Server, *, since: datetime) -> list[MapSpan]:
    """The newest MAP_HISTORY_SNAPSHOTS snapshots since `since`, oldest first:
    enough for the map history, and bounded however busy the server was."""
    rows = (
        LiveStateSnapshot.objects.filter(server=server, last_seen_at__gte=since)
        .order_by("-id")
        .values_list("started_at", "last_seen_at", "players", "max_players", "map")
    )[:MAP_HISTORY_SNAPSHOTS]
    return [MapSpan(*row) for row in list(rows)[::-1]]


def map_runs(spans: list[MapSpan], limit: int = MAP_HISTORY_LIMIT) -> list[MapRun]:
    """Consecutive snapshots on one map merged into one run, newest first."""
    runs: list[MapRun] = []
    for span in spans:
        if runs and runs[-1].map == span.map:
            runs[-1] = MapRun(span.map, runs[-1].started_at, span.last_seen_at)
        else:
            runs.append(MapRun(span.map, span.started_at, span.last_seen_at))
    return runs[::-1][:limit]


def live_panel(
    server: Server, *, now: datetime, players_visible: bool, polling_stalled: bool = False
) -> LivePanel:
    status = status_of(server)
    badge = live_badge(
        server.desired_state,
        status,
        now=now,
        stale_after=stale_after(),
        polling_stalled=polling_stalled,
    )
    panel = LivePanel(server, status, badge, now, players_visible)
    spans = history_spans(server, since=now - MAP_HISTORY_WINDOW)
    panel.maps = map_runs(spans)
    if not players_visible:
        return panel
    panel.current = list(PlayerSession.objects.open().filter(server=server).order_by("joined_at"))
    panel.recent = recent_sessions(server, now=now, exclude={s.steam_id_64 for s in panel.current})
    return panel
