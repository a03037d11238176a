"""The shared counter store: exact under concurrent processes, harmless when it fails."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from left4me import metrics_store
from left4me.models import MetricCounter
from left4me.testing import database_url_for_tests
from left4me.tests.metrics_helpers import use_store
from servers.models import Server

ADDER = """
import django
django.setup()
from left4me import metrics_store as m
for _ in range({rounds}):
    m.record_alert_sent("down", "sent")
    m.record_poll(seconds=0.3, failures=["error", "unreachable"])
"""


@pytest.fixture(autouse=True)
def _fresh_warning_state(monkeypatch):
    monkeypatch.setattr(metrics_store, "_failing", False)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.nodb
def test_it_puts_an_observation_in_its_own_bucket():
    buckets = (0.25, 0.5, 1)
    assert metrics_store.histogram("h", 0.5, buckets) == {
        ("h_bucket", (("le", "0.5"),)): 1, ("h_sum", ()): 0.5,
    }  # fmt: skip
    assert ("h_bucket", (("le", "+Inf"),)) in metrics_store.histogram("h", 1.01, buckets)
    assert ("h_bucket", (("le", "0.25"),)) in metrics_store.histogram("h", 0, buckets)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_it_loses_no_count_when_processes_add_at_once(backend, settings, request):
    """Four processes add 150 times each; every one of the 600 counts is there."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    use_store(settings, backend, url)
    env = {
        "DJANGO_SETTINGS_MODULE": "left4me.settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,
        "LEFT4ME_VAR_DIR": str(django_settings.VAR_DIR),
        "PATH": "/usr/bin:/bin",
    }
    code = ADDER.format(rounds=150)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR)
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    stored = metrics_store.read()
    assert (
        stored[metrics_store.series(metrics_store.ALERTS_SENT, event="down", result="sent")] == 600
    )
    assert stored[metrics_store.series(metrics_store.POLL_FAILURES, kind="error")] == 600
    assert stored[metrics_store.series(metrics_store.POLL_FAILURES, kind="unreachable")] == 600
    bucket = metrics_store.series("left4me_poll_tick_seconds_bucket", le="0.5")
    assert stored[bucket] == 600
    assert stored[metrics_store.series("left4me_poll_tick_seconds_sum")] == pytest.approx(180)
    use_store(settings, backend, url)


def test_it_drops_counts_and_warns_once_while_redis_is_down(settings, caplog, redis_url):
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    with caplog.at_level(logging.WARNING, logger="left4me.metrics_store"):
        metrics_store.record_poll(seconds=1, failures=["error"])  # raises nothing
        metrics_store.record_alert_sent("down", "sent")
    assert len(caplog.records) == 1
    assert "metrics store failed (ConnectionError)" in caplog.text
    assert "hunter2" not in caplog.text
    assert "127.0.0.1" not in caplog.text
    use_store(settings, "redis", redis_url)
    metrics_store.record_alert_sent("down", "sent")  # works again: the next outage warns again
    assert metrics_store.read() == {
        metrics_store.series(metrics_store.ALERTS_SENT, event="down", result="sent"): 1
    }
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    with caplog.at_level(logging.WARNING, logger="left4me.metrics_store"):
        metrics_store.record_alert_sent("down", "sent")
    assert len(caplog.records) == 2
    use_store(settings, "redis", redis_url)


@pytest.mark.django_db
def test_it_never_spoils_the_callers_transaction_when_the_table_fails(
    settings, caplog, make_server
):
    """Alerts may count inside their own transaction: a failed write must not abort it."""
    use_store(settings, "database")
    make_server(name="kept")
    table = MetricCounter._meta.db_table
    with connection.cursor() as cursor:  # inside the test's transaction, rolled back after it
        cursor.execute(f"ALTER TABLE {table} RENAME TO gone_{table}")
    with caplog.at_level(logging.WARNING, logger="left4me.metrics_store"):
        metrics_store.record_alert_sent("down", "sent")
    assert "metrics store failed" in caplog.text
    assert list(Server.objects.values_list("name", flat=True)) == ["kept"]
    assert metrics_store.read() == {}  # unreadable: left out, with a warning
    assert "metrics store not readable" in caplog.text


@pytest.mark.django_db
def test_it_skips_stored_fields_it_does_not_know(settings, redis_url):
    use_store(settings, "redis", redis_url)
    client = redis.Redis.from_url(redis_url)
    client.hset(metrics_store.REDIS_KEY, mapping={"not json": 3, '["x", 1]': 4, "[]": 5})
    metrics_store.record_steam_call("ok")
    assert metrics_store.read() == {
        metrics_store.series(metrics_store.STEAM_API_CALLS, result="ok"): 1
    }
    use_store(settings, "redis", redis_url)
