"""Public pages of servers: the list, a server's page, its live fragment and JSON.

The page layer: it reads the apps below it (servers, livestate,
steamprofiles) and nothing below imports it. Views read the database only.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from left4me.pages import stats_views, versions
from left4me.pages.listing import ListRequest, Online
from left4me.pages.players import PlayerCard, player_cards
from left4me.pages.serializers import panel_json
from livestate import progress, queries
from servers.models import Powers, Server
from servers.views import HtmxHttpRequest


@dataclass(slots=True)
class PanelPage:
    """The live panel as this viewer may see it."""

    live: queries.LivePanel
    polling: progress.Polling
    current: list[PlayerCard]
    recent: list[PlayerCard]
    can_manage: bool  # sees the private details (SteamIDs, pings, last error)
    powers: Powers  # which owner controls to show


def panel_page(
    request: HttpRequest,
    server: Server,
    *,
    now: datetime | None = None,
    polling: progress.Polling | None = None,
) -> PanelPage:
    can_manage = server.shows_private_details_to(request.user)
    now = now or timezone.now()
    polling = polling or progress.polling_state(now=now)
    live = queries.live_panel(
        server,
        now=now,
        players_visible=server.players_public or can_manage,
        polling_stalled=polling.stalled,
    )
    current, recent = player_cards(live.current, live.recent)
    return PanelPage(live, polling, current, recent, can_manage, server.powers_of(request.user))


def visible_server(request: HttpRequest, pk: int) -> Server:
    """The server with its LiveStatus if this user may see it; 404 otherwise."""
    servers = Server.objects.visible_to(request.user).select_related("live_status")
    return get_object_or_404(servers, pk=pk)


def client_has(request: HttpRequest, version: str) -> bool:
    return request.headers.get(versions.HEADER) == version


def nothing_changed(**events: dict[str, int]) -> HttpResponse:
    """204: htmx swaps nothing, but still fires the HX-Trigger events."""
    response = HttpResponse(status=204)
    if events:
        response["HX-Trigger"] = json.dumps(events)
    return response


@require_GET
@vary_on_headers("HX-Request", versions.HEADER)
def server_list(request: HtmxHttpRequest) -> HttpResponse:
    """Visible servers with live badges, sorted and filtered; htmx re-fetches
    just the rows, and gets a 204 while it has the current tick's."""
    now = timezone.now()
    polling = progress.polling_state(now=now)
    ask = ListRequest.from_query(request.GET)
    version = versions.rows_version(
        now=now, polling=polling, viewer=request.user.pk, sort=ask.sort, q=ask.q
    )
    rows_only = request.htmx and not request.htmx.history_restore_request
    if rows_only and client_has(request, version):
        return nothing_changed()
    servers = Server.objects.visible_to(request.user)
    rows = queries.server_rows(
        servers, now=now, polling_stalled=polling.stalled, sort=ask.sort, q=ask.q
    )
    context = {
        "rows": [row_html(row) for row in rows],
        "online": Online.of(rows),
        "polling": polling,
        "ask": ask,
        "live_version": version,
    }
    template = "servers/list.html#server_rows" if rows_only else "servers/list.html"
    return render(request, template, context)


def row_html(row: queries.ServerRow) -> str:
    """One list row from its template, memoized: between two refreshes almost every
    row is the same data, and 1,000 rows through the template engine cost ~30 ms."""
    if settings.DEBUG:  # templates may change under a developer
        return _render_row.__wrapped__(row)
    return _render_row(row)


@lru_cache(maxsize=10_000)
def _render_row(row: queries.ServerRow) -> str:
    return render_to_string("servers/_row.html", {"row": row})


def live_version(
    request: HttpRequest, server: Server, *, now: datetime, polling: progress.Polling
) -> str:
    """The panel's version; "" for a server not meant to run (its panel stops polling).

    Read before the panel itself: a poll in between makes the version older
    than the panel (one needless render), never newer (a missed change).
    """
    if server.desired_state != Server.DesiredState.RUNNING:
        return ""
    can_manage = server.shows_private_details_to(request.user)
    return versions.panel_version(server, now=now, polling=polling, can_manage=can_manage)


def polled_event(server: Server, now: datetime) -> dict[str, int]:
    """The age of the last answer, for live.js's "polled Ns ago" (none before the first)."""
    answered_at = queries.status_of(server).answered_at
    if answered_at is None:
        return {}
    return {"seconds": max(0, int((now - answered_at).total_seconds()))}


@require_GET
def server_detail(request: HttpRequest, pk: int) -> HttpResponse:
    server = visible_server(request, pk)
    now = timezone.now()
    polling = progress.polling_state(now=now)
    version = live_version(request, server, now=now, polling=polling)
    page = panel_page(request, server, now=now, polling=polling)
    chart_range = request.GET.get("range")
    statistics = stats_views.stats_page(request, server, range_key=chart_range, now=now)
    context = {"server": server, "page": page, "live_version": version, "stats": statistics}
    return render(request, "servers/detail.html", context)


@require_GET
@vary_on_headers(versions.HEADER)
def live_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel htmx swaps in every poll interval: 204 while the viewer has the
    current version, and stop polling (286) when the server is not meant to run."""
    server = visible_server(request, pk)
    now = timezone.now()
    polling = progress.polling_state(now=now)
    version = live_version(request, server, now=now, polling=polling)
    if version and client_has(request, version):
        return nothing_changed(**{"live-polled": polled_event(server, now)})
    if not version:
        return HttpResponseStopPolling(panel_html(request, server, now, polling, version))
    if server.shows_private_details_to(request.user):
        response = HttpResponse(panel_html(request, server, now, polling, version))
    else:
        response = HttpResponse(shared_panel_html(request, server, now, polling, version))
    # A shared panel may have been drawn a little earlier: set "polled Ns ago" after the swap.
    response["HX-Trigger-After-Swap"] = json.dumps({"live-polled": polled_event(server, now)})
    return response


def panel_html(
    request: HttpRequest, server: Server, now: datetime, polling: progress.Polling, version: str
) -> str:
    page = panel_page(request, server, now=now, polling=polling)
    context = {"server": server, "page": page, "live_version": version}
    return render_to_string("livestate/_panel.html", context, request=request)


# Public panels by (server, version): a version says everything a viewer who
# sees no private details is shown, so when it turns (a poll changed something,
# or the minute its humanized times step on) a thousand open pages cost this
# process one render, not a thousand.
SHARED_PANELS: dict[tuple[int, str], str] = {}
SHARED_PANELS_MAX = 512
_shared_panels_lock = threading.Lock()  # waitress serves from threads


def shared_panel_html(
    request: HttpRequest, server: Server, now: datetime, polling: progress.Polling, version: str
) -> str:
    key = (server.pk, version)
    html = None if settings.DEBUG else SHARED_PANELS.get(key)
    if html is None:
        html = panel_html(request, server, now, polling, version)
        with _shared_panels_lock:
            if len(SHARED_PANELS) >= SHARED_PANELS_MAX:
                del SHARED_PANELS[next(iter(SHARED_PANELS))]  # the oldest
            SHARED_PANELS[key] = html
    return html


@require_GET
def live_json(request: HttpRequest, pk: int) -> JsonResponse:
    """Read-only live data for bots and status widgets."""
    page = panel_page(request, visible_server(request, pk))
    data = panel_json(page.live, page.current, page.recent, private=page.can_manage)
    response = JsonResponse(data, json_dumps_params={"indent": 1})
    response["Cache-Control"] = "no-cache"
    return response
