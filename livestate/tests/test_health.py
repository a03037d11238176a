"""The health checks behind /healthz and `healthcheck`: each one can fail on its own."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from livestate import progress
from livestate.health import check_health

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def test_it_is_healthy_when_every_service_answers_and_polling_moves():
    health = check_health(now=timezone.now())
    assert health.ok, health.as_json()
    body = health.as_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "polling"}
    assert body["checks"]["polling"]["last_tick_age_seconds"] < 5


def test_it_fails_polling_after_three_periods_without_a_tick(settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    now = timezone.now()
    progress.record_finished(now=now - timedelta(seconds=14))
    assert check_health(now=now).ok
    progress.record_finished(now=now - timedelta(seconds=16))
    health = check_health(now=now)
    assert not health.ok
    assert not health.checks["polling"].ok
    assert health.checks["database"].ok
    assert health.as_json()["checks"]["polling"]["last_tick_age_seconds"] == 16


@pytest.mark.polling_stalled
def test_it_fails_polling_that_never_happened():
    health = check_health(now=timezone.now())
    assert not health.checks["polling"].ok
    assert health.as_json()["checks"]["polling"]["last_tick_at"] is None


def test_it_names_a_dead_cache_by_kind_without_its_address(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
        }
    }
    health = check_health(now=timezone.now())
    assert not health.ok
    cache = health.as_json()["checks"]["cache"]
    assert cache["ok"] is False
    assert cache["error"] == "ConnectionError"
    assert "127.0.0.1" not in str(health.as_json())
    assert health.checks["database"].ok
    assert health.checks["polling"].ok


def test_it_checks_a_redis_broker(settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    assert check_health(now=timezone.now()).checks["broker"].ok
    settings.CELERY_BROKER_URL = CLOSED_PORT_REDIS
    broker = check_health(now=timezone.now()).checks["broker"]
    assert not broker.ok
    assert broker.error
    assert "127.0.0.1" not in broker.error


def test_it_answers_within_its_deadline_while_redis_stalls(settings):
    """A listener that accepts and never answers: the cache check times out, /healthz does not."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.getsockname()[1]}/0",
            "OPTIONS": {"socket_timeout": 30, "socket_connect_timeout": 30},
        }
    }
    try:
        began = time.monotonic()
        health = check_health(now=timezone.now())
        took = time.monotonic() - began
    finally:
        server.close()
    assert health.as_json()["checks"]["cache"]["error"] == "TimeoutError"
    assert took < 10  # the client alone would wait 30 s
