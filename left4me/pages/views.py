"""Public pages of servers: the list, a server's page, its live fragment and JSON.

The page layer: it reads the apps below it (servers, livestate,
steamprofiles) and nothing below imports it. Views read the database only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from left4me.pages.players import PlayerCard, player_cards
from left4me.pages.serializers import panel_json
from livestate import progress, queries
from servers.models import Powers, Server
from servers.views import HtmxHttpRequest, visible_server


@dataclass(slots=True)
class PanelPage:
    """The live panel as this viewer may see it."""

    live: queries.LivePanel
    polling: progress.Polling
    current: list[PlayerCard]
    recent: list[PlayerCard]
    can_manage: bool  # sees the private details (SteamIDs, pings, last error)
    powers: Powers  # which owner controls to show


def panel_page(request: HttpRequest, server: Server) -> PanelPage:
    can_manage = server.shows_private_details_to(request.user)
    now = timezone.now()
    polling = progress.polling_state(now=now)
    live = queries.live_panel(
        server,
        now=now,
        players_visible=server.players_public or can_manage,
        polling_stalled=polling.stalled,
    )
    current, recent = player_cards(live.current, live.recent)
    return PanelPage(live, polling, current, recent, can_manage, server.powers_of(request.user))


@require_GET
@vary_on_headers("HX-Request")
def server_list(request: HtmxHttpRequest) -> HttpResponse:
    """All visible servers with live badges; htmx re-fetches just the rows."""
    now = timezone.now()
    polling = progress.polling_state(now=now)
    servers = Server.objects.visible_to(request.user)
    rows = queries.server_rows(servers, now=now, polling_stalled=polling.stalled)
    template = "servers/list.html#server_rows" if request.htmx else "servers/list.html"
    context = {"rows": [row_html(row) for row in rows], "polling": polling}
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


@require_GET
def server_detail(request: HttpRequest, pk: int) -> HttpResponse:
    server = visible_server(request, pk)
    page = panel_page(request, server)
    return render(request, "servers/detail.html", {"server": server, "page": page})


@require_GET
def live_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel htmx swaps in every poll interval; stops polling when nothing runs."""
    server = visible_server(request, pk)
    page = panel_page(request, server)
    response = render(request, "livestate/_panel.html", {"server": server, "page": page})
    if server.desired_state != Server.DesiredState.RUNNING:
        return HttpResponseStopPolling(response.content)
    return response


@require_GET
def live_json(request: HttpRequest, pk: int) -> JsonResponse:
    """Read-only live data for bots and status widgets."""
    page = panel_page(request, visible_server(request, pk))
    data = panel_json(page.live, page.current, page.recent, private=page.can_manage)
    response = JsonResponse(data, json_dumps_params={"indent": 1})
    response["Cache-Control"] = "no-cache"
    return response
