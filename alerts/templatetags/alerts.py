"""{% alerts_section server %}: the alerts part of a server page's owner section.

A tag, so the server page (the page layer, which does not know this app's
models) only includes it; it shows nothing to whoever may not edit the server.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Prefetch

from alerts.forms import AlertRuleForm
from alerts.models import AlertRule, Delivery
from servers.models import Server

register = template.Library()
LOG_LENGTH = 5  # deliveries shown per rule


@register.inclusion_tag("alerts/_section.html", takes_context=True)
def alerts_section(context: template.Context, server: Server) -> dict[str, Any]:
    user = context["request"].user
    if not server.powers_of(user).edit:
        return {"allowed": False}
    latest = Delivery.objects.order_by("-id")[:LOG_LENGTH]
    rules = (
        AlertRule.objects.filter(server=server)
        .defer("url", "secret")
        .prefetch_related(Prefetch("deliveries", queryset=latest, to_attr="log"))
        .order_by("id")
    )
    return {
        "allowed": True,
        "server": server,
        "rules": list(rules),
        "form": AlertRuleForm(server=server),
        "csrf_token": context.get("csrf_token"),
    }
