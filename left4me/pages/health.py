"""`/healthz`: the product's health as JSON, 200 when all is well, 503 when not.

Loopback probes reach it through left4me/pages/probes.py before host
validation; other clients through the URLconf, host checked as for any page.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
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
