"""/healthz over HTTP, and pages that say when the panel itself is not polling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from livestate import progress
from livestate.models import LiveStatus
from servers.models import Server

pytestmark = pytest.mark.django_db


def test_it_answers_a_loopback_probe_whatever_the_host(client, settings):
    settings.ALLOWED_HOSTS = ["panel.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.5:8000", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")
    ipv6 = client.get("/healthz", HTTP_HOST="whatever", REMOTE_ADDR="::1")
    assert ipv6.status_code == 200


def test_it_checks_the_host_of_everyone_else(client, settings):
    settings.ALLOWED_HOSTS = ["panel.example.org"]
    refused = client.get("/healthz", HTTP_HOST="evil.example", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 400
    allowed = client.get("/healthz", HTTP_HOST="panel.example.org", REMOTE_ADDR="203.0.113.9")
    assert allowed.status_code == 200
    assert allowed.json()["checks"]["database"]["ok"] is True


def test_it_answers_503_when_polling_stalls(client):
    progress.record_finished(now=timezone.now() - timedelta(minutes=2))
    response = client.get("/healthz", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["polling"]["ok"] is False
    assert body["checks"]["polling"]["last_tick_age_seconds"] >= 120


def stale_running_server(make_server) -> Server:
    server = make_server(name="coop", desired_state=Server.DesiredState.RUNNING, listed=True)
    answered = timezone.now() - timedelta(minutes=2)
    LiveStatus.objects.create(
        server=server, state="running", polled_at=answered, answered_at=answered, players=3,
        max_players=8, map="c1m1_hotel",
    )  # fmt: skip
    return server


def test_it_says_the_panel_is_not_polling_instead_of_blaming_the_servers(client, make_server):
    server = stale_running_server(make_server)
    progress.record_finished(now=timezone.now() - timedelta(minutes=2))
    page = client.get("/servers/").content.decode()
    assert "The panel is not polling: live data is 120 s old." in page
    assert "the panel is not polling" in page
    assert "no recent answer" not in page
    panel = client.get(f"/servers/{server.pk}/live/").content.decode()
    assert "The panel is not polling" in panel


def test_it_blames_the_server_when_the_panel_polls(client, make_server):
    stale_running_server(make_server)
    page = client.get("/servers/").content.decode()
    assert "The panel is not polling" not in page
    assert "no recent answer for 2\xa0minutes" in page
