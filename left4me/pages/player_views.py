"""A player's page and JSON: their history on the servers whose players the viewer may see.

A SteamID with no session on those servers is answered exactly like one never
seen (404, never 403): the page must not tell that a player was somewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from left4me.pages.player_page import player_page
from livestate.player_history import PlayerHistory, player_history
from servers.models import Server


def visible_history(request: HttpRequest, steam_id_64: str, *, page: int | None) -> PlayerHistory:
    """The history the viewer may see; 404 for a malformed, unknown or hidden player alike."""
    servers = Server.objects.players_visible_to(request.user)
    history = player_history(steam_id_64, servers, page=page)
    if history is None:
        raise Http404("No such player.")
    return history


def page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and len(value) < 8 else 1


@require_GET
def player_detail(request: HttpRequest, steam_id_64: str) -> HttpResponse:
    history = visible_history(request, steam_id_64, page=page_number(request))
    page = player_page(history, now=timezone.now())
    return render(request, "players/detail.html", {"page": page})


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def history_json(history: PlayerHistory) -> dict[str, Any]:
    return {
        "steam_id_64": history.steam_id_64,
        "names": [n.name for n in history.names],
        "first_seen": utc(history.first_seen),
        "last_seen": utc(history.last_seen),
        "playtime_seconds": history.playtime_seconds,
        "sessions": history.sessions,
        "servers": [
            {"id": s.server_id, "name": s.name, "playtime_seconds": s.playtime_seconds}
            for s in history.servers
        ],
        "online_on": history.online_on,
    }


@require_GET
def player_json(request: HttpRequest, steam_id_64: str) -> JsonResponse:
    """The page's figures for bots and widgets (no list of sessions)."""
    history = visible_history(request, steam_id_64, page=None)
    response = JsonResponse(history_json(history), json_dumps_params={"indent": 1})
    response["Cache-Control"] = "no-cache"
    return response
