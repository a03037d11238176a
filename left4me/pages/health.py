"""`/healthz`: the product's health as JSON, 200 when all is well, 503 when not.

A loopback probe (Docker's health check, the quick start, a local monitor)
is answered before any other middleware: whatever ALLOWED_HOSTS or the HTTPS
redirect say, `curl http://127.0.0.1:8000/healthz` works. Other clients reach
the same view through the URLconf, with the host checked as for any page.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from livestate.health import check_health

PATH = "/healthz"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = check_health(now=timezone.now())
    return JsonResponse(health.as_json(), status=200 if health.ok else 503)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class LoopbackHealthMiddleware:
    """Answer loopback GETs of /healthz first, before host validation and redirects."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") == PATH and is_loopback(
            request.META.get("REMOTE_ADDR", "")
        ):
            return healthz(request)
        return self.get_response(request)
