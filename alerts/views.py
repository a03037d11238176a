"""Owner pages of alerts: add, remove, resume and test a server's rules.

Who may: whoever may edit the server (its owner, or holders of
servers.change_server); anyone else gets 404, never 403. Plain POST forms
that redirect back to the server page (no script, CSP-safe); a test is
queued as a delivery that the next evaluation sends, so no page talks to
the broker or to a webhook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts import services
from alerts.forms import AlertRuleForm
from alerts.models import AlertRule
from servers.models import Perm, Server

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User


def managed_server(request: HttpRequest, server_pk: int) -> Server:
    return get_object_or_404(
        Server.objects.manageable_by(request.user, Perm.CHANGE_SERVER), pk=server_pk
    )


def managed_rule(request: HttpRequest, server_pk: int, rule_pk: int) -> AlertRule:
    server = managed_server(request, server_pk)
    return get_object_or_404(AlertRule.objects.select_related("server"), pk=rule_pk, server=server)


def back_to(server: Server) -> HttpResponse:
    return redirect(f"{server.get_absolute_url()}#alerts")


@login_required
@require_http_methods(["GET", "POST"])
def rule_add(request: AuthenticatedHttpRequest, server_pk: int) -> HttpResponse:
    server = managed_server(request, server_pk)
    form = AlertRuleForm(request.POST or None, server=server)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        messages.success(request, f"Alert added: {rule.describe()} → {rule.url_hint}.")
        return back_to(server)
    return render(request, "alerts/form.html", {"form": form, "server": server})


@login_required
@require_POST
def rule_remove(request: AuthenticatedHttpRequest, server_pk: int, rule_pk: int) -> HttpResponse:
    rule = managed_rule(request, server_pk, rule_pk)
    services.remove_rule(rule=rule)
    messages.success(request, f"Alert removed: {rule.describe()} → {rule.url_hint}.")
    return back_to(rule.server)


@login_required
@require_POST
def rule_resume(request: AuthenticatedHttpRequest, server_pk: int, rule_pk: int) -> HttpResponse:
    rule = managed_rule(request, server_pk, rule_pk)
    services.resume_rule(rule=rule)
    messages.success(request, f"Alert resumed: {rule.describe()}.")
    return back_to(rule.server)


@login_required
@require_POST
def rule_test(request: AuthenticatedHttpRequest, server_pk: int, rule_pk: int) -> HttpResponse:
    rule = managed_rule(request, server_pk, rule_pk)
    services.queue_test(rule=rule)
    messages.success(request, "Test alert queued: its result shows below within seconds.")
    return back_to(rule.server)
