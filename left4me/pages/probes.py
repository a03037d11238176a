"""Loopback probes first: /healthz and /metrics before host validation and redirects.

A health probe (Docker's check, the quick start, a local monitor) or a
Prometheus scrape on the same host must work whatever ALLOWED_HOSTS or the
HTTPS redirect say: `curl http://127.0.0.1:8000/healthz`. Other clients
reach the same views through the URLconf, the host checked as for any page.
/metrics still asks for METRICS_TOKEN when one is set.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from left4me.pages.clients import is_loopback
from left4me.pages.health import healthz
from left4me.pages.metrics import metrics

View = Callable[[HttpRequest], HttpResponse]
LOOPBACK_PROBES: dict[str, View] = {"/healthz": healthz, "/metrics": metrics}


class LoopbackProbeMiddleware:
    """Answer loopback /healthz and /metrics before any other middleware."""

    def __init__(self, get_response: View) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = LOOPBACK_PROBES.get(request.path_info.rstrip("/"))
        if probe is not None and is_loopback(request.META.get("REMOTE_ADDR", "")):
            return probe(request)
        return self.get_response(request)
