"""Who may scrape /metrics: a bearer token, or loopback only when there is none."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-metrics-token_0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = ""
    return TOKEN


@pytest.fixture
def no_token(settings):
    settings.METRICS_TOKEN = ""
    settings.REDIS_URL = ""


def get(client, remote="203.0.113.9", **headers):
    return client.get("/metrics", REMOTE_ADDR=remote, headers=headers)


def test_it_answers_the_right_token_from_anywhere(client, token):
    response = get(client, Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"left4me_server_up" in response.content
    assert response["Cache-Control"].startswith("max-age=0")
    assert get(client, Authorization=f"bearer {TOKEN}").status_code == 200  # scheme: any case


@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer x", f"Bearer {TOKEN[::-1]}"],
)
def test_it_forbids_a_wrong_token_without_details(client, token, header):
    response = get(client, Authorization=header)
    assert response.status_code == 403
    assert response.content == b""


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer "},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}])  # fmt: skip
def test_it_asks_for_a_bearer_token_when_none_came(client, token, headers):
    response = get(client, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.content == b""


def test_it_wants_the_token_from_loopback_too(client, token):
    assert get(client, remote="127.0.0.1").status_code == 401
    assert get(client, remote="127.0.0.1", Authorization=f"Bearer {TOKEN}").status_code == 200


def test_it_answers_only_loopback_without_a_token(client, no_token):
    assert get(client, remote="127.0.0.1").status_code == 200
    assert get(client, remote="::1").status_code == 200
    refused = get(client, remote="203.0.113.9")
    assert refused.status_code == 403
    assert refused.content == b""
    # A token is worth nothing while none is configured.
    assert get(client, remote="10.0.0.7", Authorization=f"Bearer {TOKEN}").status_code == 403


def test_it_never_shows_the_token(client, token, caplog):
    for header in (f"Bearer {TOKEN}", f"Bearer {TOKEN}x", ""):
        response = get(client, Authorization=header)
        assert TOKEN not in response.content.decode()
        assert TOKEN not in str(response.headers)
    assert TOKEN not in caplog.text


def test_it_takes_only_get(client, no_token):
    assert client.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


def test_it_answers_a_plain_http_scraper_on_loopback_despite_the_https_redirect(
    client, no_token, settings
):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/servers/", REMOTE_ADDR="127.0.0.1").status_code == 301


def test_it_answers_a_loopback_scrape_whatever_the_host(client, settings):
    settings.ALLOWED_HOSTS = ["panel.example.org"]
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert b"left4me_poll_failures_total" in response.content
    refused = client.get("/metrics", HTTP_HOST="evil.example", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 400
