"""Read side of the live state for pages and JSON: a fixed number of queries.

Page views never open an RCON socket; everything here reads what the poller
stored. Each function costs a constant number of queries whatever the number
of servers, sessions or players.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from livestate.badges import Badge, live_badge
from livestate.charts import Chart, Span, player_chart
from livestate.models import LiveStateSnapshot, PlayerSession
from livestate.reconcile import LatestSnapshot
from livestate.store import latest_snapshots
from servers.models import Server
from steamprofiles.models import SteamProfile, profiles_for

# "Recent players" reads this many of the newest closed sessions and keeps the
# first card per player: one bounded index scan, however long the history.
RECENT_SESSION_SCAN = 2000
RECENT_PLAYER_LIMIT = 48
CHART_WINDOWS = [("last 24 hours", timedelta(hours=24)), ("last 7 days", timedelta(days=7))]
CHART_BUCKETS = 288
MAP_HISTORY_LIMIT = 12


@dataclass(frozen=True, slots=True)
class MapSpan(Span):
    map: str = ""


STATE_LABELS = dict(Server.ActualState.choices)


@dataclass(frozen=True, slots=True)
class ServerRow:
    """One line of the server list, rendered in Python with stdlib escaping:
    Django's template loop and format_html over 1,000 rows cost more than
    the rest of the page together."""

    pk: int
    name: str
    host: str
    port: int
    listed: bool
    actual_state: str
    desired_state: str

    def html(self, badge: Badge, detail_prefix: str) -> str:
        address = escape(f"{self.host}:{self.port}")
        unlisted = ' <span class="tag">unlisted</span>' if not self.listed else ""
        state = escape(self.actual_state)
        label = escape(STATE_LABELS.get(self.actual_state, ""))
        return (
            f'<tr><td><a href="{detail_prefix}{self.pk}/">{escape(self.name)}</a>{unlisted}</td>'
            f'<td><a href="steam://connect/{address}">{address}</a></td>'
            f'<td><span class="state state-{state}">{label}</span></td>'
            f'<td class="live">{badge_html(badge)}</td></tr>'
        )


def badge_html(badge: Badge) -> str:
    text, reason = escape(badge.text), escape(badge.reason)
    if badge.kind != "stale":
        return f'<span class="badge badge-{badge.kind}">{text}</span>'
    return (
        f'<span class="badge badge-stale" title="{reason}">?</span> '
        f'<span class="badge-reason muted">{reason}</span>'
    )


def server_rows(queryset: QuerySet, *, now: datetime) -> SafeString:
    """The rows of the server list, with live badges, in two queries."""
    rows = [ServerRow(*values) for values in queryset.values_list(*ServerRow.__slots__)]
    snapshots = latest_snapshots(queryset.values("pk"))
    stale_after = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    detail_prefix = reverse("servers:detail", args=[0]).removesuffix("0/")  # one reverse
    html = [
        row.html(
            live_badge(row, snapshots.get(row.pk), now=now, stale_after=stale_after), detail_prefix
        )
        for row in rows
    ]
    return mark_safe("".join(html))  # noqa: S308 (every value went through html.escape)


@dataclass(frozen=True, slots=True)
class PlayerCard:
    steam_id_64: str
    name: str
    avatar_url: str
    joined_at: datetime
    left_at: datetime | None
    min_ping: int
    max_ping: int


@dataclass(frozen=True, slots=True)
class MapRun:
    map: str
    started_at: datetime
    last_seen_at: datetime


@dataclass(slots=True)
class LivePanel:
    server: Server
    badge: Badge
    snapshot: LatestSnapshot | None
    now: datetime
    players_visible: bool
    current: list[PlayerCard] = field(default_factory=list)
    recent: list[PlayerCard] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    maps: list[MapRun] = field(default_factory=list)

    @property
    def history_days(self) -> int:
        return settings.LIVE_STATE_HISTORY_DAYS

    @property
    def polled_seconds_ago(self) -> int | None:
        if self.snapshot is None:
            return None
        return max(0, int((self.now - self.snapshot.last_seen_at).total_seconds()))


def card(session: PlayerSession, profile: SteamProfile | None) -> PlayerCard:
    """Steam's name and avatar when known, the in-game name otherwise."""
    return PlayerCard(
        steam_id_64=session.steam_id_64,
        name=profile.display_name(session.name_at_join) if profile else session.name_at_join,
        avatar_url=profile.safe_avatar_url if profile else "",
        joined_at=session.joined_at,
        left_at=session.left_at,
        min_ping=session.min_ping,
        max_ping=session.max_ping,
    )


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
    rows = (
        LiveStateSnapshot.objects.filter(server=server, last_seen_at__gte=since)
        .order_by("id")
        .values_list("started_at", "last_seen_at", "players", "max_players", "map")
    )
    return [MapSpan(*row) for row in rows]


def player_chart_for(spans: list[MapSpan], label: str, window: timedelta, now: datetime) -> Chart:
    return player_chart(
        spans,
        label=label,
        end=now,
        window=window,
        buckets=CHART_BUCKETS,
        min_span=timedelta(seconds=settings.LIVE_STATE_POLL_SECONDS),
    )


def map_runs(spans: list[MapSpan], limit: int = MAP_HISTORY_LIMIT) -> list[MapRun]:
    """Consecutive snapshots on one map merged into one run, newest first."""
    runs: list[MapRun] = []
    for span in spans:
        if runs and runs[-1].map == span.map:
            runs[-1] = MapRun(span.map, runs[-1].started_at, span.last_seen_at)
        else:
            runs.append(MapRun(span.map, span.started_at, span.last_seen_at))
    return runs[::-1][:limit]


def live_panel_for(server: Server, user, *, now: datetime) -> tuple[LivePanel, bool]:
    """The panel as `user` may see it, and whether they manage the server."""
    can_manage = server.is_managed_by(user)
    panel = live_panel(server, now=now, players_visible=server.players_public or can_manage)
    return panel, can_manage


def live_panel(server: Server, *, now: datetime, players_visible: bool) -> LivePanel:
    snapshot = latest_snapshots([server.pk]).get(server.pk)
    stale_after = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    badge = live_badge(server, snapshot, now=now, stale_after=stale_after)
    panel = LivePanel(server, badge, snapshot, now, players_visible)
    spans = history_spans(server, since=now - CHART_WINDOWS[-1][1])
    panel.charts = [player_chart_for(spans, label, window, now) for label, window in CHART_WINDOWS]
    panel.maps = map_runs(spans)
    if not players_visible:
        return panel
    current = list(PlayerSession.objects.open().filter(server=server).order_by("joined_at"))
    recent = recent_sessions(server, now=now, exclude={s.steam_id_64 for s in current})
    profiles = profiles_for(s.steam_id_64 for s in [*current, *recent])
    panel.current = [card(s, profiles.get(s.steam_id_64)) for s in current]
    panel.recent = [card(s, profiles.get(s.steam_id_64)) for s in recent]
    return panel
