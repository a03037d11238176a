"""Framework-level security helpers the settings name by dotted path.

Login throttling (django-axes) and the DEBUG page filter. Nothing here imports
an app of ours: settings name these, and the settings sit below every app.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import timedelta
from typing import Any

# axes ships no type information (no py.typed).
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.debug import SafeExceptionReporterFilter

LOCKOUT_TEMPLATE = "registration/locked_out.html"


class SecretUrlFilter(SafeExceptionReporterFilter):
    """Also hides connection URLs, which carry credentials in their userinfo.

    Django's default pattern hides PASSWORD keys but not DATABASE_URL,
    REDIS_URL, CELERY_BROKER_URL, CELERY_RESULT_BACKEND or a cache's
    LOCATION, in settings and in request.META alike (runserver copies the
    environment there). STATIC_URL and LOGIN_URL are hidden too: harmless.
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE"
        "|URL(?!CONF)|DSN|LOCATION|RESULT_BACKEND",
        flags=re.IGNORECASE,
    )


def client_ip(request: HttpRequest) -> str | None:
    """The address the throttle counts: REMOTE_ADDR, never X-Forwarded-For.

    The web server rewrites REMOTE_ADDR from a trusted proxy's header; any
    header read here could be forged by the client. One IPv6 host usually
    holds a whole /64, so IPv6 clients count per /64.
    """
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False).network_address)
    return str(address)


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler, but a success clears only that username's failures.

    axes would also clear every failure from the client's address, so anyone
    with an account could log in between guesses at other people's passwords
    and never reach the limit.
    """

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def minutes_left(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """Whole minutes until every failure that locks this client has expired."""
    cool_off = get_cool_off(request) or timedelta(0)
    locking = Q(ip_address=client_ip(request))
    if username := get_client_username(request, credentials):
        locking |= Q(username=username)
    latest = AccessAttempt.objects.filter(locking).aggregate(latest=Max("attempt_time"))["latest"]
    if latest is None:
        return max(1, math.ceil(cool_off.total_seconds() / 60))
    left = latest + cool_off - timezone.now()
    return max(1, math.ceil(left.total_seconds() / 60))


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """429 on our own page, saying when to come back (AXES_LOCKOUT_CALLABLE)."""
    minutes = minutes_left(request, credentials)
    response = render(request, LOCKOUT_TEMPLATE, {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
