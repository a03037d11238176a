"""Content-Security-Policy and the settings behind it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.urls import reverse

pytestmark = pytest.mark.django_db


def policy(client) -> dict[str, list[str]]:
    header = client.get(reverse("servers:list"))["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_it_sends_a_strict_policy(client):
    csp = policy(client)
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["object-src"] == ["'none'"]


def test_it_allows_exactly_steams_avatar_hosts_for_images(client):
    hosts = {f"https://{host}" for host in settings.STEAM_AVATAR_HOSTS}
    assert set(policy(client)["img-src"]) == {"'self'", "data:"} | hosts


def test_it_configures_htmx_without_eval(client):
    page = client.get(reverse("servers:list")).content.decode()
    assert '"allowEval": false' in page
    assert "unpkg.com" not in page
    assert "cdn" not in page.lower()


def test_it_flags_a_timeout_not_shorter_than_the_poll_period(settings):
    settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS = settings.LIVE_STATE_POLL_SECONDS
    assert "left4me.E001" in {message.id for message in run_checks()}


def test_it_passes_its_checks_with_the_defaults():
    assert [m.id for m in run_checks() if m.level >= 40] == []
