"""The live panel fragment and its JSON twin. They read the database only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from livestate import queries
from livestate.serializers import panel_json
from servers.models import Server
from servers.views import visible_server


@require_GET
def live_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel htmx swaps in every poll interval; stops polling when nothing runs."""
    server = visible_server(request, pk)
    panel, can_manage = queries.live_panel_for(server, request.user, now=timezone.now())
    context = {"server": server, "panel": panel, "can_manage": can_manage}
    response = render(request, "livestate/_panel.html", context)
    if server.desired_state != Server.DesiredState.RUNNING:
        return HttpResponseStopPolling(response.content)
    return response


@require_GET
def live_json(request: HttpRequest, pk: int) -> JsonResponse:
    """Read-only live data for bots and status widgets."""
    server = visible_server(request, pk)
    panel, can_manage = queries.live_panel_for(server, request.user, now=timezone.now())
    response = JsonResponse(panel_json(panel, private=can_manage), json_dumps_params={"indent": 1})
    response["Cache-Control"] = "no-cache"
    return response
