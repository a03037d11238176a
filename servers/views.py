"""Owner pages of servers: create, edit, server.cfg, password rotation.

The public list and server page live in the page layer (left4me.pages),
which also shows live state. Views read the database only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servers import services
from servers.forms import ServerForm
from servers.models import Perm, Server

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through HtmxMiddleware (django-htmx's documented typing)."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """A request past @login_required: someone is signed in (django-stubs' pattern)."""

    user: User


def visible_server(request: HttpRequest, pk: int) -> Server:
    """The server if this user may see it; 404 otherwise, never 403."""
    return get_object_or_404(Server.objects.visible_to(request.user), pk=pk)


def managed_server(request: HttpRequest, pk: int, perm: Perm) -> Server:
    """The server if this user owns it or holds `perm`; 404 otherwise, never 403."""
    return get_object_or_404(Server.objects.manageable_by(request.user, perm), pk=pk)


LOCKED_ADDRESS_HELP = (
    "Only the owner, or someone allowed to see the RCON password, can move this server."
)


def lock_address(form: ServerForm) -> None:
    """Show host and port but ignore posted ones: see Powers.move."""
    for name in ("host", "port"):
        form.fields[name].disabled = True
    form.fields["host"].help_text = LOCKED_ADDRESS_HELP


@login_required
@require_http_methods(["GET", "POST"])
def server_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ServerForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        server = form.save()
        messages.success(request, f"Server “{server.name}” created with a fresh RCON password.")
        return redirect(server)
    return render(request, "servers/form.html", {"form": form, "server": None})


@login_required
@require_http_methods(["GET", "POST"])
def server_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    server = managed_server(request, pk, Perm.CHANGE_SERVER)
    form = ServerForm(request.POST or None, instance=server, owner=server.owner)
    if not server.powers_of(request.user).move:
        lock_address(form)
    if request.method == "POST" and form.is_valid():
        services.save_server(form=form, actor=request.user)
        messages.success(request, "Server saved.")
        return redirect(server)
    return render(request, "servers/form.html", {"form": form, "server": server})


@login_required
@require_GET
def server_cfg(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    server = managed_server(request, pk, Perm.VIEW_RCON_PASSWORD)
    text = services.download_server_cfg(server=server, actor=request.user)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="server.cfg"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def rotate_password(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    server = managed_server(request, pk, Perm.ROTATE_RCON_PASSWORD)
    try:
        services.rotate_rcon_password(server=server, actor=request.user)
    except services.RotationLimited as limited:
        if request.htmx:
            # 200: htmx swaps only successful responses, and the message is the point.
            context = {"server": server, "message": str(limited), "error": True}
            return render(request, "servers/_rotated.html", context)
        messages.error(request, str(limited))
        return redirect(server)
    can_download = server.powers_of(request.user).download_cfg
    who = "Download" if can_download else "The owner must download"
    text = f"RCON password rotated. {who} the new server.cfg and reload it on the server."
    if request.htmx:
        context = {"server": server, "message": text, "can_download": can_download}
        return render(request, "servers/_rotated.html", context)
    messages.success(request, text)
    return redirect(server)
