"""Content-Security-Policy, HTTPS settings and DEBUG pages."""

from __future__ import annotations

import re
import sys

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.http import HttpRequest
from django.urls import reverse
from django.views.debug import technical_500_response

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


# Joined at run time: the debug page quotes this file's source around each frame.
PASSWORD = "pw-" + "0451"
SECRET_URLS = {
    "DATABASE_URL": f"postgres://left4me:{PASSWORD}@db.example:5432/left4me",
    "REDIS_URL": f"redis://:{PASSWORD}@cache.example:6379/0",
    "CELERY_BROKER_URL": f"redis://:{PASSWORD}@cache.example:6379/1",
    "CELERY_RESULT_BACKEND": f"redis://:{PASSWORD}@cache.example:6379/2",
}


@pytest.fixture
def debug_with_secret_urls(settings):
    settings.DEBUG = True
    for name, url in SECRET_URLS.items():
        setattr(settings, name, url)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": SECRET_URLS["REDIS_URL"],
        }
    }


def debug_page(request: HttpRequest) -> str:
    """Django's technical 500 page for an error raised while serving `request`."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_it_keeps_connection_urls_off_debug_pages(debug_with_secret_urls, rf):
    # runserver copies the environment into request.META
    page = debug_page(rf.get("/servers/", **SECRET_URLS))
    assert "boom" in page  # it is the real debug page
    assert PASSWORD not in page
    for name in [*SECRET_URLS, "LOCATION"]:
        assert re.search(rf"{name}.{{0,200}}\*{{10,}}", page, re.S), name
    assert re.search(r"ROOT_URLCONF.{0,200}left4me\.urls", page, re.S)  # still a useful page


def test_it_redirects_to_https_except_the_health_probe(settings, client):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/servers/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/servers/"
    assert client.get("/servers/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get("/healthz").status_code != 301


def test_it_sends_hsts_over_https_when_configured(settings, client):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/servers/", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get("/servers/")
