"""A server's statistics: the section of its page, its JSON and the chart fragment.

Same visibility as the server page (404 otherwise); top players only for a
viewer who may see the server's players. The statistics are not part of the
live panel: they change by the hour, so they load with the page and the
range switch, never every poll interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from livestate import charts, stats
from servers.models import Server
from servers.views import visible_server
from steamprofiles.models import profiles_for

CHART_RANGES = [(r.key, r.label) for r in charts.RANGES.values()]


@dataclass(frozen=True, slots=True)
class TopPlayer:
    steam_id_64: str
    name: str  # Steam's name when known, else the in-game name of their latest session
    seconds: int


@dataclass(frozen=True, slots=True)
class StatsPage:
    stats: stats.ServerStats
    chart: charts.Chart
    ranges: list[tuple[str, str]]
    top_players: list[TopPlayer] | None  # None: the viewer may not see players
    daily_peak_max: int  # the 30-day bars' scale

    @property
    def heat_hours(self) -> range:
        return range(24)


def players_visible(request: HttpRequest, server: Server) -> bool:
    return server.players_public or server.shows_private_details_to(request.user)


def top_players(rows: list[stats.PlayerTime] | None) -> list[TopPlayer] | None:
    """Steam's names for the top players, one query."""
    if rows is None:
        return None
    profiles = profiles_for(row.steam_id_64 for row in rows)
    return [
        TopPlayer(
            row.steam_id_64,
            profile.display_name(row.name)
            if (profile := profiles.get(row.steam_id_64))
            else row.name,
            row.seconds,
        )
        for row in rows
    ]


def stats_page(
    request: HttpRequest, server: Server, *, range_key: str | None, now: datetime | None = None
) -> StatsPage:
    now = now or timezone.now()
    visible = players_visible(request, server)
    figures = stats.server_stats(server, now=now, players_visible=visible, cached=True)
    return StatsPage(
        stats=figures,
        chart=stats.server_chart(server, key=range_key, now=now),
        ranges=CHART_RANGES,
        top_players=top_players(figures.top_players),
        daily_peak_max=max([1, *(day.peak for day in figures.daily)]),
    )


@require_GET
def chart_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The chart card for the range switch (htmx swaps it in; a bad range is 24 h)."""
    server = visible_server(request, pk)
    chart = stats.server_chart(server, key=request.GET.get("range"), now=timezone.now())
    context = {"server": server, "chart": chart, "ranges": CHART_RANGES}
    return render(request, "livestate/_chart.html", context)


@require_GET
def stats_json(request: HttpRequest, pk: int) -> JsonResponse:
    """The statistics for bots and widgets; times ISO 8601 UTC, durations in seconds."""
    server = visible_server(request, pk)
    visible = players_visible(request, server)
    figures = stats.server_stats(server, now=timezone.now(), players_visible=visible, cached=True)
    data = stats_data(server, figures, top_players(figures.top_players))
    response = JsonResponse(data, json_dumps_params={"indent": 1})
    response["Cache-Control"] = "no-cache"
    return response


def stats_data(
    server: Server, figures: stats.ServerStats, players: list[TopPlayer] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "server": {"id": server.pk, "name": server.name},
        "uptime": figures.uptime,
        "outages": [
            {
                "started_at": o.started_at.isoformat(),
                "ended_at": o.ended_at.isoformat() if o.ended_at else None,
                "seconds": o.seconds,
                "reason": o.reason,
                "outcome": o.outcome,
            }
            for o in figures.outages
        ],
        "daily": [
            {"date": d.date.isoformat(), "peak": d.peak, "unique_players": d.unique_players}
            for d in figures.daily
        ],
        "average_session_seconds": (
            None
            if figures.average_session_seconds is None
            else round(figures.average_session_seconds)
        ),
        "top_maps": [{"map": m.map, "seconds": m.seconds} for m in figures.top_maps],
        # Monday first, UTC hours 0-23: average players, null where it never answered.
        "busiest_hours": [
            [None if c.average is None else round(c.average, 2) for c in row]
            for row in figures.busiest_hours
        ],
    }
    if players is not None:
        data["top_players"] = [
            {"steam_id_64": p.steam_id_64, "name": p.name, "seconds": p.seconds} for p in players
        ]
    return data
